// RFC 1813 §3.3.20 PATHCONF: POSIX limits of the export (names are enforced by checkName).
import { NFS3 } from '../../xdr/nfs3/procs';
import type { PathconfArgs, PathconfRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { fattr } from './attrs';
import type { Nfs3Export } from './export';
import { NAME_MAX } from './limits';

export function onPathconf(x: Nfs3Export): ProcEntry<PathconfArgs, PathconfRes> {
  return {
    codec: NFS3.PATHCONF,
    subject: (a) => ({ fh: a.object }),
    async run(ctx, a) {
      const obj = await x.resolve(ctx, a.object);
      return { status: 0, objAttributes: fattr(obj.stats), linkmax: 65000, nameMax: NAME_MAX, noTrunc: true, chownRestricted: true, caseInsensitive: false, casePreserving: true };
    },
    fail: (status) => ({ status }) as PathconfRes,
  };
}
