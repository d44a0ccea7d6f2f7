// RFC 1813 §3.3.2 SETATTR: with a guard, the object's ctime must equal guard.obj_ctime (else NFS3ERR_NOT_SYNC).
// Every change is made through the handle's verified descriptor (setattr.ts).
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { SetattrArgs, SetattrRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { wccAttr } from './attrs';
import { fail, nfsError } from './errno';
import type { Nfs3Export } from './export';
import { applySattr } from './setattr';

export function onSetattr(x: Nfs3Export): ProcEntry<SetattrArgs, SetattrRes> {
  return {
    codec: NFS3.SETATTR,
    async run(ctx, a) {
      const obj = await x.resolve(ctx, a.object);
      ctx.note.path = obj.rel;
      if (a.guard) {
        const c = wccAttr(obj.stats).ctime;
        if (c.seconds !== a.guard.seconds || c.nseconds !== a.guard.nseconds) {
          return { status: NFSSTAT3.NFS3ERR_NOT_SYNC, objWcc: await x.wcc(obj) };
        }
      }
      try {
        // Root squash: a squashed caller is not root and may not give files away (chown(2) needs CAP_CHOWN).
        if (ctx.squashed && (a.newAttributes.uid !== undefined || a.newAttributes.gid !== undefined)) fail(NFSSTAT3.NFS3ERR_PERM, 'root squash: chown refused');
        await applySattr(obj, a.newAttributes);
      } catch (e) {
        return { status: nfsError(e).status, objWcc: await x.wcc(obj) } as SetattrRes;
      }
      return { status: 0, objWcc: await x.wcc(obj) };
    },
    fail: (status) => ({ status, objWcc: {} }) as SetattrRes,
  };
}
