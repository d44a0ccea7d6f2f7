// RFC 1813 §3.3.10 SYMLINK: the target is stored as given, even if it points outside the export; the server
// never follows symlinks itself (every object is reached by a descriptor walk that refuses them, and acted on
// through its descriptor), so a link cannot take the server anywhere. Created through the directory's
// descriptor; its owner and times are then set on the link itself (dir-op.ts holdCreated). The target is checked
// first, as nfsd3_proc_symlink does before anything else: empty is NFS3ERR_INVAL, longer than NFS3_MAXPATHLEN
// (PATH_MAX) NFS3ERR_NAMETOOLONG, and one holding a NUL NFS3ERR_INVAL (svc_fill_symlink_pathname: -EINVAL). Over
// the wire a target longer than 4096 bytes never gets here: 6.1's decoder refuses it first, GARBAGE_ARGS
// (xdr/nfs3/structs.ts readSymlinkData).
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { SymlinkArgs, SymlinkRes } from '../../xdr/nfs3/types';
import { atPath } from '../fs-at';
import type { ProcEntry } from '../rpc/program';
import { createFail, createIn, createSetattr, giveToCaller, holdCreated, serverUid } from './dir-op';
import type { Nfs3Export } from './export';
import { MAY } from './permission';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';

/** NFS3_MAXPATHLEN (include/uapi/linux/nfs3.h: PATH_MAX) */
export const NFS3_MAXPATHLEN = 4096;

/**
 * nfsd3_proc_symlink's checks of the target, before the name or any permission, in its order: empty, then too
 * long, then a NUL (found only when svc_fill_symlink_pathname copies it). A status, or 0.
 */
export function symlinkTargetStatus(target: string): number {
  if (target.length === 0) return NFSSTAT3.NFS3ERR_INVAL;
  if (Buffer.byteLength(target) > NFS3_MAXPATHLEN) return NFSSTAT3.NFS3ERR_NAMETOOLONG;
  if (target.includes('\0')) return NFSSTAT3.NFS3ERR_INVAL;
  return 0;
}

export function onSymlink(x: Nfs3Export): ProcEntry<SymlinkArgs, SymlinkRes> {
  return {
    codec: NFS3.SYMLINK,
    subject: (a) => ({ fh: a.where.dir, name: a.where.name }),
    run: (ctx, a) => {
      const bad = symlinkTargetStatus(a.symlink.data);
      if (bad) return Promise.resolve(createFail(bad));
      return createIn(x, ctx, a.where, MAY.CREATE, a.symlink.attributes, async (dir, name, rel, who) => {
        const target = a.symlink.data;
        const obj = await x.serially(async () => {
          const t0 = BigInt(Date.now() - 1000) * 1_000_000n; // file times come from a coarse clock
          await fs.promises.symlink(target, atPath(dir.fd, name));
          return holdCreated(x, ctx, dir, name, rel, 0, (st) => st.isSymbolicLink() && st.uid === serverUid() && st.size === BigInt(Buffer.byteLength(target)) && (st.birthtimeNs === 0n || st.birthtimeNs >= t0));
        });
        await giveToCaller(who, dir, obj);
        await createSetattr(who, obj, a.symlink.attributes); // nfsd_symlink -> nfsd_create_setattr (a link's mode is 0777)
        return { obj, created: true };
      });
    },
    fail: createFail,
  };
}
