// RFC 1813 §3.3.1 GETATTR: resolve the handle, answer its fattr3.
import { NFS3 } from '../../xdr/nfs3/procs';
import type { GetattrArgs, GetattrRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { fattr } from './attrs';
import type { Nfs3Export } from './export';

export function onGetattr(x: Nfs3Export): ProcEntry<GetattrArgs, GetattrRes> {
  return {
    codec: NFS3.GETATTR,
    subject: (a) => ({ fh: a.object }),
    async run(ctx, a) {
      const obj = await x.resolve(ctx, a.object);
      return { status: 0, objAttributes: fattr(obj.stats) };
    },
    fail: (status) => ({ status }) as GetattrRes,
  };
}
