// RFC 1813 §3.3.2 SETATTR: with a guard, the object's ctime must equal guard.obj_ctime (else NFS3ERR_NOT_SYNC).
import { NfsStatusError } from '../../core/errors';
import { NFSSTAT3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { SetattrArgs, SetattrRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { Nfs3Export, nfsError, wccAttr } from './context';

export function onSetattr(x: Nfs3Export): ProcEntry<SetattrArgs, SetattrRes> {
  return {
    codec: NFS3.SETATTR,
    async run(ctx, a) {
      const obj = await x.resolve(a.object);
      ctx.note.path = obj.rel;
      if (a.guard) {
        const c = wccAttr(obj.stats).ctime;
        if (c.seconds !== a.guard.seconds || c.nseconds !== a.guard.nseconds) {
          return { status: NFSSTAT3.NFS3ERR_NOT_SYNC, objWcc: await x.wcc(obj.abs, obj.stats) };
        }
      }
      try {
        // Root squash: a squashed caller is not root and may not give files away (chown(2) needs CAP_CHOWN).
        if (ctx.squashed && (a.newAttributes.uid !== undefined || a.newAttributes.gid !== undefined)) throw new NfsStatusError(NFSSTAT3.NFS3ERR_PERM, 'root squash: chown refused');
        await x.applySattr(obj.abs, obj.stats, a.newAttributes);
      } catch (e) {
        return { status: nfsError(e).status, objWcc: await x.wcc(obj.abs, obj.stats) } as SetattrRes;
      }
      return { status: 0, objWcc: await x.wcc(obj.abs, obj.stats) };
    },
    fail: (status) => ({ status, objWcc: {} }) as SetattrRes,
  };
}
