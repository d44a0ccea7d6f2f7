// captures/analysis/sha1-offload.ts: SHA-1 on a worker gives crypto's digests for every input, whatever the ring
// does (fills up, wraps while the worker answers), whatever the caller does with its bytes after hash() returns, and when the worker dies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Sha1Offload } from '../captures/analysis/sha1-offload';
import { counter } from '../testing/captures-builder';

const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

/** Inputs of mixed sizes: below the offload threshold, around it, and large enough to fill a 4 MiB ring. */
function inputs(): Buffer[] {
  const sizes = [100, 65536, 1 << 20, 3 << 20, 70_000, 5000, 2 << 20, 1 << 20, 1 << 20, 600_000, 3 << 20, 65535, 1 << 20];
  return sizes.map((n, i) => counter(n, i * 0x1000));
}

test('every digest is SHA-1 of the bytes as they were at the call, with a full ring', async () => {
  const o = new Sha1Offload(64 * 1024, 4 << 20);
  const bufs = inputs();
  const want = bufs.map(sha1);
  const got: string[] = [];
  bufs.forEach((b, i) => {
    o.hash(b, (h) => (got[i] = h));
    b.fill(0xff); // the caller reuses its bytes at once (a pooled record slab)
  });
  await o.settle();
  assert.deepEqual(got, want);
  assert.ok(o.copied > 0, 'some inputs went to the worker');
  assert.ok(o.inline > 0, 'a full ring hashed some inputs on the calling thread');
  // After settle() the worker is gone and hashing is inline.
  let late = '';
  o.hash(counter(1 << 20, 9), (h) => (late = h));
  assert.equal(late, sha1(counter(1 << 20, 9)));
});

test('answers arriving between calls: the ring is reused from its start and wraps, digests unchanged', async () => {
  const o = new Sha1Offload(64 * 1024, 4 << 20);
  const bufs = [...inputs(), ...inputs()];
  const want = bufs.map(sha1);
  const got: string[] = [];
  for (let i = 0; i < bufs.length; i++) {
    o.hash(bufs[i], (h) => (got[i] = h));
    bufs[i].fill(0);
    // Let some answers in (as the inspector's reads do between chunks) without waiting for all of them.
    if (i % 3 === 2) await new Promise((r) => setImmediate(r));
  }
  await o.settle();
  assert.deepEqual(got, want);
});

test('a dead worker: what it held is hashed from the ring, and nothing is lost', async () => {
  const o = new Sha1Offload(64 * 1024, 16 << 20);
  const bufs = inputs();
  const want = bufs.map(sha1);
  const got: string[] = [];
  bufs.slice(0, 6).forEach((b, i) => o.hash(b, (h) => (got[i] = h)));
  await (o as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
  bufs.slice(6).forEach((b, i) => o.hash(b, (h) => (got[i + 6] = h)));
  await o.settle();
  assert.deepEqual(got, want);
});
