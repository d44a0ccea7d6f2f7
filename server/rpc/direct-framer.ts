// RFC 5531 §11 record marking for the server's receive path, with reads landing directly in the Buffer a large
// record will live in (no 64 KiB chunk per read, no reassembly copy: about twice as fast per 1 MiB WRITE as
// the chunk-by-chunk path on loopback). Sans-IO: the adapter asks nextBuffer() where to read, then reports how
// many bytes arrived with advance().
//
// Small fragments are read into a staging buffer and handed out as views of it; reads only append behind them
// and a full stage is replaced by a fresh one, so a record is never changed after delivery.
// A fragment of directMin bytes or more gets its own Buffer (allocUnsafeSlow: an ArrayBuffer holding only that
// record), filled straight from the socket. Records of several fragments are concatenated (a new Buffer).
//
// Full-size fragment Buffers come from a BufferPool when one is given (core/buffer-pool.ts: no GC, no page
// faults per record), placed at the page phase of their stream offset: the sender's socket pages hold the stream
// contiguously, so the kernel's copy then runs page to page (buffer-pool.ts says why that matters; measured on
// nfs-cp's 1 MiB WRITEs: 0.63x the event loop's CPU per MiB of landing each record at a slab's start). Ownership then passes to the record's receiver, who releases it to the pool once nobody
// reads it any more; a record that is not a pool slab (a small one from the stage, one assembled from several
// fragments) may be released too, as a no-op.
//
// Memory: a header alone must not pin memory. Full-size Buffers for fragments still being received are drawn from
// a server-wide ByteBudget; past it, a fragment's Buffer starts at GROW_START bytes and doubles as bytes arrive,
// so what a peer can make the server hold is bounded by what it actually sent (plus the budget). The completed
// fragments of a record still waiting for its last one are held by a FragmentAssembler (xdr/record.ts): their
// byte count plus at most one 64 KiB block, drawn from the same budget; when the budget cannot cover bytes that
// already arrived the connection is closed (RM_PENDING_BUDGET), so a flood of tiny fragments costs what it sent
// and no more than --max-pending-bytes across all connections.
import type { BufferPool } from '../../core/buffer-pool';
import { XdrError } from '../../core/errors';
import { DEFAULT_MAX_RECORD, FragmentAssembler, LAST_FRAGMENT, MAX_FRAGMENT_LENGTH } from '../../xdr/record';

/** Bytes announced by fragment headers and reserved for Buffers not yet filled, across all connections. */
export class ByteBudget {
  used = 0;
  constructor(readonly limit: number) {}
  reserve(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }
  release(n: number): void {
    this.used -= n;
  }
}

/** First size of a fragment Buffer that did not fit the budget; it doubles as bytes arrive. */
const GROW_START = 256 * 1024;

export interface DirectFramerOptions {
  maxRecordSize?: number;
  stageBytes?: number;
  directMin?: number;
  /** shared budget for full-size fragment Buffers (default: unlimited, the framer alone) */
  budget?: ByteBudget;
  /** where full-size fragment Buffers come from (default: fresh allocations) */
  pool?: BufferPool;
}

export class DirectFramer {
  readonly maxRecordSize: number;
  private readonly stageBytes: number;
  private readonly directMin: number;
  private stage: Buffer;
  private start = 0; // parse position in stage
  private end = 0; // end of bytes read into stage
  private shared = false; // a view of this stage was handed out: never write to it again
  private fragLen = -1; // current fragment length, -1 while reading a header
  private lastFrag = false;
  private body: Buffer | null = null; // direct mode: the fragment being filled
  private bodyLen = 0; // its announced length (body may be shorter while it grows)
  private reserved = 0; // bytes of the budget held for body
  private filled = 0;
  private readonly budget?: ByteBudget;
  private readonly pool?: BufferPool;
  private readonly partial: FragmentAssembler;
  // After a large fragment the next one is likely large too (a stream of WRITEs): read its 4-byte header alone,
  // so its body lands in its own Buffer from its first byte instead of arriving in the stage with up to 64 KiB
  // that then must be copied over (measured: 7% of the event loop's CPU on 1 MiB WRITEs). One more read()
  // per large record; a small fragment turns this off again.
  private headerFirst = false;
  /** bytes consumed from the stream, for error reports */
  offset = 0;
  /** fragments that completed no record (held in `partial`); the connection resets it when it yields */
  heldFragments = 0;
  /** fragments of the record being received that were copied out of the stage */
  private recordFragments = 0;

  constructor(o: DirectFramerOptions = {}) {
    this.maxRecordSize = o.maxRecordSize ?? DEFAULT_MAX_RECORD;
    this.stageBytes = o.stageBytes ?? 64 * 1024;
    this.directMin = Math.min(o.directMin ?? 16 * 1024, this.stageBytes - 8);
    this.stage = Buffer.allocUnsafeSlow(this.stageBytes);
    this.budget = o.budget;
    this.pool = o.pool;
    const pool = o.pool;
    this.partial = new FragmentAssembler(o.budget, pool && ((b) => pool.release(b)));
  }

  /** Returns this framer's budget reservation (the connection closed). */
  dispose(): void {
    this.budget?.release(this.reserved);
    this.reserved = 0;
    if (this.body) this.pool?.release(this.body);
    this.body = null;
    this.partial.dispose();
  }

  /** True when no partial record is held (a clean boundary between records). */
  get idle(): boolean {
    return this.fragLen < 0 && this.body === null && this.partial.empty && this.end === this.start;
  }

  /** Where the next read must put its bytes (the read may fill less than all of it). */
  nextBuffer(): Buffer {
    if (!this.body) {
      if (this.headerFirst && this.fragLen < 0 && this.end === this.start) return this.stage.subarray(this.end, this.end + 4);
      // A record of many tiny fragments costs CPU per byte that no other traffic does: read it 8 KiB at a time, so
      // the connection's share of an event-loop turn stays small (Connection yields every YIELD_FRAGMENTS too).
      return this.partial.empty || this.recordFragments < 64 ? this.stage.subarray(this.end) : this.stage.subarray(this.end, Math.min(this.stage.length, this.end + 8192));
    }
    if (this.filled === this.body.length) {
      // A Buffer outside the budget is full but the fragment is not: double it (bytes arrived, so it is earned).
      const bigger = Buffer.allocUnsafeSlow(Math.min(this.bodyLen, this.body.length * 2));
      this.body.copy(bigger, 0, 0, this.filled);
      this.body = bigger;
    }
    return this.body.subarray(this.filled);
  }

  /**
   * `n` bytes were read into the last nextBuffer(). Calls onRecord for each complete record (the receiver owns
   * it: nobody writes to it again). Throws XdrError RM_OVERSIZE when a header announces too much; the framer is
   * unusable afterwards (close the connection).
   */
  advance(n: number, onRecord: (record: Buffer) => void): void {
    this.offset += n;
    if (this.body) {
      this.filled += n;
      if (this.filled < this.bodyLen) return;
      const frag = this.body;
      this.body = null;
      this.budget?.release(this.reserved);
      this.reserved = 0;
      this.headerFirst = true;
      this.fragment(frag, onRecord);
      return;
    }
    this.end += n;
    for (;;) {
      if (this.fragLen < 0) {
        if (this.end - this.start < 4) break;
        const word = this.stage.readUInt32BE(this.start);
        this.start += 4;
        // RFC 5531 §11: top bit = last fragment, low 31 bits = fragment length.
        this.lastFrag = (word & LAST_FRAGMENT) !== 0;
        const len = word & MAX_FRAGMENT_LENGTH;
        if (this.partial.bytes + len > this.maxRecordSize) {
          throw new XdrError('RM_OVERSIZE', `record fragment of ${len} bytes makes the record exceed ${this.maxRecordSize}`, {
            offset: this.offset - (this.end - this.start) - 4,
            fragmentLength: len,
            max: this.maxRecordSize,
          });
        }
        this.fragLen = len;
      }
      const avail = this.end - this.start;
      if (avail >= this.fragLen) {
        const at = this.start;
        this.start += this.fragLen;
        this.headerFirst = false;
        if (this.lastFrag && this.partial.empty) {
          // A single-fragment record is handed out as a view of the stage (never written again).
          const rec = this.stage.subarray(at, this.start);
          this.fragLen = -1;
          if (rec.length) this.shared = true;
          onRecord(rec);
          continue;
        }
        // An earlier fragment, or the last of several, is copied out of the stage without making a view of it:
        // a flood of 1-byte fragments costs a few ns each, not an object each.
        this.partial.copy(this.stage, at, this.start);
        this.heldFragments++;
        this.recordFragments++;
        this.fragLen = -1;
        if (this.lastFrag) {
          this.recordFragments = 0;
          onRecord(this.partial.take());
        }
        continue;
      }
      if (this.fragLen >= this.directMin) {
        // The rest of this fragment goes straight into its own Buffer: full size when the budget allows.
        const full = !this.budget || this.budget.reserve(this.fragLen);
        this.reserved = full && this.budget ? this.fragLen : 0;
        this.bodyLen = this.fragLen;
        this.body = !full ? Buffer.allocUnsafeSlow(Math.min(this.fragLen, Math.max(GROW_START, avail))) : this.pool ? this.pool.take(this.fragLen, (this.offset - avail) % 4096) : Buffer.allocUnsafeSlow(this.fragLen);
        this.stage.copy(this.body, 0, this.start, this.end);
        this.filled = avail;
        this.start = this.end;
        this.fragLen = -1;
      }
      break;
    }
    this.makeRoom();
  }

  /** A fragment completed in direct mode (a Buffer of its own). */
  private fragment(frag: Buffer, onRecord: (record: Buffer) => void): void {
    if (this.lastFrag && this.partial.empty) {
      onRecord(frag);
      return;
    }
    this.partial.add(frag, true);
    if (this.lastFrag) {
      this.recordFragments = 0;
      onRecord(this.partial.take());
    }
  }

  /**
   * Keeps room in the stage for the next read. Reads only ever append after `end`, so views already handed out
   * (before `start`) are never written; when the stage is full, the unread tail moves to the front of a fresh
   * stage if any view of the old one is out, else of the same one.
   */
  private makeRoom(): void {
    if (this.stage.length - this.end >= 4096) return;
    const tail = this.end - this.start;
    const next = this.shared ? Buffer.allocUnsafeSlow(this.stageBytes) : this.stage;
    this.stage.copy(next, 0, this.start, this.end);
    this.stage = next;
    this.start = 0;
    this.end = tail;
    this.shared = false;
  }
}
