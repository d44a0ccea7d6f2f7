// The counter pattern (core/pattern.ts) written by fillPattern's word-aligned fast path (native words, one
// swap32) must be byte for byte the definition: word o/4 big-endian at byte offset o, mod 2^32. Built here
// independently with DataView, on word-aligned and unaligned views, at offsets past 2^32 words (the wrap).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fillPattern, patternBlock, verifyPattern } from '../core/pattern';

function expected(length: number, fileOffset: number): Buffer {
  const out = Buffer.alloc(length);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < length; i += 4) view.setUint32(i, ((fileOffset + i) / 4) % 2 ** 32, false);
  return out;
}

const CASES: Array<[length: number, fileOffset: number]> = [
  [0, 0],
  [4, 0],
  [64, 4],
  [512 << 10, 0],
  [512 << 10, 7 * (512 << 10)],
  [4096, 2 ** 34 - 2048], // crosses the 2^32-word wrap
  [12, 2 ** 40 + 8],
];

for (const [length, fileOffset] of CASES) {
  for (const shift of [0, 1, 2, 4]) {
    test(`fillPattern: ${length} bytes at file offset ${fileOffset}, view at byte ${shift} of its ArrayBuffer`, () => {
      const backing = Buffer.alloc(length + 8, 0xaa);
      const view = backing.subarray(shift, shift + length);
      assert.equal(fillPattern(view, fileOffset), view);
      assert.ok(view.equals(expected(length, fileOffset)));
      // nothing outside the view is touched
      assert.ok(backing.subarray(0, shift).every((b) => b === 0xaa));
      assert.ok(backing.subarray(shift + length).every((b) => b === 0xaa));
    });
  }
}

test('fillPattern output verifies clean, and a block differs from its neighbour', () => {
  const b = patternBlock(3, 1024);
  assert.deepEqual(verifyPattern(b, 3 * 1024, 1024), []);
  assert.equal(verifyPattern(b, 4 * 1024, 1024).length, 1);
});

test('fillPattern refuses lengths and offsets that are not whole words', () => {
  assert.throws(() => fillPattern(Buffer.alloc(6), 0), RangeError);
  assert.throws(() => fillPattern(Buffer.alloc(8), 2), RangeError);
});
