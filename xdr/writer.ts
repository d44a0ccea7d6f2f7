// XDR encoder producing a gather list (RFC 4506): small fields are packed into header chunks, large opaque
// payloads are appended by reference followed by a shared padding chunk.
//
// Ownership: a Buffer passed to opaque()/opaqueFixed()/raw() at or above `refThreshold` bytes is NOT copied;
// the caller must keep it unchanged until every consumer of the gather list (e.g. a socket) is done with it.
// That is exactly the property the zero-copy retransmit policy studies. Copies happen only where a policy asks.
import { XdrError } from '../core/errors';


export interface WriterOptions {
  /** Opaque data of at least this many bytes is appended by reference (default 512). */
  refThreshold?: number;
  /** Initial header chunk size (grows by doubling). */
  chunkSize?: number;
}

export class XdrWriter {
  private parts: Buffer[] = [];
  private chunk: Buffer;
  private start = 0; // start of the current (unsealed) header region in `chunk`
  private pos = 0;
  private sealedLength = 0;
  private readonly refThreshold: number;

  constructor(opts: WriterOptions = {}) {
    this.refThreshold = opts.refThreshold ?? 512;
    this.chunk = Buffer.allocUnsafe(opts.chunkSize ?? 1024);
  }

  /** Total encoded length so far. */
  get length(): number {
    return this.sealedLength + (this.pos - this.start);
  }

  private room(n: number): void {
    if (this.pos + n <= this.chunk.length) return;
    this.seal();
    const size = Math.max(this.chunk.length * 2, n);
    this.chunk = Buffer.allocUnsafe(size);
    this.start = this.pos = 0;
  }

  private seal(): void {
    if (this.pos > this.start) {
      this.parts.push(this.chunk.subarray(this.start, this.pos));
      this.sealedLength += this.pos - this.start;
      this.start = this.pos;
    }
  }

  u32(v: number): this {
    if (!(v >= 0 && v <= 0xffffffff) || !Number.isInteger(v)) throw new XdrError('XDR_RANGE', `unsigned int out of range: ${v}`);
    this.room(4);
    this.chunk.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  i32(v: number): this {
    if (!(v >= -0x80000000 && v <= 0x7fffffff) || !Number.isInteger(v)) throw new XdrError('XDR_RANGE', `int out of range: ${v}`);
    this.room(4);
    this.chunk.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  u64(v: bigint): this {
    if (v < 0n || v > 0xffffffffffffffffn) throw new XdrError('XDR_RANGE', `unsigned hyper out of range: ${v}`);
    this.room(8);
    this.chunk.writeBigUInt64BE(v, this.pos);
    this.pos += 8;
    return this;
  }

  i64(v: bigint): this {
    if (v < -0x8000000000000000n || v > 0x7fffffffffffffffn) throw new XdrError('XDR_RANGE', `hyper out of range: ${v}`);
    this.room(8);
    this.chunk.writeBigInt64BE(v, this.pos);
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
      this.room(buf.length);
      buf.copy(this.chunk, this.pos);
      this.pos += buf.length;
    }
    return this;
  }

  /** RFC 4506 §4.9 fixed opaque: bytes then zero padding to a multiple of 4. */
  opaqueFixed(buf: Buffer): this {
    this.raw(buf);
    const p = (4 - (buf.length & 3)) & 3;
    if (p) {
      this.room(p);
      this.chunk.fill(0, this.pos, this.pos + p);
      this.pos += p;
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
    const len = Buffer.byteLength(s, 'utf8');
    if (len > max) throw new XdrError('XDR_LIMIT', `string length ${len} exceeds limit ${max}`);
    this.u32(len);
    this.room(len + 3);
    this.chunk.write(s, this.pos, 'utf8');
    this.pos += len;
    const p = (4 - (len & 3)) & 3;
    this.chunk.fill(0, this.pos, this.pos + p);
    this.pos += p;
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

  /** The gather list. Header chunks are owned by the list; referenced payloads stay the caller's. */
  finish(): Buffer[] {
    this.seal();
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

