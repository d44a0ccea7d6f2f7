// The blktest counter pattern (seed 000: blktest2.c fills its buffer with a counter, then with 0xdeadbeef once
// write() returns). One definition shared by the client, the server's verify endpoint and the inspectors.
//
// Definition: a file is a sequence of 32-bit BIG-ENDIAN words; the word at byte offset o (o a multiple of 4) holds
// the counter value o / 4 (mod 2^32). Equivalently, block b of size B bytes is filled with the counters
// b*B/4, b*B/4 + 1, ..., b*B/4 + B/4 - 1. The pattern does not depend on B, so any block size that is a multiple
// of 4 can write it and any other can verify it. A word equal to 0xdeadbeef is the seed's "buffer reused" fill.

export const PATTERN_WORD_BYTES = 4;
/** blktest2.c fills the buffer with this after write() returns. */
export const DEADBEEF = 0xdeadbeef;

/** The expected 32-bit word at a byte offset (a multiple of 4). */
export function patternWord(byteOffset: number): number {
  return Math.floor(byteOffset / 4) >>> 0;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Fills `buf` with the pattern as it appears at file offset `fileOffset` (both multiples of 4). Where the buffer
 * is word-aligned the counters go in as native words and are byte-swapped in one native pass (Buffer.swap32): the
 * same bytes as a writeUInt32BE per word for about a tenth of the CPU (blktest fills 512 KiB per write(), the disk
 * witness the whole file; the matrix did both 72 times). The fill is synchronous, so no socket write sees a half-
 * swapped buffer.
 */
export function fillPattern(buf: Buffer, fileOffset: number): Buffer {
  checkAligned(buf.length, fileOffset);
  const first = Math.floor(fileOffset / 4);
  if (buf.byteOffset % 4 !== 0) {
    for (let i = 0, w = first; i < buf.length; i += 4, w++) buf.writeUInt32BE(w >>> 0, i);
    return buf;
  }
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  for (let i = 0; i < words.length; i++) words[i] = first + i; // stored mod 2^32, as the counter wraps
  if (LITTLE_ENDIAN) buf.swap32();
  return buf;
}

/** A fresh buffer holding block `block` of size `blockSize`. */
export function patternBlock(block: number, blockSize: number): Buffer {
  return fillPattern(Buffer.allocUnsafe(blockSize), block * blockSize);
}

/** Overwrites `buf` with 0xdeadbeef words (what blktest2 does after write() returns). */
export function fillDeadbeef(buf: Buffer): Buffer {
  checkAligned(buf.length, 0);
  for (let i = 0; i < buf.length; i += 4) buf.writeUInt32BE(DEADBEEF, i);
  return buf;
}

export interface CorruptBlock {
  block: number;
  /** file offset of the block */
  offset: number;
  /** bytes of the block actually present (a short last block) */
  length: number;
  /** words in the block that differ from the pattern */
  badWords: number;
  /** file offset of the first differing word */
  firstBadOffset: number;
  /** expected and found word there, hex */
  expected: string;
  found: string;
  /** how many differing words are 0xdeadbeef */
  deadbeefWords: number;
}

/**
 * Compares `buf` (the file's bytes starting at `fileOffset`, a multiple of blockSize) against the pattern and
 * lists the blocks that differ. Trailing bytes that do not form a whole word are compared as a partial word.
 */
export function verifyPattern(buf: Buffer, fileOffset: number, blockSize: number): CorruptBlock[] {
  const out: CorruptBlock[] = [];
  scanPattern(buf, fileOffset, blockSize, out, Infinity);
  return out;
}

/**
 * verifyPattern for files of any size: describes the first corrupt blocks until `out` holds `max`, then only counts
 * (a block is known to differ at its first bad word). Returns the number of blocks in `buf` that differ.
 */
export function scanPattern(buf: Buffer, fileOffset: number, blockSize: number, out: CorruptBlock[], max: number): number {
  if (!(blockSize > 0 && blockSize % 4 === 0)) throw new RangeError(`block size must be a positive multiple of 4, got ${blockSize}`);
  if (fileOffset % blockSize !== 0) throw new RangeError(`file offset ${fileOffset} is not a multiple of the block size ${blockSize}`);
  let count = 0;
  const expectedTail = Buffer.allocUnsafe(4);
  for (let start = 0; start < buf.length; start += blockSize) {
    const end = Math.min(buf.length, start + blockSize);
    let bad: CorruptBlock | undefined;
    const describe = out.length < max;
    for (let i = start; i < end; i += 4) {
      const off = fileOffset + i;
      const want = patternWord(off);
      let got: number;
      let differs: boolean;
      if (i + 4 <= end) {
        got = buf.readUInt32BE(i);
        differs = got !== want;
      } else {
        expectedTail.writeUInt32BE(want, 0);
        const n = end - i;
        differs = !buf.subarray(i, end).equals(expectedTail.subarray(0, n));
        got = Buffer.concat([buf.subarray(i, end), Buffer.alloc(4 - n)]).readUInt32BE(0);
      }
      if (!differs) continue;
      if (!describe) {
        count++;
        break;
      }
      if (!bad) {
        const block = (fileOffset + start) / blockSize;
        bad = { block, offset: fileOffset + start, length: end - start, badWords: 0, firstBadOffset: off, expected: hex(want), found: hex(got), deadbeefWords: 0 };
        out.push(bad);
        count++;
      }
      bad.badWords++;
      if (got === DEADBEEF) bad.deadbeefWords++;
    }
  }
  return count;
}

function hex(v: number): string {
  return v.toString(16).padStart(8, '0');
}

function checkAligned(len: number, off: number): void {
  if (len % 4 !== 0 || off % 4 !== 0) throw new RangeError(`pattern buffers and offsets are multiples of 4 (got length ${len}, offset ${off})`);
}
