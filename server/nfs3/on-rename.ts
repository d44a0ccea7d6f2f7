// RFC 1813 §3.3.14 RENAME: atomic rename(2) by name through both directories' descriptors; handles follow the
// moved object. Permission as nfsd_rename and vfs_rename: remove rights in the source directory and create
// rights in the target (ACCES); may_delete of the source and of a target being replaced (sticky directories:
// PERM); a directory moving to another parent needs write permission on itself (its ".." changes). "." or ".." as
// either name is NFS3ERR_PERM once both directories' permissions passed (nfsd_rename's isdotent check).
import fs from 'node:fs';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { RenameArgs, RenameRes } from '../../xdr/nfs3/types';
import { atPath, lstatAt } from '../fs-at';
import type { ProcEntry } from '../rpc/program';
import type { Resolved } from '../handles';
import { fail, nfsError } from './errno';
import type { Identity } from './identity';
import { MAY, inodeOf, inodePermission, mayCreate, mayDelete, nfsdPermission } from './permission';
import type { Nfs3Export } from './export';
import { checkName, isDotName } from './limits';

export function onRename(x: Nfs3Export): ProcEntry<RenameArgs, RenameRes> {
  return {
    codec: NFS3.RENAME,
    subject: (a) => ({ fh: a.from.dir, name: a.from.name }),
    async run(ctx, a) {
      const from = await x.resolveDir(ctx, a.from.dir);
      const to = await x.resolveDir(ctx, a.to.dir);
      const wccs = async () => ({ fromDirWcc: await x.wcc(from), toDirWcc: await x.wcc(to) });
      try {
        checkName(a.from.name, 'rename');
        checkName(a.to.name, 'rename');
        const who = x.who(ctx);
        const dirs = nfsdPermission(who, inodeOf(from.stats), MAY.REMOVE) || nfsdPermission(who, inodeOf(to.stats), MAY.CREATE);
        if (dirs) fail(dirs, `rename not permitted for uid ${who.uid}`);
        if (isDotName(a.from.name) || isDotName(a.to.name)) fail(NFSSTAT3.NFS3ERR_PERM, 'cannot rename "." or ".."');
        const victim = await lstatAt(to.fd, a.to.name);
        checkRename(who, from, to, await lstatAt(from.fd, a.from.name), victim);
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

/** vfs_rename's checks on the entries, once nfsd_rename's on the directories passed. */
function checkRename(who: Identity, from: Resolved, to: Resolved, source: fs.BigIntStats | undefined, target: fs.BigIntStats | undefined): void {
  const fromIno = inodeOf(from.stats);
  const toIno = inodeOf(to.stats);
  const status =
    (source ? mayDelete(who, fromIno, inodeOf(source)) : 0) ||
    (target ? mayDelete(who, toIno, inodeOf(target)) : mayCreate(who, toIno)) ||
    (source?.isDirectory() && from.stats.ino !== to.stats.ino && !inodePermission(who, inodeOf(source), MAY.WRITE) ? NFSSTAT3.NFS3ERR_ACCES : 0);
  if (status) fail(status, `rename not permitted for uid ${who.uid}`);
}
