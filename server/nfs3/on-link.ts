// RFC 1813 §3.3.15 LINK: a hard link to a non-directory inside the export.
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { LinkArgs, LinkRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { Nfs3Export, checkName, nfsError } from './context';

export function onLink(x: Nfs3Export): ProcEntry<LinkArgs, LinkRes> {
  return {
    codec: NFS3.LINK,
    async run(ctx, a) {
      const file = await x.resolve(a.file);
      const dir = await x.resolveDir(a.link.dir);
      ctx.note.path = file.rel;
      try {
        checkName(a.link.name, 'create');
        await fs.promises.link(file.abs, x.child(dir, a.link.name).abs);
        return { status: 0, fileAttributes: await x.attrsOf(file.abs), linkDirWcc: await x.wcc(dir.abs, dir.stats) };
      } catch (e) {
        return { status: nfsError(e).status, fileAttributes: await x.attrsOf(file.abs), linkDirWcc: await x.wcc(dir.abs, dir.stats) } as LinkRes;
      }
    },
    fail: (status) => ({ status, linkDirWcc: {} }) as LinkRes,
  };
}
