// A seeded byte mutator for wire-format fuzzing: same seed and index, same input. The operations aim at what XDR
// decoders get wrong: 4-byte aligned words (every XDR item is a multiple of 4 bytes, RFC 4506 §3) set to lengths
// and counts at the edges (0, 2^31-1, 2^32-1 ...), truncations, splices of two messages, duplicated ranges.
import { Rng } from '../../testing/xdr-arbitrary';

/** Words that are lengths, counts, enums or booleans at their edges. */
const INTERESTING_WORDS = [
  0, 1, 2, 3, 4, 7, 8, 16, 63, 64, 65, 255, 256, 257, 400, 401, 1024, 4096, 0x8000, 0xffff, 0x10000, 0x100000, 0x400000, 0x7ffffffe,
  0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff,
] as const;
const INTERESTING_BYTES = [0x00, 0x01, 0x2f, 0x2e, 0x7f, 0x80, 0xfe, 0xff] as const;

export const MUTATIONS = ['bitflip', 'byteset', 'wordset', 'inflate', 'truncate', 'splice', 'duplicate', 'delete', 'insert'] as const;
export type Mutation = (typeof MUTATIONS)[number];

export interface MutatorOptions {
  /** results are cut to this many bytes (a duplicated range cannot grow an input without bound) */
  maxBytes?: number;
  /** at most this many operations stacked on one input (at least 1) */
  maxStack?: number;
}

/** Mixes a run seed and an input index into the seed of that input's own generator. */
export function inputSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export class Mutator {
  private readonly maxBytes: number;
  private readonly maxStack: number;

  constructor(o: MutatorOptions = {}) {
    this.maxBytes = o.maxBytes ?? 64 * 1024;
    this.maxStack = Math.max(1, o.maxStack ?? 4);
  }

  /**
   * A new Buffer: `seed` with 1..maxStack operations applied; `other` supplies splice material. The inputs are
   * never written to (they are corpus entries shared by every input).
   */
  mutate(g: Rng, seed: Buffer, other: Buffer, applied?: Mutation[]): Buffer {
    let b: Buffer = Buffer.from(seed);
    const n = 1 + g.int(this.maxStack);
    for (let i = 0; i < n; i++) {
      const op = MUTATIONS[g.int(MUTATIONS.length)];
      applied?.push(op);
      b = this.apply(op, g, b, other);
      if (b.length > this.maxBytes) b = b.subarray(0, this.maxBytes);
    }
    return b;
  }

  apply(op: Mutation, g: Rng, b: Buffer, other: Buffer): Buffer {
    const len = b.length;
    switch (op) {
      case 'bitflip':
        if (len) b[g.int(len)] ^= 1 << g.int(8);
        return b;
      case 'byteset':
        if (len) b[g.int(len)] = g.bool() ? INTERESTING_BYTES[g.int(INTERESTING_BYTES.length)] : g.int(256);
        return b;
      case 'wordset':
        if (len >= 4) b.writeUInt32BE(INTERESTING_WORDS[g.int(INTERESTING_WORDS.length)], 4 * g.int(len >> 2));
        return b;
      case 'inflate': {
        // A word that looks like a length or count (small, non-zero) blown up to the edges of u32 / i32.
        const words: number[] = [];
        for (let o = 0; o + 4 <= len; o += 4) {
          const v = b.readUInt32BE(o);
          if (v > 0 && v <= len) words.push(o);
        }
        if (words.length === 0) return b;
        const at = words[g.int(words.length)];
        const v = b.readUInt32BE(at);
        const choices = [0x7fffffff, 0xffffffff, 0x80000000, v + 1, v + 4, v * 2, len + 1];
        b.writeUInt32BE(choices[g.int(choices.length)] >>> 0, at);
        return b;
      }
      case 'truncate':
        return b.subarray(0, g.int(len + 1));
      case 'splice': {
        const cut = g.int(len + 1);
        const from = g.int(other.length + 1);
        return Buffer.concat([b.subarray(0, cut), other.subarray(from)]);
      }
      case 'duplicate': {
        if (!len) return b;
        const s = g.int(len);
        const e = s + 1 + g.int(Math.min(len - s, 256));
        const at = g.int(len + 1);
        return Buffer.concat([b.subarray(0, at), b.subarray(s, e), b.subarray(at)]);
      }
      case 'delete': {
        if (!len) return b;
        const s = g.int(len);
        const e = s + 1 + g.int(Math.min(len - s, 64));
        return Buffer.concat([b.subarray(0, s), b.subarray(e)]);
      }
      case 'insert': {
        const at = g.int(len + 1);
        return Buffer.concat([b.subarray(0, at), g.bytes(1 + g.int(64)), b.subarray(at)]);
      }
    }
  }
}
