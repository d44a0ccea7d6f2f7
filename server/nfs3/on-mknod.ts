// RFC 1813 §3.3.11 MKNOD: device, socket and FIFO nodes. As nfsd3_proc_mknod, a type that is not one of those is
// NFS3ERR_BADTYPE before anything else; then the directory must grant creation (NFSD_MAY_CREATE). Node.js has no
// mknod(2), so every valid type then answers NFS3ERR_NOTSUPP.
import { FTYPE3, NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { MknodArgs, MknodRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { createFail, createIn } from './dir-op';
import { fail } from './errno';
import type { Nfs3Export } from './export';
import { MAY } from './permission';

const NODE_TYPES: readonly number[] = [FTYPE3.NF3CHR, FTYPE3.NF3BLK, FTYPE3.NF3SOCK, FTYPE3.NF3FIFO];

export function onMknod(x: Nfs3Export): ProcEntry<MknodArgs, MknodRes> {
  return {
    codec: NFS3.MKNOD,
    subject: (a) => ({ fh: a.where.dir, name: a.where.name }),
    async run(ctx, a) {
      if (!NODE_TYPES.includes(a.what.type)) return createFail(NFSSTAT3.NFS3ERR_BADTYPE);
      return createIn(x, ctx, a.where, MAY.CREATE, undefined, () => fail(NFSSTAT3.NFS3ERR_NOTSUPP, 'mknod is not supported'));
    },
    fail: createFail,
  };
}
