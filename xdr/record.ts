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

export interface RecordDecoderOptions {
  /** Largest record accepted (sum of fragments); checked from each fragment header before buffering. */
  maxRecordSize?: number;
}

export class RecordDecoder {
  readonly maxRecordSize: number;
  private pending: Buffer[] = []; // unconsumed chunk tails
  private pendingBytes = 0;
  private fragments: Buffer[] = []; // completed fragments of the current record
  private recordBytes = 0;
  private fragLen = -1; // current fragment length, -1 while reading a header
  private lastFrag = false;
  /** Bytes consumed so far (stream offset), for error reports. */
  offset = 0;

  constructor(opts: RecordDecoderOptions = {}) {
    this.maxRecordSize = opts.maxRecordSize ?? DEFAULT_MAX_RECORD;
  }

  /** Bytes buffered towards an incomplete record. */
  get buffered(): number {
    return this.pendingBytes + this.recordBytes;
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
        if (this.recordBytes + len > this.maxRecordSize) {
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
      if (frag.length) {
        this.fragments.push(frag);
        this.recordBytes += frag.length;
      }
      if (this.lastFrag) {
        const rec = this.fragments.length === 1 ? this.fragments[0] : Buffer.concat(this.fragments, this.recordBytes);
        this.fragments = [];
        this.recordBytes = 0;
        onRecord(rec);
      }
    }
  }

  /** Removes n bytes from the pending chunks: a view when they lie in one chunk, else a new Buffer. */
  private take(n: number): Buffer {
    this.pendingBytes -= n;
    this.offset += n;
    const first = this.pending[0];
    if (n === 0) return Buffer.alloc(0);
    if (first.length >= n) {
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
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
