// RFC 1813 §3.3.4 ACCESS, as nfsd_access (fs/nfsd/vfs.c): each right asked for is granted when nfsd_permission
// allows the access its table maps it to (regular files, directories, anything else). A refusal (ACCES, PERM,
// ROFS) only leaves the bit out.
import { ACCESS3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { AccessArgs, AccessRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { fattr, isDir, isReg } from './attrs';
import type { Nfs3Export } from './export';
import { MAY, inodeOf, nfsdPermission } from './permission';

type AccessMap = ReadonlyArray<readonly [right: number, how: number]>;

/** nfs3_regaccess */
const REG: AccessMap = [
  [ACCESS3.READ, MAY.READ],
  [ACCESS3.EXECUTE, MAY.EXEC],
  [ACCESS3.MODIFY, MAY.WRITE | MAY.TRUNC],
  [ACCESS3.EXTEND, MAY.WRITE],
];
/** nfs3_diraccess */
const DIR: AccessMap = [
  [ACCESS3.READ, MAY.READ],
  [ACCESS3.LOOKUP, MAY.EXEC],
  [ACCESS3.MODIFY, MAY.EXEC | MAY.WRITE | MAY.TRUNC],
  [ACCESS3.EXTEND, MAY.EXEC | MAY.WRITE],
  [ACCESS3.DELETE, MAY.REMOVE],
];
/** nfs3_anyaccess (NFSD_MAY_LOCAL_ACCESS only skips the read-only check, which is not modelled) */
const ANY: AccessMap = [
  [ACCESS3.READ, MAY.READ],
  [ACCESS3.EXECUTE, MAY.EXEC],
  [ACCESS3.MODIFY, MAY.WRITE],
  [ACCESS3.EXTEND, MAY.WRITE],
];

export function onAccess(x: Nfs3Export): ProcEntry<AccessArgs, AccessRes> {
  return {
    codec: NFS3.ACCESS,
    subject: (a) => ({ fh: a.object }),
    async run(ctx, a) {
      const obj = await x.resolve(ctx, a.object);
      const who = x.who(ctx);
      const ino = inodeOf(obj.stats);
      const map = isReg(obj.stats) ? REG : isDir(obj.stats) ? DIR : ANY;
      let access = 0;
      for (const [right, how] of map) if (a.access & right && nfsdPermission(who, ino, how) === 0) access |= right;
      return { status: 0, objAttributes: fattr(obj.stats), access };
    },
    fail: (status) => ({ status }) as AccessRes,
  };
}
