// Bounds-checked XDR cursor (RFC 4506). Variable-length opaque decodes to a subarray view: no copy.
//
// Ownership: the reader never mutates `buf`. Views it returns alias `buf`; they stay valid for as long as the
// caller keeps `buf` unchanged. The record framer hands out records that nobody else writes to afterwards.
import { XdrError } from '../core/errors';

export class XdrReader {
  pos: number;
  readonly end: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    end = buf.length,
    /** RFC 4506 §3.2/§4.10: padding bytes are zero; strict mode rejects non-zero padding. */
    readonly strict = true,
  ) {
    if (start < 0 || end > buf.length || start > end) throw new XdrError('XDR_RANGE', `bad reader window ${start}..${end} of ${buf.length}`);
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (n > this.end - this.pos) {
      throw new XdrError('XDR_SHORT', `${what}: need ${n} bytes at offset ${this.pos}, ${this.end - this.pos} remain`, { offset: this.pos });
    }
  }

  u32(): number {
    this.need(4, 'unsigned int');
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** RFC 4506 §4.5 unsigned hyper as bigint. */
  u64(): bigint {
    this.need(8, 'unsigned hyper');
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  i64(): bigint {
    this.need(8, 'hyper');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** RFC 4506 §4.4: bool is an enum {FALSE=0, TRUE=1}; anything else is malformed. */
  bool(): boolean {
    const v = this.u32();
    if (v > 1) throw new XdrError('XDR_BOOL', `bool must be 0 or 1, got ${v}`, { offset: this.pos - 4 });
    return v === 1;
  }

  /** RFC 4506 §4.3: an enum value outside the declared set is malformed. */
  enumOf(valid: ReadonlySet<number>, name: string): number {
    const v = this.i32();
    if (!valid.has(v)) throw new XdrError('XDR_ENUM', `unknown ${name} value ${v}`, { offset: this.pos - 4, value: v, enum: name });
    return v;
  }

  private pad(len: number): void {
    const p = (4 - (len & 3)) & 3;
    if (p === 0) return;
    this.need(p, 'padding');
    if (this.strict) {
      for (let i = 0; i < p; i++) {
        if (this.buf[this.pos + i] !== 0) throw new XdrError('XDR_PADDING', `non-zero padding at offset ${this.pos + i}`, { offset: this.pos + i });
      }
    }
    this.pos += p;
  }

  /** RFC 4506 §4.9 fixed-length opaque: a view of `len` bytes. */
  opaqueFixed(len: number): Buffer {
    this.need(len, 'fixed opaque');
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    this.pad(len);
    return v;
  }

  /** RFC 4506 §4.10 variable-length opaque: length checked against `max` and the bytes remaining first. */
  opaque(max: number, what = 'opaque'): Buffer {
    const at = this.pos;
    const len = this.u32();
    if (len > max) throw new XdrError('XDR_LIMIT', `${what} length ${len} exceeds limit ${max}`, { offset: at, length: len, max });
    if (len > this.end - this.pos) throw new XdrError('XDR_SHORT', `${what} length ${len} past end (${this.end - this.pos} remain)`, { offset: at, length: len });
    return this.opaqueFixed(len);
  }

  /** RFC 4506 §4.11 string. Decoded as UTF-8 (RFC 1813 filenames are bytes; callers needing bytes use opaque). */
  string(max: number, what = 'string'): string {
    return this.opaque(max, what).toString('utf8');
  }

  /** RFC 4506 §4.13 variable-length array; count checked against `max` and against what could possibly remain. */
  array<T>(max: number, item: (r: XdrReader) => T, what = 'array', minItemBytes = 4): T[] {
    const at = this.pos;
    const n = this.u32();
    if (n > max) throw new XdrError('XDR_LIMIT', `${what} count ${n} exceeds limit ${max}`, { offset: at, count: n, max });
    if (n * minItemBytes > this.end - this.pos) throw new XdrError('XDR_SHORT', `${what} count ${n} cannot fit in ${this.end - this.pos} bytes`, { offset: at });
    const out = new Array<T>(n);
    for (let i = 0; i < n; i++) out[i] = item(this);
    return out;
  }

  /** RFC 4506 §4.19 optional-data (*T). */
  optional<T>(item: (r: XdrReader) => T): T | undefined {
    return this.bool() ? item(this) : undefined;
  }

  /** A view of everything not yet read; does not advance. */
  rest(): Buffer {
    return this.buf.subarray(this.pos, this.end);
  }

  /** Throws unless every byte was consumed (trailing garbage is malformed for a single message body). */
  expectEnd(what = 'message'): void {
    if (this.pos !== this.end) throw new XdrError('XDR_TRAILING', `${this.end - this.pos} trailing bytes after ${what}`, { offset: this.pos });
  }
}

/** Builds the set of declared values of an `as const` enum table, for XdrReader.enumOf. */
export function enumSet(table: Record<string, number>): ReadonlySet<number> {
  return new Set(Object.values(table));
}

/** Reverse lookup for printing: value -> RFC name. */
export function enumName(table: Record<string, number>, value: number): string {
  for (const [k, v] of Object.entries(table)) if (v === value) return k;
  return String(value);
}
