// RFC 1813 §3.3.12 REMOVE: unlink a non-directory (a directory is NFS3ERR_ISDIR... via unlink's EISDIR).
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { RemoveArgs, RemoveRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { Nfs3Export, checkName, lstatOrUndefined, nfsError } from './context';

/** REMOVE and RMDIR differ only in the system call. */
export function removeEntry(x: Nfs3Export, name: 'REMOVE' | 'RMDIR', unlink: (abs: string) => Promise<void>): ProcEntry<RemoveArgs, RemoveRes> {
  return {
    codec: NFS3[name],
    async run(ctx, a) {
      const dir = await x.resolveDir(a.object.dir);
      ctx.note.path = dir.rel;
      try {
        checkName(a.object.name, 'remove');
        const { abs } = x.child(dir, a.object.name);
        const st = await lstatOrUndefined(abs);
        await unlink(abs);
        if (st) {
          x.dropFd(st.ino);
          if (st.nlink <= 1n) x.handles.forget(st.ino);
        }
        return { status: 0, dirWcc: await x.wcc(dir.abs, dir.stats) };
      } catch (e) {
        return { status: nfsError(e).status, dirWcc: await x.wcc(dir.abs, dir.stats) } as RemoveRes;
      }
    },
    fail: (status) => ({ status, dirWcc: {} }) as RemoveRes,
  };
}

export function onRemove(x: Nfs3Export): ProcEntry<RemoveArgs, RemoveRes> {
  return removeEntry(x, 'REMOVE', (abs) => fs.promises.unlink(abs));
}
