// XDR encoder producing a gather list (RFC 4506): small fields are packed into header chunks, large opaque
// payloads are appended by reference and their zero padding goes into the next header chunk.
//
// Ownership: a Buffer passed to opaque()/opaqueFixed()/raw() at or above `refThreshold` bytes is NOT copied;
// the caller must keep it unchanged until every consumer of the gather list (e.g. a socket) is done with it.
// That is exactly the property the zero-copy retransmit policy studies. Copies happen only where a policy asks.
import { XdrError } from '../core/errors';

export interface WriterOptions {
  /** Opaque data of at least this many bytes is appended by reference (default 512). */
  refThreshold?: number;
  /** Smallest header chunk to start (a writer usually gets the rest of a 64 KiB slab, see carve()). */
  chunkSize?: number;
}

/** Strings shorter than this are encoded in JS: cheaper than a call into the native UTF-8 encoder. */
const SMALL_COPY = 64;

// Header chunks are carved from a shared slab by a bump pointer, the way Node's Buffer pool works: allocating a
// Buffer per message costs more than encoding a small call. Regions are disjoint and the pointer only moves
// forward, so a chunk handed out in a gather list is never written again; a new slab replaces a full one and the
// old one lives on only through the views that still reference it.
const SLAB_SIZE = 64 * 1024;
let slab = Buffer.allocUnsafe(SLAB_SIZE);
let slabView = new DataView(slab.buffer, slab.byteOffset, slab.length);
let slabPos = 0;

export class XdrWriter {
  private parts: Buffer[] = [];
  private chunk!: Buffer;
  private view!: DataView;
  private start = 0; // start of the current (unsealed) header region in `chunk`
  private pos = 0;
  private limit = 0; // end of the region this writer owns in `chunk`
  private sealedLength = 0;
  private readonly refThreshold: number;
  private readonly chunkSize: number;

  constructor(opts: WriterOptions = {}) {
    this.refThreshold = opts.refThreshold ?? 512;
    this.chunkSize = opts.chunkSize ?? 1024;
    this.carve(this.chunkSize);
  }

  /**
   * Takes a region of at least n bytes: the whole rest of the slab when it fits (finish() gives back what was not
   * used, so a message is usually one contiguous chunk), else a fresh slab, else a Buffer of its own.
   */
  private carve(n: number): void {
    if (n > SLAB_SIZE / 2) {
      this.chunk = Buffer.allocUnsafe(n);
      this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, n);
      this.start = this.pos = 0;
      this.limit = n;
      return;
    }
    if (slabPos + n > SLAB_SIZE) {
      slab = Buffer.allocUnsafe(SLAB_SIZE);
      slabView = new DataView(slab.buffer, slab.byteOffset, slab.length);
      slabPos = 0;
    }
    this.chunk = slab;
    this.view = slabView;
    this.start = this.pos = slabPos;
    this.limit = SLAB_SIZE;
    slabPos = SLAB_SIZE;
  }

  /** Total encoded length so far. */
  get length(): number {
    return this.sealedLength + (this.pos - this.start);
  }

  private room(n: number): void {
    if (this.pos + n <= this.limit) return;
    this.seal();
    this.carve(Math.max(this.chunkSize, n));
  }

  private seal(): void {
    if (this.pos > this.start) {
      this.parts.push(this.chunk.subarray(this.start, this.pos));
      this.sealedLength += this.pos - this.start;
      this.start = this.pos;
    }
  }

  u32(v: number): this {
    // (v >>> 0) === v holds exactly for integers in 0..2^32-1 (NaN, fractions and out-of-range fail)
    if (v >>> 0 !== v) throw new XdrError('XDR_RANGE', `unsigned int out of range: ${v}`);
    if (this.pos + 4 > this.limit) this.room(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
    return this;
  }

  i32(v: number): this {
    if ((v | 0) !== v) throw new XdrError('XDR_RANGE', `int out of range: ${v}`);
    if (this.pos + 4 > this.limit) this.room(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
    return this;
  }

  u64(v: bigint): this {
    // BigInt.asUintN(64, v) === v exactly when v fits; cheaper than two BigInt comparisons
    if (typeof v !== 'bigint' || BigInt.asUintN(64, v) !== v) throw new XdrError('XDR_RANGE', `unsigned hyper out of range: ${v}`);
    if (this.pos + 8 > this.limit) this.room(8);
    this.view.setBigUint64(this.pos, v);
    this.pos += 8;
    return this;
  }

  i64(v: bigint): this {
    if (typeof v !== 'bigint' || BigInt.asIntN(64, v) !== v) throw new XdrError('XDR_RANGE', `hyper out of range: ${v}`);
    if (this.pos + 8 > this.limit) this.room(8);
    this.view.setBigInt64(this.pos, v);
    this.pos += 8;
    return this;
  }

  bool(b: boolean): this {
    return this.u32(b ? 1 : 0);
  }

  /** Raw bytes with no length prefix and no padding (pre-encoded XDR). Large buffers by reference. */
  raw(buf: Buffer): this {
    if (buf.length >= this.refThreshold) {
      this.seal();
      this.parts.push(buf);
      this.sealedLength += buf.length;
    } else if (buf.length > 0) {
      const n = buf.length;
      this.room(n);
      // TypedArray#set stays in V8 builtins; Buffer#copy crosses into C++, which costs more than these copies
      this.chunk.set(buf, this.pos);
      this.pos += n;
    }
    return this;
  }

  /** RFC 4506 §4.9 fixed opaque: bytes then zero padding to a multiple of 4. */
  opaqueFixed(buf: Buffer): this {
    this.raw(buf);
    const p = (4 - (buf.length & 3)) & 3;
    if (p) {
      this.room(p);
      for (let i = 0; i < p; i++) this.chunk[this.pos++] = 0;
    }
    return this;
  }

  /** RFC 4506 §4.10 variable opaque: length, bytes, padding. */
  opaque(buf: Buffer, max = 0xffffffff): this {
    if (buf.length > max) throw new XdrError('XDR_LIMIT', `opaque length ${buf.length} exceeds limit ${max}`);
    this.u32(buf.length);
    return this.opaqueFixed(buf);
  }

  string(s: string, max = 0xffffffff): this {
    const n = s.length;
    // Short ASCII strings (file names) are copied in JS in one pass; anything else goes through the UTF-8 encoder.
    if (n < SMALL_COPY && n <= max) {
      this.room(n + 8);
      const c = this.chunk;
      const p = this.pos + 4;
      let i = 0;
      for (; i < n; i++) {
        const code = s.charCodeAt(i);
        if (code > 0x7f) break;
        c[p + i] = code;
      }
      if (i === n) {
        this.view.setUint32(this.pos, n);
        let end = p + n;
        const pad = (4 - (n & 3)) & 3; // RFC 4506 §4.11: zero padding to a multiple of 4
        for (let k = 0; k < pad; k++) c[end++] = 0;
        this.pos = end;
        return this;
      }
    }
    const len = Buffer.byteLength(s, 'utf8');
    if (len > max) throw new XdrError('XDR_LIMIT', `string length ${len} exceeds limit ${max}`);
    this.u32(len);
    this.room(len + 3);
    const c = this.chunk;
    c.write(s, this.pos, 'utf8');
    this.pos += len;
    const pad = (4 - (len & 3)) & 3;
    for (let i = 0; i < pad; i++) c[this.pos++] = 0;
    return this;
  }


  array<T>(items: readonly T[], item: (w: XdrWriter, v: T) => void, max = 0xffffffff): this {
    if (items.length > max) throw new XdrError('XDR_LIMIT', `array count ${items.length} exceeds limit ${max}`);
    this.u32(items.length);
    for (const v of items) item(this, v);
    return this;
  }

  optional<T>(v: T | undefined | null, item: (w: XdrWriter, v: T) => void): this {
    if (v === undefined || v === null) return this.u32(0);
    this.u32(1);
    item(this, v);
    return this;
  }

  /**
   * The gather list. Header chunks are owned by the list; referenced payloads stay the caller's. The writer is then
   * empty and can encode the next message. `reuse`: the caller will write again, so the writer keeps the rest of
   * its region (no one else can carve from it) instead of returning it to the shared slab.
   */
  finish(reuse = false): Buffer[] {
    this.seal();
    if (!reuse) {
      // Give the unused tail back if nobody carved after it, then close the region so a later write carves afresh
      // instead of touching bytes that may by then belong to another writer.
      if (this.chunk === slab && slabPos === this.limit) slabPos = this.pos;
      this.limit = this.pos;
    }
    const out = this.parts;
    this.parts = [];
    this.sealedLength = 0;
    return out;
  }

  /** Concatenated copy (tests, small messages). */
  toBuffer(): Buffer {
    const parts = this.finish();
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}

