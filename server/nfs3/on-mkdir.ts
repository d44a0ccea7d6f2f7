// RFC 1813 §3.3.9 MKDIR, as nfsd_create_locked (fs/nfsd/vfs.c) does it: mkdir through the parent's descriptor
// with mode 0, then the caller's ownership, the mode it asked for (umask 0, as nfsd; vfs_mkdir keeps the
// permission and sticky bits, a set-group-ID parent adds S_ISGID) and the other attributes, set through a
// descriptor of the new directory once it is known to be the one just made (dir-op.ts holdCreated).
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { MkdirArgs, MkdirRes } from '../../xdr/nfs3/types';
import { O_DIRECTORY, atPath, fdPath, fstatBig } from '../fs-at';
import type { ProcEntry } from '../rpc/program';
import { createFail, createIn, createSetattr, giveToCaller, holdCreated, serverUid } from './dir-op';
import type { Nfs3Export } from './export';
import { MAY, S_ISGID, inodeOf, newMode } from './permission';

export function onMkdir(x: Nfs3Export): ProcEntry<MkdirArgs, MkdirRes> {
  return {
    codec: NFS3.MKDIR,
    subject: (a) => ({ fh: a.where.dir, name: a.where.name }),
    run: (ctx, a) =>
      createIn(x, ctx, a.where, MAY.CREATE, a.attributes, async (dir, name, rel, who) => {
        const obj = await x.serially(async () => {
          await fs.promises.mkdir(atPath(dir.fd, name), 0);
          // Ours: a directory of the server's uid, still empty, mode 0 (a setgid parent adds S_ISGID).
          return holdCreated(x, ctx, dir, name, rel, O_DIRECTORY, (st) => st.isDirectory() && st.uid === serverUid() && st.nlink === 2n && (Number(st.mode) & ~S_ISGID & 0o7777) === 0);
        });
        await giveToCaller(who, dir, obj);
        const mode = newMode(who, inodeOf(dir.stats), a.attributes.mode ?? 0, true);
        if (mode !== (Number(obj.stats.mode) & 0o7777)) {
          await fs.promises.chmod(fdPath(obj.fd), mode);
          obj.stats = await fstatBig(obj.fd);
        }
        await createSetattr(who, obj, { ...a.attributes, size: undefined }); // MKDIR ignores a size (nfsd3_proc_mkdir)
        return { obj, created: true };
      }),
    fail: createFail,
  };
}
