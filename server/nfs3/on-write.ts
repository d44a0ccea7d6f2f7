// RFC 1813 §3.3.7 WRITE: the payload view from the record goes straight to pwrite (no copy). FILE_SYNC and
// DATA_SYNC are on stable storage before the reply (fsync / fdatasync). UNSTABLE may stay in memory until
// COMMIT: with write-behind on it is queued and answered at once (write-behind.ts says why that is safe), else
// written to the page cache before the reply. The verifier is the server instance's (changes on restart, or
// after a failed deferred write, so clients resend uncommitted data).
import { NFSSTAT3, STABLE_HOW } from '../../xdr/nfs3/constants';
import { NFS3 } from '../../xdr/nfs3/procs';
import type { WriteArgs, WriteRes } from '../../xdr/nfs3/types';
import { WithEffect, type CallContext, type ProcEntry } from '../rpc/program';
import { fdatasyncFd, fstatBig, fsyncFd } from '../fs-at';
import { fattr } from './attrs';
import type { Nfs3Export } from './export';
import { fileOffset } from './limits';
import { pwritevAll } from './write-behind';

/**
 * Queues the write and resolves once it is queued (the reply may go), with the effect's `done`: when the bytes are
 * in the file. A handle that does not resolve to a writable file rejects here, before anything is queued, and the
 * client gets that status.
 */
async function writeBehind(x: Nfs3Export, ctx: CallContext, a: WriteArgs, data: Buffer, pos: number): Promise<WithEffect<WriteRes>> {
  const release = ctx.retain(); // the queued job reads the record
  // Settles once the write is queued, or rejects with the handle's failure when it never was. (Not a
  // Promise.race of the two: the loser's settling would resolve the race's promise a second time, which V8 reports
  // to Node's promise-rejection hook, a call from C++ into JavaScript on every WRITE.)
  let queued = false;
  let settleQueued!: (e?: Error) => void;
  const isQueued = new Promise<void>((resolve, reject) => (settleQueued = (e) => (e ? reject(e) : resolve())));
  const done = x.withFile(ctx, a.file, 'write', (fd, inMemory) => {
    // A failure is recorded before the queue moves on: a COMMIT waiting behind it must see it.
    const job = x.writeBehind.enqueue({ fd, data, pos, inMemory, failed: (e) => x.deferredWriteFailed(a.file, e) });
    queued = true;
    settleQueued();
    return job; // withFile keeps the descriptor open until the write is done
  });
  const written = done.then(
    () => {
      release();
      return undefined;
    },
    (e: Error) => {
      release();
      if (!queued) settleQueued(e);
      return e;
    },
  );
  await isQueued;
  const res: WriteRes = { status: 0, fileWcc: {}, count: data.length, committed: STABLE_HOW.UNSTABLE, verf: x.writeVerifier };
  return new WithEffect(res, { write: { committed: STABLE_HOW.UNSTABLE, done: written } });
}

export function onWrite(x: Nfs3Export): ProcEntry<WriteArgs, WriteRes> {
  return {
    codec: NFS3.WRITE,
    subject: (a) => ({ fh: a.file }),
    async run(ctx, a) {
      // RFC 1813 §3.3.7: count is the number of bytes of data; the opaque must carry at least that many. A count
      // above wtmax is cut to it, a short write the reply's count reports (nfs3svc_decode_writeargs).
      if (a.count > a.data.length) return { status: NFSSTAT3.NFS3ERR_INVAL, fileWcc: {} };
      const pos = fileOffset(a.offset);
      const data = a.data.subarray(0, Math.min(a.count, x.maxPayload));
      if (a.stable === STABLE_HOW.UNSTABLE && x.writeBehind.accepts(data.length)) return writeBehind(x, ctx, a, data, pos);
      await x.writeBehind.barrier(); // nothing older may land on top of this one
      const { value } = await x.withFile(ctx, a.file, 'write', async (fd) => {
        await pwritevAll(fd, [data], pos);
        if (a.stable === STABLE_HOW.FILE_SYNC) await fsyncFd(fd);
        else if (a.stable === STABLE_HOW.DATA_SYNC) await fdatasyncFd(fd);
        // UNSTABLE is the bulk path (libnfs, Linux): skip the post-op fstat there; wcc_data is optional
        // (RFC 1813 §2.6 post_op_attr) and the client asks with GETATTR when it needs to.
        return a.stable === STABLE_HOW.UNSTABLE ? undefined : fstatBig(fd);
      });
      const res: WriteRes = { status: 0, fileWcc: { after: value && fattr(value) }, count: data.length, committed: a.stable, verf: x.writeVerifier };
      return new WithEffect(res, { write: { committed: a.stable } });
    },
    fail: (status) => ({ status, fileWcc: {} }) as WriteRes,
  };
}
