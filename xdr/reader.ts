// Bounds-checked XDR cursor (RFC 4506). Variable-length opaque decodes to a subarray view: no copy.
//
// Ownership: the reader never mutates `buf`. Views it returns alias `buf`; they stay valid for as long as the
// caller keeps `buf` unchanged. The record framer hands out records that nobody else writes to afterwards.
import { XdrError } from '../core/errors';

const fc = String.fromCharCode;

/**
 * ASCII bytes of a short string (most file names) in one String.fromCharCode call with the bytes as arguments,
 * which is several times cheaper than a native toString call; undefined when a byte is not ASCII.
 */
function shortAscii(b: Buffer, p: number, n: number): string | undefined {
  let or = 0;
  for (let i = 0; i < n; i++) or |= b[p + i];
  if (or & 0x80) return undefined;
  switch (n) {
    case 0:
      return '';
    case 1:
      return fc(b[p]);
    case 2:
      return fc(b[p], b[p + 1]);
    case 3:
      return fc(b[p], b[p + 1], b[p + 2]);
    case 4:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3]);
    case 5:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4]);
    case 6:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5]);
    case 7:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6]);
    case 8:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    case 9:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8]);
    case 10:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9]);
    case 11:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10]);
    case 12:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11]);
    case 13:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12]);
    case 14:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12], b[p + 13]);
    case 15:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12], b[p + 13], b[p + 14]);
    case 16:
      return fc(b[p], b[p + 1], b[p + 2], b[p + 3], b[p + 4], b[p + 5], b[p + 6], b[p + 7], b[p + 8], b[p + 9], b[p + 10], b[p + 11], b[p + 12], b[p + 13], b[p + 14], b[p + 15]);
    default:
      return undefined;
  }
}

/** Shared zero-length result (AUTH_NONE bodies, empty opaques): nothing to own, nothing to mutate. */
const EMPTY: Buffer = Buffer.alloc(0);

export class XdrReader {
  pos: number;
  readonly end: number;
  /** created on the first hyper: a DataView costs more than decoding a small header, but reads words natively */
  private dv: DataView | undefined;

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
    const p = this.pos;
    if (p + 4 > this.end) this.need(4, 'unsigned int');
    this.pos = p + 4;
    // the DataView exists once a hyper was read (attribute-heavy bodies); small headers avoid creating it
    if (this.dv !== undefined) return this.dv.getUint32(p);
    const b = this.buf;
    return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  i32(): number {
    const p = this.pos;
    if (p + 4 > this.end) this.need(4, 'int');
    const b = this.buf;
    this.pos = p + 4;
    return (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3];
  }

  /** RFC 4506 §4.5 unsigned hyper as bigint. */
  u64(): bigint {
    if (this.pos + 8 > this.end) this.need(8, 'unsigned hyper');
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }

  i64(): bigint {
    if (this.pos + 8 > this.end) this.need(8, 'hyper');
    const v = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return v;
  }

  /**
   * For fixed-size structures (fattr3 is 84 bytes): checks that n bytes remain, advances past them and returns
   * their offset for reads through `view`. One bounds check instead of one per field.
   */
  take(n: number): number {
    const at = this.pos;
    if (at + n > this.end) this.need(n, 'fixed-size structure');
    this.pos = at + n;
    return at;
  }

  /** A DataView over `buf` (offsets as in `buf`); created on first use. */
  get view(): DataView {
    return (this.dv ??= new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length));
  }

  /** RFC 4506 §4.4: bool is an enum {FALSE=0, TRUE=1}; anything else is malformed. */
  bool(): boolean {
    const v = this.u32();
    if (v > 1) throw new XdrError('XDR_BOOL', `bool must be 0 or 1, got ${v}`, { offset: this.pos - 4 });
    return v === 1;
  }

  /** RFC 4506 §4.3: an enum value outside the declared set is malformed. */
  enumOf(valid: ReadonlySet<number>, name: string): number {
    const v = this.u32() | 0;
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

  /** RFC 4506 §4.9 fixed-length opaque: a view of `len` bytes (a shared empty Buffer when len is 0). */
  opaqueFixed(len: number): Buffer {
    if (this.pos + len > this.end) this.need(len, 'fixed opaque');
    const at = this.pos;
    this.pos = at + len;
    if ((len & 3) !== 0) this.pad(len);
    return len === 0 ? EMPTY : this.buf.subarray(at, at + len);
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
    const at = this.pos;
    const len = this.u32();
    if (len > max) throw new XdrError('XDR_LIMIT', `${what} length ${len} exceeds limit ${max}`, { offset: at, length: len, max });
    if (len > this.end - this.pos) throw new XdrError('XDR_SHORT', `${what} length ${len} past end (${this.end - this.pos} remain)`, { offset: at, length: len });
    const b = this.buf;
    const from = this.pos;
    this.pos = from + len;
    if ((len & 3) !== 0) this.pad(len);
    if (len <= 16) {
      const ascii = shortAscii(b, from, len);
      if (ascii !== undefined) return ascii;
    }
    return b.toString('utf8', from, from + len);
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
