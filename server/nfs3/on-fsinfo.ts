// RFC 1813 §3.3.19 FSINFO: transfer sizes (rtmax = wtmax = 1 MiB) and properties.
import { FSF3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { FsinfoArgs, FsinfoRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { fattr } from './attrs';
import type { Nfs3Export } from './export';
import { RTMAX, WTMAX } from './limits';

export function onFsinfo(x: Nfs3Export): ProcEntry<FsinfoArgs, FsinfoRes> {
  return {
    codec: NFS3.FSINFO,
    subject: (a) => ({ fh: a.fsroot }),
    async run(ctx, a) {
      const obj = await x.resolve(ctx, a.fsroot);
      return {
        status: 0,
        objAttributes: fattr(obj.stats),
        rtmax: RTMAX,
        rtpref: RTMAX,
        rtmult: 4096,
        wtmax: WTMAX,
        wtpref: WTMAX,
        wtmult: 4096,
        dtpref: 64 * 1024,
        maxfilesize: BigInt(Number.MAX_SAFE_INTEGER),
        timeDelta: { seconds: 0, nseconds: 1 },
        properties: FSF3.LINK | FSF3.SYMLINK | FSF3.HOMOGENEOUS | FSF3.CANSETTIME,
      };
    },
    fail: (status) => ({ status }) as FsinfoRes,
  };
}
