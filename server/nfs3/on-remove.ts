// RFC 1813 §3.3.12 REMOVE: unlink a non-directory (a directory is NFS3ERR_ISDIR, via unlink's EISDIR), by name
// through the directory's descriptor. As nfsd_unlink: "." or ".." is NFS3ERR_ACCES before anything else (its
// isdotent check, RFC 1813 §3.3.12-13 leave the status open), then write and search permission on the directory
// (ACCES), then may_delete's sticky-directory rule (PERM).
import fs from 'node:fs';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { RemoveArgs, RemoveRes } from '../../xdr/nfs3/types';
import { atPath, lstatAt } from '../fs-at';
import type { ProcEntry } from '../rpc/program';
import { fail, nfsError } from './errno';
import type { Nfs3Export } from './export';
import { checkName } from './limits';
import { MAY, inodeOf, mayDelete, nfsdPermission } from './permission';

/** REMOVE and RMDIR differ only in the system call. */
export function removeEntry(x: Nfs3Export, name: 'REMOVE' | 'RMDIR', unlink: (path: string) => Promise<void>): ProcEntry<RemoveArgs, RemoveRes> {
  return {
    codec: NFS3[name],
    subject: (a) => ({ fh: a.object.dir, name: a.object.name }),
    async run(ctx, a) {
      const dir = await x.resolveDir(ctx, a.object.dir);
      try {
        checkName(a.object.name, 'remove');
        const who = x.who(ctx);
        const dirIno = inodeOf(dir.stats);
        const denied = nfsdPermission(who, dirIno, MAY.REMOVE);
        if (denied) fail(denied, `${dir.rel}: no write permission for uid ${who.uid}`);
        const st = await lstatAt(dir.fd, a.object.name);
        const sticky = st ? mayDelete(who, dirIno, inodeOf(st)) : 0;
        if (sticky) fail(sticky, `${a.object.name}: sticky directory, not the owner`);
        await unlink(atPath(dir.fd, a.object.name));
        if (st) {
          x.dropFd(st.ino);
          if (st.nlink <= 1n) x.handles.forget(st.ino);
        }
        return { status: 0, dirWcc: await x.wcc(dir) };
      } catch (e) {
        return { status: nfsError(e).status, dirWcc: await x.wcc(dir) } as RemoveRes;
      }
    },
    fail: (status) => ({ status, dirWcc: {} }) as RemoveRes,
  };
}

export function onRemove(x: Nfs3Export): ProcEntry<RemoveArgs, RemoveRes> {
  return removeEntry(x, 'REMOVE', (p) => fs.promises.unlink(p));
}
