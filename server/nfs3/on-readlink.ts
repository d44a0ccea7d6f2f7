// RFC 1813 §3.3.5 READLINK: the link text as stored; the server never resolves it.
import fs from 'node:fs';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { ReadlinkArgs, ReadlinkRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { Nfs3Export, fattr, isLnk, nfsError } from './context';

export function onReadlink(x: Nfs3Export): ProcEntry<ReadlinkArgs, ReadlinkRes> {
  return {
    codec: NFS3.READLINK,
    async run(ctx, a) {
      const obj = await x.resolve(a.symlink);
      ctx.note.path = obj.rel;
      const symlinkAttributes = fattr(obj.stats);
      if (!isLnk(obj.stats)) return { status: NFSSTAT3.NFS3ERR_INVAL, symlinkAttributes };
      try {
        return { status: 0, symlinkAttributes, data: await fs.promises.readlink(obj.abs, 'utf8') };
      } catch (e) {
        return { status: nfsError(e).status, symlinkAttributes } as ReadlinkRes;
      }
    },
    fail: (status) => ({ status }) as ReadlinkRes,
  };
}
