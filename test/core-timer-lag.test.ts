// core/timer-lag.ts: the lag every run reports is the timers' lateness, not the sampling interval. Node's histogram
// records the interval between two firings of its sampling timer, so without the subtraction an idle loop reads
// one whole period (10 ms: 2.5 modelled seconds at the matrix's 1/250) and every run looked that much later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startTimerLag } from '../core/timer-lag';

const RESOLUTION_MS = 10;

function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

test("Node's histogram reads the sampling interval, not the lateness (why core/timer-lag.ts subtracts it)", async () => {
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  await sleep(200);
  h.disable();
  // every interval is at least the period (less a timer's early-firing slack of about a millisecond)
  assert.ok(h.min / 1e6 > RESOLUTION_MS - 2, `min ${h.min / 1e6} ms`);
});

test('an idle loop: the fastest firing is on time; a 60 ms block shows as 50-60 ms late (lower bound within one period)', async () => {
  const lag = startTimerLag(RESOLUTION_MS);
  assert.equal(lag.resolutionMs, RESOLUTION_MS);
  await sleep(200);
  const idle = lag.read();
  // at least one firing of an idle loop is less than half a period late; the interval itself would be >= 8 ms
  assert.ok(idle.min < RESOLUTION_MS / 2, `idle min ${idle.min} ms`);
  block(60);
  await sleep(50);
  const after = lag.stop();
  assert.ok(after.max >= 60 - RESOLUTION_MS, `max ${after.max} ms after a 60 ms block`);
  assert.ok(after.max >= after.p99 && after.p99 >= after.min && after.min >= 0, JSON.stringify(after));
});

test('reset forgets the block; stop keeps the last reading', async () => {
  const lag = startTimerLag(RESOLUTION_MS);
  await sleep(30);
  block(120);
  await sleep(30);
  assert.ok(lag.read().max >= 120 - RESOLUTION_MS);
  lag.reset();
  await sleep(100);
  const r = lag.stop();
  assert.ok(r.max < 120 - RESOLUTION_MS, `after reset: ${JSON.stringify(r)}`);
  await sleep(30);
  assert.deepEqual(lag.read(), r, 'nothing sampled after stop');
});
