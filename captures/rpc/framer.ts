// RPC record marking (RFC 5531 §11) over a captured TCP stream that may have holes. A variant of
// xdr/record.ts RecordDecoder that also tracks which frames each record came from and survives gaps:
// a hole inside a fragment body keeps the framing and damages the record (its message offsets are listed); a
// hole that swallows the record's end ends it there (damaged, truncated) and resynchronises on the next
// plausible record header; a hole inside a record mark or the first header bytes loses that record.
//
// Memory: a damaged record is kept "thin": its first HEADER_KEEP bytes (the RPC header and the NFS arguments in
// front of a WRITE payload) and the byte count, nothing of the body, since a damaged payload is never hashed or
// compared. Every byte a framer holds is declared to a RetainBudget shared by all streams; over the budget, the
// largest holder is made thin as well (`capped`), so memory stays bounded however many streams hold unfinished
// records.
//
// Ownership: a record's last fragment lying in one pushed chunk is handed out as a view of it (an earlier fragment
// is copied: nothing of a pushed chunk stays referenced once data() returns); a fragment spanning chunks is
// copied, as its bytes arrive, into a Buffer allocated once its length is known (checked against maxRecord and
// charged to the budget), so no capture chunk stays referenced while a large record trickles in; the few bytes
// of an unfinished record mark left at the end of a push are copied too. Records handed to onRecord belong to
// the receiver; the framer never touches them again, unless a `pool` was given: then a record assembled in a
// pool slab is lent for the duration of onRecord and its slab released when onRecord returns (issue 20: fresh
// 1 MiB Buffers cost a page fault per 4 KiB and drove V8's full collections, a fifth of inspect's CPU).
import { ChunkQueue, type Taken } from '../bytes';
import type { BufferPool } from '../../core/buffer-pool';
import { StreamSink } from '../tcp/direction';
import { RetainBudget, type Retainer } from '../budget';
import { LAST_FRAGMENT, MAX_FRAGMENT_LENGTH } from '../../xdr/record';

/** Bytes a plausibility check may look at: the 4-byte mark plus the call header up to the procedure number. */
export const LOOKAHEAD = 28;
/**
 * Bytes of a damaged record kept: the largest NFSv3 WRITE header is 24 (call) + 8 + 400 (cred) + 8 + 400 (verf)
 * + 68 (fh) + 20 (offset, count, stable, data length) = 928 bytes (RFC 5531 §8.2 caps auth bodies at 400).
 */
export const HEADER_KEEP = 1024;

export interface FramedRecord extends Taken {
  /** some bytes of the record were not captured, or were not kept (capped) */
  damaged: boolean;
  /** stream offset of the record mark */
  streamOffset: number;
  /** message length (bytes after the record marks); for a truncated record, up to where its framing was lost */
  length: number;
  /** message offsets [from, to) that the capture lacks (zeros in `data` where data reaches them) */
  holes: Array<[number, number]>;
  /** the record's end was lost with its framing: `length` is a lower bound */
  truncated: boolean;
  /** the inspector dropped this record's body to stay within its memory budget */
  capped: boolean;
}

export type FramerEvent =
  | { type: 'resync'; skipped: number; frame: number; streamOffset: number }
  | { type: 'lost'; bytes: number; frame: number; streamOffset: number }
  | { type: 'off'; frame: number };

export interface FramerOptions {
  maxRecord: number;
  /** Is there a plausible first-fragment record mark + RPC header at buf[off..off+LOOKAHEAD)? */
  plausible(buf: Buffer, off: number): boolean;
  /** start aligned on a record mark (the stream began with a SYN) */
  aligned: boolean;
  /** give up (stop looking at the stream) when nothing plausible was found in this many bytes; Infinity = never */
  searchBudget: number;
  onRecord(r: FramedRecord): void;
  onEvent(e: FramerEvent): void;
  /** shared memory budget (a private unlimited one when absent) */
  budget?: RetainBudget;
  /**
   * Slabs for records spanning chunks. With a pool, onRecord must not keep `data` (nor a view of it) after it
   * returns: the slab is released then, and the next record is assembled in it.
   */
  pool?: BufferPool;
}

export class RpcFramer implements StreamSink, Retainer {
  private q = new ChunkQueue();
  private mode: 'sync' | 'resync' | 'off';
  /** length of the fragment being read, -1 while reading a record mark */
  private fragLen = -1;
  /** bytes of the current fragment consumed (copied, viewed or skipped) */
  private fragDone = 0;
  private lastFrag = false;
  private atRecordStart = true;
  /** fragment being filled (spanning chunks) */
  private fill: Buffer | null = null;
  private frags: Buffer[] = [];
  /** message bytes in completed fragments */
  private recBytes = 0;
  /** thin record: first HEADER_KEEP bytes only */
  private head: Buffer | null = null;
  private holes: Array<[number, number]> = [];
  private capped = false;
  private recOffset = 0;
  private recFrame = 0;
  private recTs = 0;
  private lastFrame = 0;
  private lastTs = 0;
  private pieces = 0;
  /** stream offset of the first queued byte */
  private offset = 0;
  private skippedSinceSync = 0;
  private everSynced = false;
  private readonly budget: RetainBudget;
  /** bytes declared to the budget */
  retained = 0;
  records = 0;

  constructor(private readonly o: FramerOptions) {
    this.mode = o.aligned ? 'sync' : 'resync';
    this.budget = o.budget ?? new RetainBudget(Infinity);
  }

  get active(): boolean {
    return this.mode !== 'off';
  }

  data(buf: Buffer, frame: number, ts: number): void {
    if (this.mode === 'off') return;
    this.q.push(buf, frame, ts);
    this.pump();
    this.settle();
  }

  gap(bytes: number, frame: number, ts: number): void {
    if (this.mode === 'off') return;
    this.pump();
    if (this.mode === 'sync' && this.fragLen >= 0) {
      // The hole starts inside the current fragment body (pump() leaves no queued bytes there).
      const inFrag = Math.min(bytes, this.fragLen - this.fragDone);
      this.thin();
      const at = this.recBytes + this.fragDone;
      this.holes.push([at, at + inFrag]);
      this.fragDone += inFrag;
      this.offset += inFrag;
      this.lastFrame = frame;
      this.lastTs = ts;
      bytes -= inFrag;
      if (this.fragDone === this.fragLen) this.endFragment();
      if (bytes === 0) return this.settle();
      // The hole goes on past the fragment: the next record mark (or this record's next fragment mark) is in it.
      if (this.fragLen < 0 && !this.atRecordStart) this.emit(true);
    } else if (this.mode === 'sync' && !this.atRecordStart) {
      // Between two fragments of a record: its next fragment mark is in the hole.
      if (this.q.length) this.o.onEvent({ type: 'lost', bytes: this.q.length, frame, streamOffset: this.offset });
      this.emit(true);
    } else if (this.mode === 'sync' && this.q.length > 0) {
      // Part of a record mark or of the header bytes a record needs to be recognised.
      this.o.onEvent({ type: 'lost', bytes: this.q.length, frame, streamOffset: this.offset });
    }
    this.offset += this.q.length + bytes;
    this.q.clear();
    this.resetRecord();
    this.mode = 'resync';
    this.skippedSinceSync = 0;
    this.settle();
  }

  /** End of stream: a record begun but not finished is reported, truncated (the capture or the connection ended in it). */
  end(frame: number, ts: number): void {
    if (this.mode === 'sync') {
      this.pump();
      if (!this.atRecordStart) {
        this.thin();
        this.lastFrame = Math.max(this.lastFrame, frame);
        this.lastTs = Math.max(this.lastTs, ts);
        this.emit(true);
      } else if (this.q.length > 0) this.o.onEvent({ type: 'lost', bytes: this.q.length, frame, streamOffset: this.offset });
    }
    this.q.clear();
    this.resetRecord();
    this.mode = 'off';
    this.settle();
  }

  /** Retainer: make the record in progress thin (over the shared budget). */
  shed(): void {
    if (this.fill || this.frags.length) {
      this.capped = true;
      this.thin();
    }
    this.settle();
  }

  /** Bytes declared to the budget; the few bytes of an unfinished mark stop referencing the capture chunk. */
  private settle(): void {
    if (this.q.length > 0 && this.q.length < LOOKAHEAD) this.q.compact();
    const n = (this.fill ? this.fill.length : 0) + this.fragsBytes() + this.q.length + (this.head ? HEADER_KEEP : 0);
    if (n !== this.retained) this.budget.set(this, n);
  }

  private fragsBytes(): number {
    let n = 0;
    for (const f of this.frags) n += f.length;
    return n;
  }

  /** Keeps only the first HEADER_KEEP message bytes of the record in progress from now on. */
  private thin(): void {
    if (this.head) return;
    const head = Buffer.alloc(HEADER_KEEP);
    let o = 0;
    for (const f of this.frags) {
      if (o >= HEADER_KEEP) break;
      o += f.copy(head, o, 0, Math.min(f.length, HEADER_KEEP - o));
    }
    if (this.fill && o < HEADER_KEEP) this.fill.copy(head, o, 0, Math.min(this.fragDone, HEADER_KEEP - o));
    this.head = head;
    this.dropParts();
  }

  /** Forgets the record's fragments, giving pool slabs back (views of capture chunks are not the pool's: a no-op). */
  private dropParts(): void {
    if (this.o.pool) {
      if (this.fill) this.o.pool.release(this.fill);
      for (const f of this.frags) this.o.pool.release(f);
    }
    this.frags = [];
    this.fill = null;
  }

  private resetRecord(): void {
    this.fragLen = -1;
    this.fragDone = 0;
    this.dropParts();
    this.recBytes = 0;
    this.pieces = 0;
    this.head = null;
    this.holes = [];
    this.capped = false;
    this.atRecordStart = true;
  }

  private skip(n: number): void {
    this.q.skip(n);
    this.offset += n;
    this.skippedSinceSync += n;
  }

  private desync(frame: number): void {
    if (!this.everSynced && this.o.searchBudget !== Infinity && this.o.aligned) {
      this.off(frame);
      return;
    }
    this.resetRecord();
    this.mode = 'resync';
    this.skippedSinceSync = 0;
  }

  private off(frame: number): void {
    this.mode = 'off';
    this.q.clear();
    this.resetRecord();
    this.settle();
    this.o.onEvent({ type: 'off', frame });
  }

  /** Skips bytes until a plausible record mark is at the front; false when more bytes are needed. */
  private scan(): boolean {
    while (this.q.length >= LOOKAHEAD) {
      if (!this.everSynced && this.skippedSinceSync > this.o.searchBudget) {
        this.off(this.q.frontFrame);
        return false;
      }
      const front = this.q.front!;
      if (front.length >= LOOKAHEAD) {
        const lim = front.length - LOOKAHEAD;
        for (let i = 0; i <= lim; i++) {
          if (this.o.plausible(front, i)) {
            this.skip(i);
            return true;
          }
        }
        this.skip(lim + 1);
      } else {
        if (this.o.plausible(this.q.peek(LOOKAHEAD), 0)) return true;
        this.skip(1);
      }
    }
    return false;
  }

  private pump(): void {
    for (;;) {
      if (this.mode === 'off') return;
      if (this.mode === 'resync') {
        const frame = this.q.frontFrame;
        if (!this.scan()) return;
        this.mode = 'sync';
        if (this.skippedSinceSync > 0 || this.everSynced) this.o.onEvent({ type: 'resync', skipped: this.skippedSinceSync, frame, streamOffset: this.offset });
        this.atRecordStart = true;
      }
      if (this.fragLen < 0) {
        const need = this.atRecordStart ? LOOKAHEAD : 4;
        if (this.q.length < need) return;
        const word = this.q.u32At(0);
        const len = word & MAX_FRAGMENT_LENGTH;
        // Checked before anything is allocated for the fragment.
        if (this.atRecordStart ? !this.o.plausible(this.q.peek(LOOKAHEAD), 0) : this.recBytes + len > this.o.maxRecord) {
          const frame = this.q.frontFrame;
          if (this.recBytes) this.o.onEvent({ type: 'lost', bytes: this.recBytes, frame, streamOffset: this.recOffset });
          this.desync(frame);
          continue;
        }
        if (this.atRecordStart) {
          this.recOffset = this.offset;
          this.recFrame = this.q.frontFrame;
          this.recTs = this.q.frontTs;
        }
        this.everSynced = true;
        // RFC 5531 §11: top bit = last fragment, low 31 bits = fragment length.
        this.lastFrag = (word & LAST_FRAGMENT) !== 0;
        this.fragLen = len;
        this.fragDone = 0;
        this.q.skip(4);
        this.offset += 4;
        this.atRecordStart = false;
        const front = this.q.front;
        if (!this.head && !(front && front.length >= len) && len > 0) {
          this.fill = this.o.pool ? this.o.pool.take(len) : Buffer.allocUnsafe(len);
          this.settle();
        }
      }
      const want = this.fragLen - this.fragDone;
      if (this.head) {
        // Thin: bytes up to HEADER_KEEP are kept, the rest is counted and dropped.
        const k = Math.min(this.q.length, want);
        const at = this.recBytes + this.fragDone;
        if (at < HEADER_KEEP) {
          const c = Math.min(k, HEADER_KEEP - at);
          this.note(this.q.copyOut(this.head, at, c));
          this.q.skip(k - c);
        } else if (k > 0) {
          this.lastFrame = this.q.frontFrame;
          this.lastTs = this.q.frontTs;
          this.pieces++;
          this.q.skip(k);
        }
        this.fragDone += k;
        this.offset += k;
        if (this.fragDone < this.fragLen) return;
      } else if (this.fill) {
        const k = Math.min(this.q.length, want);
        if (k > 0) this.note(this.q.copyOut(this.fill, this.fragDone, k));
        this.fragDone += k;
        this.offset += k;
        if (this.fragDone < this.fragLen) return;
        this.frags.push(this.fill);
        this.fill = null;
      } else {
        // The whole fragment is in the front chunk: a view, no copy.
        this.lastFrame = this.q.frontFrame;
        this.lastTs = this.q.frontTs;
        this.pieces++;
        const view = this.fragLen ? this.q.take(this.fragLen).data : Buffer.alloc(0);
        // A fragment before the record's last waits for the next pushes: a copy, since no capture chunk may stay
        // referenced after a push (captures/source.ts reuses read chunks).
        this.frags.push(this.lastFrag ? view : Buffer.from(view));
        this.fragDone = this.fragLen;
        this.offset += this.fragLen;
      }
      this.endFragment();
    }
  }

  private note(t: { lastFrame: number; lastTs: number; pieces: number }): void {
    this.pieces += t.pieces;
    this.lastFrame = t.lastFrame;
    this.lastTs = t.lastTs;
  }

  private endFragment(): void {
    this.recBytes += this.fragLen;
    this.fragLen = -1;
    this.fragDone = 0;
    if (this.lastFrag) this.emit(false);
  }

  private emit(truncated: boolean): void {
    const length = this.recBytes + (this.fragLen >= 0 ? this.fragDone : 0);
    let data: Buffer;
    if (this.head) data = this.head.subarray(0, Math.min(HEADER_KEEP, length));
    else data = this.frags.length === 1 ? this.frags[0] : Buffer.concat(this.frags, this.recBytes);
    // Lent to onRecord (see `pool`), given back when it returns.
    const lent = this.frags;
    this.frags = [];
    const rec: FramedRecord = {
      data,
      firstFrame: this.recFrame,
      lastFrame: this.lastFrame,
      firstTs: this.recTs,
      lastTs: this.lastTs,
      pieces: this.pieces,
      damaged: this.head !== null || truncated,
      streamOffset: this.recOffset,
      length,
      holes: this.holes,
      truncated,
      capped: this.capped,
    };
    this.resetRecord();
    this.records++;
    this.settle();
    this.o.onRecord(rec);
    if (this.o.pool) for (const f of lent) this.o.pool.release(f);
  }
}
