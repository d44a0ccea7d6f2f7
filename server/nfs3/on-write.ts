// RFC 1813 §3.3.7 WRITE: the payload view from the record goes straight to pwrite (no copy). FILE_SYNC and
// DATA_SYNC are on stable storage before the reply (fsync / fdatasync); UNSTABLE stays in the page cache until
// COMMIT. The verifier is the server instance's (changes on restart so clients resend uncommitted data).
import { NFSSTAT3, STABLE_HOW } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { WriteArgs, WriteRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { Nfs3Export, WTMAX, fattr, fdatasyncFd, fileOffset, fstatBig, fsyncFd, pwrite } from './context';

export function onWrite(x: Nfs3Export): ProcEntry<WriteArgs, WriteRes> {
  return {
    codec: NFS3.WRITE,
    async run(ctx, a) {
      // RFC 1813 §3.3.7: count is the number of bytes of data; the opaque must carry at least that many.
      if (a.count > a.data.length || a.count > WTMAX) return { status: NFSSTAT3.NFS3ERR_INVAL, fileWcc: {} };
      const pos = fileOffset(a.offset);
      const data = a.data.subarray(0, a.count);
      const { rel, value } = await x.withFile(a.file, true, async (fd) => {
        let done = 0;
        while (done < data.length) done += await pwrite(fd, data, done, data.length - done, pos + done);
        if (a.stable === STABLE_HOW.FILE_SYNC) await fsyncFd(fd);
        else if (a.stable === STABLE_HOW.DATA_SYNC) await fdatasyncFd(fd);
        // UNSTABLE is the bulk path (libnfs, Linux): skip the post-op fstat there; wcc_data is optional
        // (RFC 1813 §2.6 post_op_attr) and the client asks with GETATTR when it needs to.
        return a.stable === STABLE_HOW.UNSTABLE ? undefined : fstatBig(fd);
      });
      ctx.note.path = rel;
      ctx.note.committed = a.stable;
      return { status: 0, fileWcc: { after: value && fattr(value) }, count: data.length, committed: a.stable, verf: x.writeVerifier };
    },
    fail: (status) => ({ status, fileWcc: {} }) as WriteRes,
  };
}
