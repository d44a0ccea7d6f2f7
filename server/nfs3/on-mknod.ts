// RFC 1813 §3.3.11 MKNOD: device, socket and FIFO nodes. Node.js has no mknod(2), so every valid type answers
// NFS3ERR_NOTSUPP; regular files, directories and links are NFS3ERR_BADTYPE (they have their own procedures).
import { NfsStatusError } from '../../core/errors';
import { FTYPE3, NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { MknodArgs, MknodRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import type { Nfs3Export } from './export';
import { createFail, createIn } from './dir-op';

export function onMknod(x: Nfs3Export): ProcEntry<MknodArgs, MknodRes> {
  return {
    codec: NFS3.MKNOD,
    run: (ctx, a) =>
      createIn(x, ctx, a.where, async () => {
        const t = a.what.type;
        const badType = t === FTYPE3.NF3REG || t === FTYPE3.NF3DIR || t === FTYPE3.NF3LNK;
        throw new NfsStatusError(badType ? NFSSTAT3.NFS3ERR_BADTYPE : NFSSTAT3.NFS3ERR_NOTSUPP, 'mknod is not supported');
      }),
    fail: createFail,
  };
}
