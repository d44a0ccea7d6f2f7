// RFC 1813 §3.3.2 SETATTR, as nfsd3_proc_setattr -> nfsd_setattr: who may change what (permission.ts), a guard
// that must equal the object's ctime (else NFS3ERR_NOT_SYNC), every change made through the handle's verified
// descriptor (setattr.ts).
import { NFS3 } from '../../xdr/nfs3/procs';
import type { SetattrArgs, SetattrRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { nfsError } from './errno';
import type { Nfs3Export } from './export';
import { checkTimes, setattrAs } from './setattr';

export function onSetattr(x: Nfs3Export): ProcEntry<SetattrArgs, SetattrRes> {
  return {
    codec: NFS3.SETATTR,
    subject: (a) => ({ fh: a.object }),
    async run(ctx, a) {
      checkTimes(a.newAttributes);
      const obj = await x.resolve(ctx, a.object);
      try {
        await setattrAs(x.who(ctx), obj, a.newAttributes, a.guard);
      } catch (e) {
        return { status: nfsError(e).status, objWcc: await x.wcc(obj) } as SetattrRes;
      }
      return { status: 0, objWcc: await x.wcc(obj) };
    },
    fail: (status) => ({ status, objWcc: {} }) as SetattrRes,
  };
}
