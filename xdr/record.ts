// RPC record marking over TCP (RFC 5531 §11), sans-IO: push chunks in, get whole records out.
//
// Ownership: a record that lies entirely inside one pushed chunk is handed out as a subarray of that chunk
// (no copy) — the pusher must not modify a chunk after pushing it (net.Socket 'data' chunks are fresh Buffers).
// A record spanning chunks is assembled into a new Buffer that belongs to the receiver.
import { XdrError } from '../core/errors';

/** RFC 5531 §11: the top bit of the 4-byte header marks the last fragment; the low 31 bits are its length. */
export const LAST_FRAGMENT = 0x80000000;
export const MAX_FRAGMENT_LENGTH = 0x7fffffff;
export const DEFAULT_MAX_RECORD = 4 * 1024 * 1024 + 64 * 1024;

/** What a FragmentAssembler draws its memory from: false from reserve() refuses the bytes. */
export interface HoldBudget {
  reserve(n: number): boolean;
  release(n: number): void;
}

/** Fragments at least this long are kept by reference; shorter ones are copied into blocks. */
const KEEP_FRAGMENT = 16 * 1024;
const BLOCK_MIN = 4 * 1024;
const BLOCK_MAX = 64 * 1024;

/**
 * The fragments of a record that is not complete yet. Linux reads every fragment of a record into the request's
 * pages one after another (svc_tcp_recvfrom -> svc_tcp_read_msg, sk_datalen accumulating), so what it holds is
 * the record's byte count whatever the fragmentation. Here short fragments are copied into blocks of 4 to 64 KiB
 * (each block is filled before the next one is allocated) and long ones (a Buffer of their own already) are kept
 * by reference: the memory held is the record's bytes plus at most one partly filled block, and one segment
 * object per long fragment or block. Keeping one view per fragment instead cost about 110 bytes of heap per
 * 1-byte fragment (issue 15: a stream of `00 00 00 01 xx` headers exhausted the heap).
 *
 * Everything held is drawn from `budget` when one is given; a refusal throws XdrError RM_PENDING_BUDGET (the
 * caller closes the connection). Ownership: a fragment passed to add() by reference belongs to the assembler
 * until take() hands it out inside a record or passes it to `drop` (after copying it into a record, or on
 * dispose()).
 */
export class FragmentAssembler {
  private segments: Buffer[] = [];
  private block: Buffer | null = null;
  private blockStart = 0; // first byte of the block not yet in `segments`
  private blockUsed = 0;
  /** record bytes received so far */
  bytes = 0;
  /** bytes of memory held for them (blocks allocated plus fragments kept), all drawn from the budget */
  held = 0;

  constructor(
    private readonly budget?: HoldBudget,
    /** receives each fragment kept by reference once the assembler lets go of it */
    private readonly drop?: (b: Buffer) => void,
  ) {}

  get empty(): boolean {
    return this.bytes === 0;
  }

  private hold(n: number): void {
    if (this.budget && !this.budget.reserve(n)) {
      throw new XdrError('RM_PENDING_BUDGET', `no budget left to hold ${n} more bytes of a partial record (${this.bytes} received)`, { held: this.held, recordBytes: this.bytes });
    }
    this.held += n;
  }

  /** Adds a fragment; `own`: the caller gives it away (it is kept by reference when long), else it is copied. */
  add(frag: Buffer, own: boolean): void {
    if (frag.length === 0) return;
    if (own && frag.length >= KEEP_FRAGMENT) {
      try {
        this.hold(frag.length);
      } catch (e) {
        this.drop?.(frag);
        throw e;
      }
      this.closeSegment();
      this.segments.push(frag);
      this.bytes += frag.length;
      return;
    }
    this.copy(frag, 0, frag.length);
    if (own && this.drop) this.drop(frag);
  }

  /** Copies src[start, end) in (no view of src is made or kept: the caller may reuse src at once). */
  copy(src: Buffer, start: number, end: number): void {
    let o = start;
    while (o < end) {
      if (!this.block || this.blockUsed === this.block.length) {
        this.closeSegment();
        const size = Math.min(BLOCK_MAX, Math.max(BLOCK_MIN, this.bytes));
        this.hold(size);
        this.block = Buffer.allocUnsafeSlow(size);
        this.blockStart = this.blockUsed = 0;
      }
      const k = Math.min(end - o, this.block.length - this.blockUsed);
      // Buffer#copy costs ~100 ns of argument checks: a byte loop is cheaper for the tiny fragments of a flood.
      if (k <= 32) for (let i = 0; i < k; i++) this.block[this.blockUsed + i] = src[o + i];
      else src.copy(this.block, this.blockUsed, o, o + k);
      this.blockUsed += k;
      this.bytes += k;
      o += k;
    }
  }

  private closeSegment(): void {
    if (this.block && this.blockUsed > this.blockStart) this.segments.push(this.block.subarray(this.blockStart, this.blockUsed));
    this.blockStart = this.blockUsed;
  }

  /** The whole record (the receiver owns it); the assembler is empty again. */
  take(): Buffer {
    this.closeSegment();
    const segs = this.segments;
    const rec = segs.length === 1 ? segs[0] : Buffer.concat(segs, this.bytes);
    if (segs.length > 1 && this.drop) for (const s of segs) this.drop(s);
    this.reset();
    return rec;
  }

  /** Lets go of everything held (the connection closed). */
  dispose(): void {
    if (this.drop) for (const s of this.segments) this.drop(s);
    this.reset();
  }

  private reset(): void {
    this.budget?.release(this.held);
    this.segments = [];
    this.block = null;
    this.blockStart = this.blockUsed = 0;
    this.bytes = 0;
    this.held = 0;
  }
}

export interface RecordDecoderOptions {
  /** Largest record accepted (sum of fragments); checked from each fragment header before buffering. */
  maxRecordSize?: number;
}

export class RecordDecoder {
  readonly maxRecordSize: number;
  private pending: Buffer[] = []; // unconsumed chunk tails
  private pendingBytes = 0;
  private readonly partial = new FragmentAssembler(); // completed fragments of the current record
  private fragLen = -1; // current fragment length, -1 while reading a header
  private lastFrag = false;
  /** Bytes consumed so far (stream offset), for error reports. */
  offset = 0;

  constructor(opts: RecordDecoderOptions = {}) {
    this.maxRecordSize = opts.maxRecordSize ?? DEFAULT_MAX_RECORD;
  }

  /** Bytes buffered towards an incomplete record. */
  get buffered(): number {
    return this.pendingBytes + this.partial.bytes;
  }

  /** True when no partial record is buffered (a clean boundary). */
  get idle(): boolean {
    return this.buffered === 0 && this.fragLen < 0;
  }

  /**
   * Feeds a chunk; calls onRecord for each complete record. Throws XdrError RM_OVERSIZE when a fragment header
   * announces more than maxRecordSize in total; after a throw the decoder is unusable (close the connection).
   */
  push(chunk: Buffer, onRecord: (record: Buffer) => void): void {
    if (chunk.length === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      if (this.fragLen < 0) {
        if (this.pendingBytes < 4) return;
        const h = this.take(4);
        const word = h.readUInt32BE(0);
        this.lastFrag = (word & LAST_FRAGMENT) !== 0;
        const len = word & MAX_FRAGMENT_LENGTH;
        if (this.partial.bytes + len > this.maxRecordSize) {
          throw new XdrError('RM_OVERSIZE', `record fragment of ${len} bytes makes the record exceed ${this.maxRecordSize}`, {
            offset: this.offset - 4,
            fragmentLength: len,
            max: this.maxRecordSize,
          });
        }
        this.fragLen = len;
      }
      if (this.pendingBytes < this.fragLen) return;
      const frag = this.take(this.fragLen);
      this.fragLen = -1;
      if (this.lastFrag && this.partial.empty) {
        onRecord(frag);
        continue;
      }
      // A view of a pushed chunk is copied (kept, it would pin the chunk and cost a view per fragment); a
      // fragment take() assembled from several chunks is ours to keep.
      this.partial.add(frag, this.tookCopy);
      if (this.lastFrag) onRecord(this.partial.take());
    }
  }

  /** Whether the last take() returned a new Buffer (true) or a view of a pushed chunk. */
  private tookCopy = false;

  /** Removes n bytes from the pending chunks: a view when they lie in one chunk, else a new Buffer. */
  private take(n: number): Buffer {
    this.pendingBytes -= n;
    this.offset += n;
    const first = this.pending[0];
    this.tookCopy = false;
    if (n === 0) return Buffer.alloc(0);
    if (first.length >= n) {
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    this.tookCopy = true;
    let o = 0;
    while (o < n) {
      const c = this.pending[0];
      const k = Math.min(c.length, n - o);
      c.copy(out, o, 0, k);
      o += k;
      if (k === c.length) this.pending.shift();
      else this.pending[0] = c.subarray(k);
    }
    return out;
  }
}

/**
 * Frames a message (a gather list) as one record of one or more fragments of at most maxFragment bytes.
 * Returns a new gather list: header Buffers interleaved with views of the input parts (no payload copy).
 */
export function encodeRecord(parts: readonly Buffer[], maxFragment = MAX_FRAGMENT_LENGTH): Buffer[] {
  if (!(maxFragment >= 1 && maxFragment <= MAX_FRAGMENT_LENGTH)) throw new XdrError('XDR_RANGE', `bad fragment size ${maxFragment}`);
  let total = 0;
  for (const p of parts) total += p.length;
  if (total <= maxFragment) {
    const h = Buffer.allocUnsafe(4);
    h.writeUInt32BE((LAST_FRAGMENT | total) >>> 0, 0);
    return [h, ...parts];
  }
  const out: Buffer[] = [];
  let left = total;
  let i = 0;
  let off = 0; // offset inside parts[i]
  while (left > 0) {
    const n = Math.min(maxFragment, left);
    left -= n;
    const h = Buffer.allocUnsafe(4);
    h.writeUInt32BE(((left === 0 ? LAST_FRAGMENT : 0) | n) >>> 0, 0);
    out.push(h);
    let need = n;
    while (need > 0) {
      const p = parts[i];
      const k = Math.min(p.length - off, need);
      if (k > 0) out.push(off === 0 && k === p.length ? p : p.subarray(off, off + k));
      need -= k;
      off += k;
      if (off === p.length) {
        i++;
        off = 0;
      }
    }
  }
  return out;
}

/** Total byte length of a gather list. */
export function gatherLength(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}
