// RFC 1813 §3.3.21 COMMIT: everything written UNSTABLE to the file is made durable (fsync); the verifier lets
// the client notice a restart in between. The program waited for every deferred write queued before this call
// (write-behind.ts); one of them having failed is this COMMIT's status (the verifier changed too).
import { NFS3 } from '../../xdr/nfs3/procs';
import type { CommitArgs, CommitRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { fstatBig, fsyncFd } from '../fs-at';
import { fattr, wccAttr } from './attrs';
import type { Nfs3Export } from './export';

export function onCommit(x: Nfs3Export): ProcEntry<CommitArgs, CommitRes> {
  return {
    codec: NFS3.COMMIT,
    subject: (a) => ({ fh: a.file }),
    async run(ctx, a) {
      const failed = x.takeWriteError(a.file);
      if (failed !== undefined) return { status: failed, fileWcc: {} } as CommitRes;
      const { value } = await x.withFile(ctx, a.file, 'commit', async (fd) => {
        const before = await fstatBig(fd);
        await fsyncFd(fd);
        return { before: wccAttr(before), after: fattr(await fstatBig(fd)) };
      });
      return { status: 0, fileWcc: value, verf: x.writeVerifier };
    },
    fail: (status) => ({ status, fileWcc: {} }) as CommitRes,
  };
}
