// The journal recorder: turns each call the dispatcher reports (the DRC's outcome, the status of the reply sent,
// what the call is about by its procedure's subject(), and the effect the procedure returned) into one journal
// row; nothing reaches it through the call context. A row for every call the DRC decided
// on (every cached procedure) and for every WRITE, cached or not. Rows keep arrival order: each waits for the
// payload hashes queued before it, and for its own write when that ran behind the reply; a deferred write that
// failed is journalled with the status its COMMIT will report.
import type { JournalRow } from '../core/journal-schema';
import { NFS_PROGRAM, NFSPROC3, NFSSTAT3 } from '../xdr/nfs3/constants';
import type { WriteArgs } from '../xdr/nfs3/types';
import type { DuplicateRequestCache } from './drc';
import type { FileHandles } from './handles';
import type { Journal } from './journal';
import type { Digest, PayloadHasher } from './journal-hasher';
import type { CallEvent } from './rpc/dispatcher';

export class JournalRecorder {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly journal: Journal,
    private readonly hasher: PayloadHasher,
    private readonly drc: DuplicateRequestCache,
    private readonly handles: FileHandles,
    /** the server instance's write verifier (hex): rows of a restarted server tell themselves apart */
    private readonly instance: string,
  ) {}

  record(ev: CallEvent): void {
    const { ctx, subject, effect } = ev;
    const { call } = ctx;
    if (call.prog !== NFS_PROGRAM) return;
    const isWrite = call.proc === NFSPROC3.WRITE;
    if (!isWrite && !this.drc.caches(call.prog, call.vers, call.proc)) return;
    const fh = subject?.fh;
    const row: JournalRow = {
      t_ms: Date.now(),
      instance: this.instance,
      conn: ctx.conn.id,
      client: `${ctx.conn.remoteAddress}:${ctx.conn.remotePort}`,
      xid: call.xid >>> 0,
      proc: ev.entry.codec.name,
      outcome: ev.outcome,
      status: ev.status ?? null,
      fh: fh ? fh.toString('hex') : null,
      // The path the handle resolved to (the handle table records it on every resolution).
      path: fh ? (this.handles.pathOf(fh) ?? null) : null,
      name: subject?.name ?? null,
      offset: null,
      count: null,
      stable: null,
      committed: ev.status === 0 ? (effect?.write?.committed ?? null) : null,
      data_hash: null,
      head_hex: null,
    };
    let digest: Promise<Digest> | Digest | undefined;
    if (isWrite) {
      // The call's own fields (every transmission carries them, whether or not it ran).
      const w = ev.args as WriteArgs;
      row.offset = Number(w.offset);
      row.count = w.count;
      row.stable = w.stable;
      // The payload is a view of the received record, which nobody writes to; the hasher holds the record until
      // it has read it (in place when it is a pooled SharedArrayBuffer, else by a copy).
      digest = this.hasher.digest(w.data.subarray(0, w.count), ctx.retain());
    }
    const done = effect?.write?.done;
    this.tail = Promise.all([this.tail, digest, done]).then(([, d, failed]) => {
      if (failed) row.status = (failed as { status?: number }).status ?? NFSSTAT3.NFS3ERR_IO;
      this.journal.add(d ? Object.assign(row, d) : row);
    });
  }

  /** Resolves once every row recorded so far is queued in the journal (hashes done, deferred writes settled). */
  async drained(): Promise<void> {
    let tail;
    do {
      tail = this.tail;
      await tail;
    } while (tail !== this.tail);
  }
}
