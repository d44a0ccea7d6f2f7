// RFC 1813 §3.3.15 LINK: a hard link to a non-directory inside the export. Node's link(2) cannot link a
// descriptor (that needs linkat with AT_EMPTY_PATH or AT_SYMLINK_FOLLOW), so the source is linked by its name
// in its directory, both directories held by descriptors: if another object took that name meanwhile, the new
// link names the wrong inode, and is taken back (NFS3ERR_STALE: the handle's object is no longer where it was).
import fs from 'node:fs';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { LinkArgs, LinkRes } from '../../xdr/nfs3/types';
import { atPath, lstatAt } from '../fs-at';
import type { ProcEntry } from '../rpc/program';
import { isDir } from './attrs';
import { fail, nfsError } from './errno';
import type { Nfs3Export } from './export';
import { checkName } from './limits';
import { MAY, inodeOf, nfsdPermission } from './permission';

export function onLink(x: Nfs3Export): ProcEntry<LinkArgs, LinkRes> {
  return {
    codec: NFS3.LINK,
    subject: (a) => ({ fh: a.file, name: a.link.name }),
    async run(ctx, a) {
      const file = await x.resolve(ctx, a.file);
      const dir = await x.resolveDir(ctx, a.link.dir);
      try {
        // nfsd_link: create rights in the directory (ACCES), then a directory source is NFS3ERR_ISDIR; the source
        // itself needs no permission (fh_verify NFSD_MAY_NOP; nfsd calls vfs_link, not the syscall's may_linkat).
        const who = x.who(ctx);
        const denied = nfsdPermission(who, inodeOf(dir.stats), MAY.CREATE);
        if (denied) fail(denied, `${dir.rel}: no create permission for uid ${who.uid}`);
        if (isDir(file.stats)) fail(NFSSTAT3.NFS3ERR_ISDIR, `${file.rel} is a directory`);
        checkName(a.link.name, 'create');
        const slash = file.rel.lastIndexOf('/');
        const from = await x.handles.walk(slash < 0 ? '' : file.rel.slice(0, slash));
        x.hold(ctx, from);
        const fromName = file.rel.slice(slash + 1);
        const to = atPath(dir.fd, a.link.name);
        await fs.promises.link(atPath(from, fromName), to);
        const made = await lstatAt(dir.fd, a.link.name);
        if (!made || made.ino !== file.stats.ino || made.birthtimeNs !== file.stats.birthtimeNs) {
          if (made) await fs.promises.unlink(to).catch(() => {});
          fail(NFSSTAT3.NFS3ERR_STALE, `${file.rel} was replaced while it was linked`);
        }
        return { status: 0, fileAttributes: await x.attrsOf(file), linkDirWcc: await x.wcc(dir) };
      } catch (e) {
        return { status: nfsError(e).status, fileAttributes: await x.attrsOf(file), linkDirWcc: await x.wcc(dir) } as LinkRes;
      }
    },
    fail: (status) => ({ status, linkDirWcc: {} }) as LinkRes,
  };
}
