// The capture record framer (RFC 5531 §11) fed directly, sans-IO: every record survives being cut at every
// offset (pg-protocol style), frames are attributed, and holes either damage a record or force a resync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcFramer, FramedRecord, FramerEvent } from '../captures/rpc/framer';
import { plausibleRecord } from '../captures/rpc/plausible';
import { writeCall, writeReply, record, counter } from '../testing/captures-builder';
import { BufferPool } from '../core/buffer-pool';

function framer(aligned = true, outstanding: (xid: number) => boolean = () => false, pool?: BufferPool) {
  const records: FramedRecord[] = [];
  const events: FramerEvent[] = [];
  const f = new RpcFramer({
    maxRecord: 1 << 20,
    aligned,
    searchBudget: Infinity,
    plausible: (b, o) => plausibleRecord(b, o, 1 << 20, outstanding),
    onRecord: (r) => records.push({ ...r, data: Buffer.from(r.data) }),
    onEvent: (e) => events.push(e),
    pool,
  });
  return { f, records, events };
}

const MSGS = [writeCall(1, 0n, counter(100)), writeCall(2, 4096n, counter(3000, 5)), writeCall(3, 0n, counter(10))];
const STREAM = Buffer.concat([record(MSGS[0]), record(MSGS[1], 1000), record(MSGS[2])]); // the second in 4 fragments

test('records cut at every pair of offsets come out whole and in order', () => {
  for (let a = 1; a < STREAM.length; a += 7) {
    for (const b of [a + 1, a + 13, Math.min(STREAM.length - 1, a + 999)]) {
      if (b <= a || b >= STREAM.length) continue;
      const { f, records, events } = framer();
      f.data(STREAM.subarray(0, a), 1, 1);
      f.data(STREAM.subarray(a, b), 2, 2);
      f.data(STREAM.subarray(b), 3, 3);
      assert.deepEqual(records.map((r) => r.data), MSGS, `cut at ${a},${b}`);
      assert.deepEqual(events, []);
    }
  }
});

test('with a pool, records spanning chunks are assembled in slabs lent to onRecord and reused', () => {
  const pool = new BufferPool({ granule: 4096, maxIdleBytes: 1 << 20 });
  const { f, records } = framer(true, () => false, pool);
  for (let round = 0; round < 20; round++) {
    // 100-byte chunks: every record spans chunks and is copied into a slab.
    for (let o = 0; o < STREAM.length; o += 100) f.data(STREAM.subarray(o, o + 100), round, round);
  }
  assert.equal(records.length, 60);
  assert.deepEqual(records.map((r) => r.data), Array.from({ length: 20 }, () => MSGS).flat());
  assert.equal(pool.inUse, 0, 'every slab was given back once onRecord returned');
  assert.ok(pool.allocations <= 4, `slabs reused (${pool.allocations} allocated for 80 fragments)`);
  // A hole in a fragment makes the record thin: its slab goes back too.
  const cut = record(MSGS[1], 1000);
  f.data(cut.subarray(0, 500), 100, 1);
  f.gap(600, 101, 1);
  f.data(cut.subarray(1100), 102, 1);
  f.end(103, 1);
  assert.equal(records[60].damaged, true);
  assert.equal(pool.inUse, 0);
});

test('frames and stream offsets of each record', () => {
  const { f, records } = framer();
  const one = record(MSGS[0]).length;
  f.data(STREAM.subarray(0, one + 10), 7, 0.5);
  f.data(STREAM.subarray(one + 10, one + 2000), 8, 0.6);
  f.data(STREAM.subarray(one + 2000), 9, 0.7);
  assert.deepEqual(records.map((r) => [r.firstFrame, r.lastFrame, r.streamOffset]), [[7, 7, 0], [7, 9, one], [9, 9, STREAM.length - record(MSGS[2]).length]]);
});

test('a hole inside a fragment body damages that record only; a hole over a record mark resynchronises', () => {
  const { f, records, events } = framer();
  const one = record(MSGS[0]);
  f.data(one.subarray(0, 50), 1, 0);
  f.gap(20, 2, 0); // inside the body of record 1
  f.data(one.subarray(70), 3, 0);
  f.data(record(MSGS[2]).subarray(0, 10), 4, 0);
  f.gap(30, 5, 0); // swallows the rest of record 3's header: framing lost
  f.data(Buffer.alloc(17, 0x42), 6, 0);
  f.data(record(writeCall(9, 0n, counter(64))), 7, 0);
  assert.equal(records.length, 2);
  assert.equal(records[0].damaged, true);
  assert.deepEqual(records[0].data.subarray(46, 66), Buffer.alloc(20)); // zeros where the capture had nothing
  assert.ok(records[0].data.subarray(66).equals(MSGS[0].subarray(66)));
  assert.equal(records[1].damaged, false);
  assert.ok(records[1].data.equals(writeCall(9, 0n, counter(64))));
  assert.deepEqual(events.map((e) => e.type), ['lost', 'resync']);
});

test('a reply is plausible only for an outstanding call; an unaligned start finds the first record mark', () => {
  const { f, records } = framer(false, (xid) => xid === 42);
  f.data(Buffer.concat([Buffer.alloc(33, 0x7f), record(writeReply(41, 10)), record(writeReply(42, 10))]), 1, 0);
  assert.equal(records.length, 1);
  assert.equal(records[0].data.readUInt32BE(0), 42);
});
