// Write-behind for UNSTABLE WRITEs. RFC 1813 §3.3.7: with stable_how UNSTABLE "the server is free to commit any
// part of the data and the metadata to stable storage, including all or none, before returning a reply", so the
// reply may go out once the data is held in memory; the kernel's page cache does the same one level down. The
// reply then costs one receive, not receive + pwrite, which is what a client with one WRITE outstanding (libnfs
// nfs-cp) waits for.
//
// What keeps this invisible to clients:
// - Order: writes run one at a time in arrival order. Every other NFS procedure first waits for the writes queued
//   before it arrived (barrier()), so a READ, GETATTR, COMMIT, REMOVE ... sees every WRITE already answered.
//   A FILE_SYNC/DATA_SYNC WRITE waits too, so an older deferred write cannot land on top of it.
// - Memory: at most `limitBytes` are held; a WRITE beyond that waits for the queue and executes in line.
// - Errors: a deferred write that fails has already been answered NFS3_OK. As Linux nfsd does for writeback
//   errors, the server then changes its write verifier (RFC 1813 §3.3.7/§3.3.21: the client resends everything
//   not yet committed when COMMIT returns a different verifier), and the next COMMIT of that file reports the
//   error.
// Ownership: a queued job reads the caller's record until it settles; the caller holds the record till then.

/**
 * Resolves in the event loop's check phase, after the reply that was encoded in this turn has been written to
 * the socket. Starting the pwrite earlier wakes a threadpool thread that, on a busy machine, the scheduler runs
 * on the event loop's own core ahead of it: the reply then waited for the whole 1 MiB copy (measured: median
 * dispatch-to-reply 0.25 ms, most of it that copy).
 */
const afterReply = () => new Promise<void>((resolve) => setImmediate(resolve));

export class WriteBehind {
  private tail: Promise<void> = Promise.resolve();
  /** bytes and writes queued and not yet done */
  pendingBytes = 0;
  pendingWrites = 0;
  /** deferred writes done, and failed (counters for stats) */
  completed = 0;
  failed = 0;

  constructor(readonly limitBytes: number) {}

  /** True when a write of `n` bytes may be deferred now (write-behind on, room left). */
  accepts(n: number): boolean {
    return this.limitBytes > 0 && this.pendingBytes + n <= this.limitBytes;
  }

  /** Queues `job` behind every job queued before; the promise settles with it. */
  enqueue(n: number, job: () => Promise<void>): Promise<void> {
    this.pendingBytes += n;
    this.pendingWrites++;
    const run = this.tail.then(afterReply).then(job).finally(() => {
      this.pendingBytes -= n;
      this.pendingWrites--;
    });
    run.then(
      () => this.completed++,
      () => this.failed++,
    );
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Settles when every write queued so far has finished (later ones are not waited for); undefined if none. */
  barrier(): Promise<void> | undefined {
    return this.pendingWrites > 0 ? this.tail : undefined;
  }
}
