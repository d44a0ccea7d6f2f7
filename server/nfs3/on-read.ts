// RFC 1813 §3.3.6 READ: count capped at rtmax (the export's maxPayload, as nfsd3_proc_read caps it at svc_max_payload). The data goes out by reference from a pooled buffer, lent to this
// reply until the socket has sent it, placed at the page phase of the file position so that the kernel copies
// page to page (core/buffer-pool.ts: measured 0.55 against 0.20 ms per MiB from tmpfs). eof is a short read (no fstat on the hot path): a read ending exactly at
// the end of the file says eof=FALSE and the next one returns 0 bytes with eof=TRUE, as RFC 1813 allows.
// Where the read runs: nfsd reads in the thread that decoded the call (nfsd3_proc_read -> nfsd_read ->
// nfsd_splice_read or nfsd_readv), nfs-ganesha too (nfs3_read -> FSAL_VFS vfs_read2 -> preadv in its worker
// thread). Here a file on tmpfs or ramfs (FdSlot.inMemory) is read on the event loop: the read is then a copy out
// of page-cache memory that cannot wait for a device, at most rtmax bytes, the same bounded work as the copy into
// the socket the loop already does for this reply. It saves the thread pool's round trip (a futex wake-up out, an
// eventfd and an epoll wake-up back, the data copied on one core and sent from another): issue 20, server CPU per
// MiB of nfs-cp READs 0.87x, 12 paired rounds. Every other file system is read on the
// thread pool, where a read that waits for its device stalls no other connection. (A tmpfs page swapped out
// would be read in on the loop: swap is the one device such a read can wait for.)
import { NFS3 } from '../../xdr/nfs3/procs';
import type { ReadArgs, ReadRes } from '../../xdr/nfs3/types';
import type { ProcEntry } from '../rpc/program';
import { pread, preadNow } from '../fs-at';
import type { Nfs3Export } from './export';
import { RTMAX, fileOffset } from './limits';
import { BufferPool } from '../../core/buffer-pool';

export function onRead(x: Nfs3Export): ProcEntry<ReadArgs, ReadRes> {
  const pool = new BufferPool({ granule: 64 * 1024, maxIdleBytes: 16 * (RTMAX + 64 * 1024) });
  return {
    codec: NFS3.READ,
    subject: (a) => ({ fh: a.file }),
    async run(ctx, a) {
      const pos = fileOffset(a.offset);
      const want = Math.min(a.count, x.maxPayload);
      const buf = pool.take(want, pos % 4096);
      let lent = false;
      try {
        const { value } = await x.withFile(ctx, a.file, 'read', async (fd, inMemory) => {
          let got = 0;
          while (got < want) {
            const n = inMemory ? preadNow(fd, buf, got, want - got, pos + got) : await pread(fd, buf, got, want - got, pos + got);
            if (n === 0) break;
            got += n;
          }
          return { status: 0 as const, count: got, eof: got < want, data: buf.subarray(0, got) };
        });
        ctx.afterSend.push(() => pool.release(buf));
        lent = true;
        return value;
      } finally {
        if (!lent) pool.release(buf);
      }
    },
    fail: (status) => ({ status }) as ReadRes,
  };
}
