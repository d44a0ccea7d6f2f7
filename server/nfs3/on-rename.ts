// RFC 1813 §3.3.14 RENAME: atomic rename(2) within the export; handles follow the moved object.
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { RenameArgs, RenameRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { Nfs3Export, checkName, lstatOrUndefined, nfsError } from './context';

export function onRename(x: Nfs3Export): ProcEntry<RenameArgs, RenameRes> {
  return {
    codec: NFS3.RENAME,
    async run(ctx, a) {
      const from = await x.resolveDir(a.from.dir);
      const to = await x.resolveDir(a.to.dir);
      ctx.note.path = from.rel;
      const wccs = async () => ({ fromDirWcc: await x.wcc(from.abs, from.stats), toDirWcc: await x.wcc(to.abs, to.stats) });
      try {
        checkName(a.from.name, 'remove');
        checkName(a.to.name, 'remove');
        const src = x.child(from, a.from.name);
        const dst = x.child(to, a.to.name);
        const victim = await lstatOrUndefined(dst.abs);
        await fs.promises.rename(src.abs, dst.abs);
        if (victim) {
          x.dropFd(victim.ino);
          if (victim.nlink <= 1n) x.handles.forget(victim.ino);
        }
        x.handles.renamed(src.rel, dst.rel);
        return { status: 0, ...(await wccs()) };
      } catch (e) {
        return { status: nfsError(e).status, ...(await wccs()) } as RenameRes;
      }
    },
    fail: (status) => ({ status, fromDirWcc: {}, toDirWcc: {} }) as RenameRes,
  };
}
