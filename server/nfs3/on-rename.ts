// RFC 1813 §3.3.14 RENAME: atomic rename(2) by name through both directories' descriptors; handles follow the
// moved object.
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { RenameArgs, RenameRes } from '../../xdr/nfs3/types';
import { atPath, lstatAt } from '../fs-at';
import type { ProcEntry } from '../rpc/program';
import { nfsError } from './errno';
import type { Nfs3Export } from './export';
import { checkName } from './limits';

export function onRename(x: Nfs3Export): ProcEntry<RenameArgs, RenameRes> {
  return {
    codec: NFS3.RENAME,
    async run(ctx, a) {
      const from = await x.resolveDir(ctx, a.from.dir);
      const to = await x.resolveDir(ctx, a.to.dir);
      ctx.note.path = from.rel;
      const wccs = async () => ({ fromDirWcc: await x.wcc(from), toDirWcc: await x.wcc(to) });
      try {
        checkName(a.from.name, 'remove');
        checkName(a.to.name, 'remove');
        const victim = await lstatAt(to.fd, a.to.name);
        await fs.promises.rename(atPath(from.fd, a.from.name), atPath(to.fd, a.to.name));
        if (victim) {
          x.dropFd(victim.ino);
          if (victim.nlink <= 1n) x.handles.forget(victim.ino);
        }
        x.handles.renamed(x.child(from, a.from.name), x.child(to, a.to.name));
        return { status: 0, ...(await wccs()) };
      } catch (e) {
        return { status: nfsError(e).status, ...(await wccs()) } as RenameRes;
      }
    },
    fail: (status) => ({ status, fromDirWcc: {}, toDirWcc: {} }) as RenameRes,
  };
}
