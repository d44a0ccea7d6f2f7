// The client witness's check on the time scale: a timeout no fault explains (no stall overlapped the wait, no
// reply of that XID dropped) is the machine's, not the scenario's (lab/witnesses.ts unexplainedTimeouts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEADBEEF, fillPattern, verifyPattern } from '../core/pattern';
import type { RpcCallEvent } from '../client/rpc/trace';
import type { NetemEvent } from '../netem';
import { diskWitness, unexplainedTimeouts } from '../lab/witnesses';

const SCALE = 0.002; // timeo 60 s = 120 real ms
const TIMEO = 60_000;
const PROXY_T0 = 1000;

function timeout(xid: number, t: number, nextTimeoutModelMs = 120_000): RpcCallEvent {
  return { event: 'timeout', xid, proc: 'WRITE', t, scale: SCALE, transport: 't', transportId: 1, policy: 'linux-2008', kind: 'minor', nextTimeoutModelMs };
}
function netem(event: string, ms: number, extra: Record<string, unknown> = {}): NetemEvent {
  return { t: '', ms, modelMs: ms / SCALE, proxy: 'p', source: 'f', kind: event.startsWith('stall') ? 'stall' : 'drop-reply', event, ...extra } as NetemEvent;
}

test("a timeout whose wait overlapped a stall is the scenario's", () => {
  // stall from 1100 to 1230 (proxy ms 100..230); a 120 ms wait ending at 1300 started at 1180: overlaps
  const stall = [netem('stall-start', 100), netem('stall-end', 230)];
  assert.equal(unexplainedTimeouts([timeout(1, 1300)], stall, PROXY_T0, TIMEO), 0);
  // a wait from 1240 to 1360 starts after the stall ended: the machine's
  assert.equal(unexplainedTimeouts([timeout(1, 1360)], stall, PROXY_T0, TIMEO), 1);
  // a stall still running when the run ended covers everything after its start
  assert.equal(unexplainedTimeouts([timeout(1, 5000)], [netem('stall-start', 100)], PROXY_T0, TIMEO), 0);
});

test("a timeout of a call whose reply the proxy dropped before it fired is the scenario's", () => {
  const drop = [netem('drop-reply', 50, { xid: 7 })];
  assert.equal(unexplainedTimeouts([timeout(7, 1200)], drop, PROXY_T0, TIMEO), 0);
  // another XID, or a drop after the timeout fired, explains nothing
  assert.equal(unexplainedTimeouts([timeout(8, 1200)], drop, PROXY_T0, TIMEO), 1);
  assert.equal(unexplainedTimeouts([timeout(7, 1040)], drop, PROXY_T0, TIMEO), 1);
  // a drop explains the timeout whose wait it fell in, not the next one: the reply to the retransmission came
  // late by itself (a loaded machine), unless the proxy dropped that one too
  assert.equal(unexplainedTimeouts([timeout(7, 1200), timeout(7, 1440)], drop, PROXY_T0, TIMEO), 1);
  assert.equal(unexplainedTimeouts([timeout(7, 1200), timeout(7, 1440)], [...drop, netem('drop-reply', 300, { xid: 7 })], PROXY_T0, TIMEO), 0);
});

test("each timeout's wait is its timer's length: timeo first, then the value the previous timeout armed", () => {
  // stall 1100..1150. The first timeout at 1200 waited 120 ms (1080..1200): overlaps. The second at 1440 waited
  // 240 ms (1200..1440): no overlap, so unexplained.
  const stall = [netem('stall-start', 100), netem('stall-end', 150)];
  assert.equal(unexplainedTimeouts([timeout(3, 1200, 120_000), timeout(3, 1440)], stall, PROXY_T0, TIMEO), 1);
  // a 400 ms timer armed by the first timeout reaches back into the stall
  assert.equal(unexplainedTimeouts([timeout(3, 1200, 200_000), timeout(3, 1549)], [netem('stall-start', 100), netem('stall-end', 150)], PROXY_T0, TIMEO), 0);
});

// The disk witness reads the file a block at a time: it must find what a comparison of the whole file finds, in
// every whole block (past the run's own blocks too), ignore a short tail, and take a missing file as empty.
test('diskWitness: the corrupt whole blocks of the file, block by block, as verifyPattern finds them in the whole file', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-disk-witness-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const B = 4096;
  const file = fillPattern(Buffer.alloc(6 * B + 100), 0);
  file.writeUInt32BE(DEADBEEF, B + 8);
  file.writeUInt32BE(DEADBEEF, B + 12);
  file.writeUInt32BE(0, 3 * B + 4000);
  file.writeUInt32BE(0, 5 * B); // a block past the ones a run would have written
  file.writeUInt32BE(0, 6 * B + 4); // in the short tail: not a whole block
  const f = path.join(dir, 'blktest.dat');
  fs.writeFileSync(f, file);
  const disk = diskWitness({ file: f, blockSize: B, journalRows: [], payloadHash: 'xxh64', scribbledXids: new Set() });
  assert.deepEqual(disk.corrupt, verifyPattern(file.subarray(0, 6 * B), 0, B));
  assert.deepEqual(disk.corrupt.map((c) => [c.block, c.badWords, c.deadbeefWords]), [[1, 2, 2], [3, 1, 0], [5, 1, 0]]);
  assert.equal(disk.bytes, file.length);
  const none = diskWitness({ file: path.join(dir, 'absent'), blockSize: B, journalRows: [], payloadHash: 'xxh64', scribbledXids: new Set() });
  assert.deepEqual([none.corrupt, none.bytes, none.executedScribbled], [[], 0, 0]);
});
