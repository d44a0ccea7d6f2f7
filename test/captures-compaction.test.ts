// The framer's chunk queue and the TCP history compact their parallel arrays in place (captures/bytes.ts toFront,
// issue 20: a slice() per compaction allocated 35 MB per 221 MB capture). Entries that move to the front must keep
// their bytes, frames and times, and a retransmission must still meet its first copy across a compaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkQueue } from '../captures/bytes';
import { HistoryWindow, TcpDirection, type OverlapDiff } from '../captures/tcp/direction';

test('ChunkQueue: 5000 chunks taken in uneven steps, most while others wait (compactions of a queue not empty)', () => {
  const q = new ChunkQueue();
  const all: number[] = [];
  const frameOf: number[] = [];
  let taken = 0;
  let seed = 7;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n) + 0;
  for (let frame = 1; frame <= 5000; frame++) {
    const len = 1 + rnd(9);
    const b = Buffer.alloc(len);
    for (let i = 0; i < len; i++) {
      b[i] = (all.length * 31 + 7) & 0xff;
      all.push(b[i]);
      frameOf.push(frame);
    }
    q.push(b, frame, frame / 10);
    // Take less than was pushed most of the time, so chunks stay queued behind the head as it passes 1024.
    if (frame % 3 === 0) {
      const n = Math.min(q.length, 1 + rnd(20));
      const t = q.take(n);
      assert.deepEqual([...t.data], all.slice(taken, taken + n), `bytes at ${taken}`);
      assert.equal(t.firstFrame, frameOf[taken]);
      assert.equal(t.lastFrame, frameOf[taken + n - 1]);
      assert.equal(t.firstTs, frameOf[taken] / 10);
      taken += n;
    }
  }
  assert.ok(q.length > 1000, `${q.length} bytes still queued`);
  const rest = q.take(q.length);
  assert.deepEqual([...rest.data], all.slice(taken));
  assert.equal(rest.lastFrame, 5000);
  assert.equal(q.length, 0);
  // Empty now: what is pushed next is read from the front again.
  q.push(Buffer.from([1, 2, 3]), 5001, 1);
  assert.equal(q.frontFrame, 5001);
  assert.deepEqual([...q.take(3).data], [1, 2, 3]);
});

test('TCP history: after 12000 delivered segments (compactions of the direction and of the window) retransmissions still meet their first copies', () => {
  const diffs: OverlapDiff[] = [];
  // A 2 MiB window: it forgets (and compacts) too; the direction keeps its last 1 MiB (1048 segments).
  const window = new HistoryWindow(2 * 1024 * 1024);
  const d = new TcpDirection({ data: () => undefined, gap: () => undefined }, (x) => diffs.push(x), undefined, window);
  const SEG = 1000;
  const bytesOf = (n: number, v: number) => Buffer.alloc(SEG, v);
  let pos = 0;
  for (let n = 0; n < 12000; n++) {
    pos += SEG + 66;
    window.advance(pos);
    d.segment(1000 + n * SEG, bytesOf(n, n & 0xff), SEG, n + 1, n);
  }
  // The last segment again with the same bytes, then with one byte changed; one from before the history's 1 MiB.
  d.segment(1000 + 11999 * SEG, bytesOf(11999, 11999 & 0xff), SEG, 12001, 12000);
  assert.deepEqual(diffs, []);
  const changed = bytesOf(11990, 11990 & 0xff);
  changed[5] ^= 0xff;
  d.segment(1000 + 11990 * SEG, changed, SEG, 12002, 12001);
  assert.deepEqual(diffs, [{ frame: 12002, originalFrame: 11991, streamOffset: 11990 * SEG, length: SEG, differingBytes: 1 }]);
  assert.equal(d.uncomparedBytes, 0);
  d.segment(1000 + 5 * SEG, bytesOf(5, 1), SEG, 12003, 12002);
  assert.equal(diffs.length, 1);
  assert.equal(d.uncomparedBytes, SEG, 'the first segments left the history: not compared');
});

test('TCP history: a direction carrying less than its 1 MiB per window keeps only what the window holds, not one entry per segment of its life', () => {
  const diffs: OverlapDiff[] = [];
  // 100 bytes per segment, 1 KiB of capture input per segment, a 64 KiB window: the window holds the last 64
  // segments, 6.4 KB, far below the direction's own 1 MiB limit, so only the window's forgetting can free entries.
  const window = new HistoryWindow(64 * 1024);
  const d = new TcpDirection({ data: () => undefined, gap: () => undefined }, (x) => diffs.push(x), undefined, window);
  const SEG = 100;
  let pos = 0;
  const N = 20000;
  for (let n = 0; n < N; n++) {
    pos += 1024;
    window.advance(pos);
    d.segment(1000 + n * SEG, Buffer.alloc(SEG, n & 0xff), SEG, n + 1, n);
  }
  const held = (d as unknown as { histS: number[] }).histS.length;
  assert.ok(held < 4096 + 2 * 64, `the history's arrays hold ${held} slots after ${N} segments (each forgotten entry kept before)`);
  // A recent segment is still compared; one the window forgot is not.
  const changed = Buffer.alloc(SEG, (N - 2) & 0xff);
  changed[0] ^= 1;
  d.segment(1000 + (N - 2) * SEG, changed, SEG, N + 1, N);
  assert.deepEqual(diffs, [{ frame: N + 1, originalFrame: N - 1, streamOffset: (N - 2) * SEG, length: SEG, differingBytes: 1 }]);
  d.segment(1000 + 10 * SEG, Buffer.alloc(SEG, 0), SEG, N + 2, N + 1);
  assert.equal(d.uncomparedBytes, SEG);
});
