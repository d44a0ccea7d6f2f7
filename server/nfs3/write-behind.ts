// Write-behind for UNSTABLE WRITEs. RFC 1813 §3.3.7: with stable_how UNSTABLE "the server is free to commit any
// part of the data and the metadata to stable storage, including all or none, before returning a reply", so the
// reply may go out once the data is held in memory; the kernel's page cache does the same one level down. The
// reply then costs one receive, not receive + pwrite, which is what a client with one WRITE outstanding (libnfs
// nfs-cp) waits for.
//
// What keeps this invisible to clients:
// - Order: writes reach the file in arrival order (contiguous ones to the same file together, one pwritev per
//   batch). Every other NFS procedure first waits for the writes queued
//   before it arrived (barrier()), so a READ, GETATTR, COMMIT, REMOVE ... sees every WRITE already answered.
//   A FILE_SYNC/DATA_SYNC WRITE waits too, so an older deferred write cannot land on top of it.
// - Memory: at most `limitBytes` are held; a WRITE beyond that waits for the queue and executes in line.
// - Errors: a deferred write that fails has already been answered NFS3_OK. As Linux nfsd does for writeback
//   errors, the server then changes its write verifier (RFC 1813 §3.3.7/§3.3.21: the client resends everything
//   not yet committed when COMMIT returns a different verifier), and the next COMMIT of that file reports the
//   error.
// Ownership: a queued write reads the caller's record until it settles; the caller holds the record till then.
import fs from 'node:fs';

/**
 * Resolves in the event loop's check phase, after the reply that was encoded in this turn has been written to
 * the socket. Starting the pwrite earlier wakes a threadpool thread that, on a busy machine, the scheduler runs
 * on the event loop's own core ahead of it: the reply then waited for the whole 1 MiB copy (measured: median
 * dispatch-to-reply 0.25 ms, most of it that copy).
 */
const afterReply = () => new Promise<void>((resolve) => setImmediate(resolve));

/** One deferred WRITE: `data` goes to `fd` at `pos`; `failed` records an error before the queue moves on. */
export interface DeferredWrite {
  fd: number;
  data: Buffer;
  pos: number;
  /** the file's pages are memory (tmpfs, ramfs: FdSlot.inMemory): its batches are written on the event loop */
  inMemory?: boolean;
  failed(e: Error): void;
}

/**
 * A batch is one pwritev: queued writes to the same descriptor, each starting where the previous one ended. A
 * client streaming a file sends exactly that, and the queue is deepest when the writes cannot keep up; one
 * system call (one thread-pool round trip) for many writes is then what lets them catch up. Measured with 8
 * 1 MiB WRITEs in flight: the queue sat at its 64 MiB limit, a write at a time.
 */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
const MAX_BATCH_WRITES = 1024; // IOV_MAX on Linux
/**
 * A batch to a file in memory (tmpfs, ramfs) is written on the event loop: no thread-pool round trip (a futex
 * wake-up out, an eventfd and an epoll wake-up back, the payload read on another core): issue 20, server CPU per
 * MiB of nfs-cp WRITEs 0.85x, 10 paired rounds. The copy into page-cache memory cannot wait
 * for a device, and such a batch is at most 1 MiB, so other connections wait at most one 1 MiB copy per turn,
 * as for a READ (on-read.ts). nfsd and nfs-ganesha write in the thread that decoded the call
 * (nfsd_vfs_write, FSAL_VFS vfs_write2); any other file system keeps the thread pool here, where a write that
 * waits for its device (or balance_dirty_pages) stalls no connection.
 */
const MAX_BATCH_BYTES_IN_MEMORY = 1024 * 1024;

const pwritev = (fd: number, bufs: Buffer[], pos: number) =>
  new Promise<number>((resolve, reject) => fs.writev(fd, bufs, pos, (e, n) => (e ? reject(e) : resolve(n))));

/**
 * Writes `bufs` at `pos` completely (pwritev may write less than asked): on the thread pool, or with `now` on the
 * calling thread (only for files whose pages are memory, never waiting for a device; see the batch limit above).
 */
export async function pwritevAll(fd: number, bufs: Buffer[], pos: number, now = false): Promise<void> {
  let total = 0;
  for (const b of bufs) total += b.length;
  for (let done = 0; done < total; ) {
    const part = done ? rest(bufs, done) : bufs;
    const n = now ? fs.writevSync(fd, part, pos + done) : await pwritev(fd, part, pos + done);
    if (n <= 0) throw new Error(`pwritev wrote ${n} of ${total - done} bytes`);
    done += n;
  }
}

/** The buffers after the first `skip` bytes. */
function rest(bufs: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (skip >= b.length) skip -= b.length;
    else {
      out.push(skip ? b.subarray(skip) : b);
      skip = 0;
    }
  }
  return out;
}

interface Queued extends DeferredWrite {
  settle(e?: Error): void;
}

export class WriteBehind {
  private readonly queue: Queued[] = [];
  private running = false;
  /** settles with the write queued last (writes settle in queue order) */
  private tail: Promise<void> = Promise.resolve();
  /** bytes and writes queued and not yet done */
  pendingBytes = 0;
  pendingWrites = 0;
  /** deferred writes done, and failed, and the pwritev calls that wrote them (counters for stats) */
  completed = 0;
  failed = 0;
  batches = 0;

  constructor(readonly limitBytes: number) {}

  /** True when a write of `n` bytes may be deferred now (write-behind on, room left). */
  accepts(n: number): boolean {
    return this.limitBytes > 0 && this.pendingBytes + n <= this.limitBytes;
  }

  /** Queues `w` behind every write queued before; the promise settles once it is in the file (or failed). */
  enqueue(w: DeferredWrite): Promise<void> {
    this.pendingBytes += w.data.length;
    this.pendingWrites++;
    const done = new Promise<void>((resolve, reject) => this.queue.push({ ...w, settle: (e) => (e ? reject(e) : resolve()) }));
    this.tail = done.catch(() => undefined);
    if (!this.running) void this.drain();
    return done;
  }

  /** Writes the queue out in order, a batch of contiguous writes per pwritev, until it is empty. */
  private async drain(): Promise<void> {
    this.running = true;
    while (this.queue.length) {
      await afterReply();
      const batch = [this.queue.shift()!];
      let bytes = batch[0].data.length;
      const maxBytes = batch[0].inMemory ? MAX_BATCH_BYTES_IN_MEMORY : MAX_BATCH_BYTES;
      for (let next = this.queue[0]; next; next = this.queue[0]) {
        const last = batch[batch.length - 1];
        if (next.fd !== last.fd || next.pos !== last.pos + last.data.length || bytes + next.data.length > maxBytes || batch.length >= MAX_BATCH_WRITES) break;
        batch.push(this.queue.shift()!);
        bytes += next.data.length;
      }
      let err: Error | undefined;
      this.batches++;
      try {
        await pwritevAll(batch[0].fd, batch.map((w) => w.data), batch[0].pos, batch[0].inMemory);
      } catch (e) {
        // Which of the batch's writes landed is unknown: all count as failed (their clients resend them).
        err = e as Error;
      }
      for (const w of batch) {
        if (err) w.failed(err);
        this.pendingBytes -= w.data.length;
        this.pendingWrites--;
        if (err) this.failed++;
        else this.completed++;
        w.settle(err);
      }
    }
    this.running = false;
  }

  /** Settles when every write queued so far has finished (later ones are not waited for); undefined if none. */
  barrier(): Promise<void> | undefined {
    return this.pendingWrites > 0 ? this.tail : undefined;
  }
}
