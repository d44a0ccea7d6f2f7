// RFC 1813 §3.3.5 READLINK: the link text as stored; the server never resolves it. Node has no readlinkat on
// a descriptor (readlink of /proc/self/fd/N gives the path of N, not the link's text), so the text is read by
// name in the link's directory, and counts only if that name still holds the handle's link afterwards.
import fs from 'node:fs';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { ReadlinkArgs, ReadlinkRes } from '../../xdr/nfs3/types';
import { atPath, lstatAt } from '../fs-at';
import type { ProcEntry } from '../rpc/program';
import { fattr, isLnk } from './attrs';
import { fail, nfsError } from './errno';
import type { Nfs3Export } from './export';

export function onReadlink(x: Nfs3Export): ProcEntry<ReadlinkArgs, ReadlinkRes> {
  return {
    codec: NFS3.READLINK,
    subject: (a) => ({ fh: a.symlink }),
    async run(ctx, a) {
      const obj = await x.resolve(ctx, a.symlink);
      const symlinkAttributes = fattr(obj.stats);
      if (!isLnk(obj.stats)) return { status: NFSSTAT3.NFS3ERR_INVAL, symlinkAttributes };
      try {
        const slash = obj.rel.lastIndexOf('/');
        const parentRel = slash < 0 ? '' : obj.rel.slice(0, slash);
        const name = obj.rel.slice(slash + 1);
        const parent = await x.handles.walk(parentRel);
        x.hold(ctx, parent);
        const data = await fs.promises.readlink(atPath(parent, name), 'utf8');
        const after = await lstatAt(parent, name);
        if (!after || after.ino !== obj.stats.ino || after.birthtimeNs !== obj.stats.birthtimeNs) fail(NFSSTAT3.NFS3ERR_STALE, `${obj.rel} was replaced while it was read`);
        return { status: 0, symlinkAttributes, data };
      } catch (e) {
        return { status: nfsError(e).status, symlinkAttributes } as ReadlinkRes;
      }
    },
    fail: (status) => ({ status }) as ReadlinkRes,
  };
}
