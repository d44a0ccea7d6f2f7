// RFC 1813 §3.3.19 FSINFO: transfer sizes and properties. As nfsd3_proc_fsinfo, every size is the largest payload
// (svc_max_payload there, what --max-record-size allows here: limits.ts maxPayload): rtmax = rtpref = wtmax =
// wtpref = dtpref, so a client that believes them never sends a record the server closes the connection on.
import { FSF3 } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { FsinfoArgs, FsinfoRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { fattr } from './attrs';
import type { Nfs3Export } from './export';
import { PAGE } from './limits';

export function onFsinfo(x: Nfs3Export): ProcEntry<FsinfoArgs, FsinfoRes> {
  return {
    codec: NFS3.FSINFO,
    subject: (a) => ({ fh: a.fsroot }),
    async run(ctx, a) {
      const obj = await x.resolve(ctx, a.fsroot);
      return {
        status: 0,
        objAttributes: fattr(obj.stats),
        rtmax: x.maxPayload,
        rtpref: x.maxPayload,
        rtmult: PAGE,
        wtmax: x.maxPayload,
        wtpref: x.maxPayload,
        wtmult: PAGE,
        dtpref: x.maxPayload,
        maxfilesize: BigInt(Number.MAX_SAFE_INTEGER),
        timeDelta: { seconds: 0, nseconds: 1 },
        properties: FSF3.LINK | FSF3.SYMLINK | FSF3.HOMOGENEOUS | FSF3.CANSETTIME,
      };
    },
    fail: (status) => ({ status }) as FsinfoRes,
  };
}
