// core/buffer-pool.ts: slabs are reused after release, never handed out twice at once, and foreign Buffers are
// left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BufferPool } from '../core/buffer-pool';

test('a released slab is the next one taken of its size; a taken one is never handed out again', () => {
  const pool = new BufferPool({ granule: 64 * 1024, maxIdleBytes: 1 << 20 });
  const a = pool.take(1000);
  const b = pool.take(1000);
  assert.equal(a.length, 1000);
  assert.notEqual(a.buffer, b.buffer);
  assert.equal(a.buffer.byteLength, 64 * 1024);
  pool.release(a.subarray(10, 20)); // any view of the slab gives it back
  const c = pool.take(60 * 1024);
  assert.equal(c.buffer, a.buffer);
  assert.equal(pool.allocations, 2);
  assert.equal(pool.inUse, 2);
  pool.release(c);
  pool.release(c); // twice: no-op, the slab is not listed free twice
  const d = pool.take(10);
  const e = pool.take(10);
  assert.notEqual(d.buffer, e.buffer);
});

test('release of a Buffer the pool did not make is a no-op; idle slabs beyond maxIdleBytes are dropped', () => {
  const pool = new BufferPool({ granule: 64 * 1024, maxIdleBytes: 64 * 1024, shared: true });
  pool.release(Buffer.alloc(64 * 1024));
  assert.equal(pool.idleBytes, 0);
  const a = pool.take(1);
  const b = pool.take(1);
  assert.ok(a.buffer instanceof SharedArrayBuffer);
  pool.release(a);
  pool.release(b);
  assert.equal(pool.idleBytes, 64 * 1024);
  assert.equal(pool.inUse, 0);
  pool.take(1);
  pool.take(1);
  assert.equal(pool.allocations, 3); // one of the two came back from the idle list
});

test('take(n, phase) places the view at that page phase for a malloc-placed slab, inside the slab, and reuses slabs of any phase', () => {
  // glibc puts an mmap'd chunk's data 16 bytes past a page: offset o in the slab is address phase (16 + o) % 4096.
  const pool = new BufferPool({ granule: 64 * 1024, maxIdleBytes: 4 << 20 });
  for (const phase of [0, 1, 16, 4095, 4096 + 140]) {
    const b = pool.take(1 << 20, phase);
    assert.equal(b.length, 1 << 20);
    assert.equal((16 + b.byteOffset) % 4096, phase % 4096);
    assert.ok(b.byteOffset + b.length <= b.buffer.byteLength);
    pool.release(b);
  }
  assert.equal(pool.allocations, 1); // one slab served every phase
});

test('rephase() views the same slab at another phase with the same length, or returns the Buffer when there is no room', () => {
  const pool = new BufferPool({ granule: 64 * 1024, maxIdleBytes: 1 << 20 });
  const a = pool.take(1000, 0);
  const b = pool.rephase(a, 100);
  assert.equal(b.buffer, a.buffer);
  assert.equal(b.length, 1000);
  assert.equal((16 + b.byteOffset) % 4096, 100);
  const plain = pool.take(64 * 1024); // no room beyond its length
  assert.equal(pool.rephase(plain, 100), plain);
  pool.release(b);
  assert.equal(pool.inUse, 1);
});
