// RFC 1813 §3.3.9 MKDIR, as nfsd_create_locked (fs/nfsd/vfs.c) does it: mkdir through the parent's descriptor
// with mode 0, then the mode the client asked for (umask 0, as nfsd) and the other attributes, set through a
// descriptor of the new directory once it is known to be the one just made (dir-op.ts holdCreated).
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { MkdirArgs, MkdirRes } from '../../xdr/nfs3/types';
import { O_DIRECTORY, atPath } from '../fs-at';
import type { ProcEntry } from '../rpc/program';
import { createFail, createIn, holdCreated, serverUid } from './dir-op';
import type { Nfs3Export } from './export';
import { applySattr } from './setattr';

/** vfs_mkdir keeps the permission bits and the sticky bit of a requested mode (S_IRWXUGO | S_ISVTX). */
const MKDIR_MODE_BITS = 0o1777;
const S_ISGID = 0o2000;

export function onMkdir(x: Nfs3Export): ProcEntry<MkdirArgs, MkdirRes> {
  return {
    codec: NFS3.MKDIR,
    run: (ctx, a) =>
      createIn(x, ctx, a.where, async (dir, name, rel) => {
        const obj = await x.serially(async () => {
          await fs.promises.mkdir(atPath(dir.fd, name), 0);
          // Ours: a directory of the server's uid, still empty, mode 0 (a setgid parent adds S_ISGID).
          return holdCreated(x, ctx, dir, name, rel, O_DIRECTORY, (st) => st.isDirectory() && st.uid === serverUid() && st.nlink === 2n && (Number(st.mode) & 0o5777) === 0);
        });
        const { mode, size: _size, ...rest } = a.attributes; // MKDIR ignores a size (nfsd3_proc_mkdir)
        if (mode !== undefined) await applySattr(obj, { mode: (mode & MKDIR_MODE_BITS) | (Number(obj.stats.mode) & S_ISGID) });
        await applySattr(obj, rest);
        return { obj, created: true };
      }),
    fail: createFail,
  };
}
