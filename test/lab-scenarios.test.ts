// The scenario table (lab/scenarios/): each scenario owns its faults and its extra actions; the actions stop
// cleanly (the stall-restart listener used to stay on the proxy's event log after the run).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createProxy } from '../netem';
import { getScenario, SCENARIO_NAMES, SCENARIOS, type ScenarioRun } from '../lab/scenarios';
import { silentLogger } from '../core/log';
import type { RunningServer } from '../server';

const params = { seed: 7, stall: '65s', every: 1000, resume: 'together' as const, writeCalls: 128 };

test('every scenario stalls as the seed does or drops replies, and names no other fault', () => {
  for (const name of SCENARIO_NAMES) {
    const kinds = SCENARIOS[name].faults(params).map((f) => f.kind);
    assert.deepEqual(kinds, [name === 'drop-reply' ? 'drop-reply' : 'stall'], name);
  }
  assert.deepEqual(SCENARIOS.stall.faults(params), SCENARIOS['stall-restart'].faults(params));
});

test('drop-reply swallows three distinct WRITE replies chosen by the seed, the same ones for the same seed', () => {
  const nth = (seed: number) => (SCENARIOS['drop-reply'].faults({ ...params, seed })[0] as { call: { nth: number[] } }).call.nth;
  assert.deepEqual(nth(7), nth(7));
  assert.equal(new Set(nth(7)).size, 3);
  for (const n of nth(7)) assert.ok(n >= 1 && n <= params.writeCalls);
  assert.notDeepEqual(nth(7), nth(8));
  assert.deepEqual((SCENARIOS['drop-reply'].faults({ ...params, writeCalls: 2 })[0] as { call: { nth: number[] } }).call.nth, [1, 2]);
});

test('an unknown scenario is BAD_SCENARIO', () => {
  assert.throws(() => getScenario('flood'), (e: { code?: string }) => e.code === 'BAD_SCENARIO');
  assert.throws(() => getScenario('toString'), (e: { code?: string }) => e.code === 'BAD_SCENARIO');
});

test('stall-restart restarts the server once, at the first stall, and its listener goes with stop()', async () => {
  // Nothing listens upstream: the proxy only serves as the event log the scenario watches.
  const proxy = await createProxy({ name: 'scenario-test', upstream: { host: '127.0.0.1', port: 9 }, timeScale: 0.001, seed: 1, faults: [] });
  after(() => proxy.close());
  let restarts = 0;
  const run: ScenarioRun = {
    proxy,
    step: () => undefined,
    log: silentLogger,
    restartServer: async () => {
      restarts++;
      return { verifier: Buffer.alloc(8, restarts) } as unknown as RunningServer;
    },
  };
  const stall = { source: 'seed-stall', kind: 'stall', event: 'stall-start' } as const;
  const a = SCENARIOS['stall-restart'].start!(run);
  proxy.log.emit(stall);
  proxy.log.emit(stall);
  await a.stop();
  assert.equal(restarts, 1);
  assert.deepEqual(a.summary(), ['the server restarted during the stall (its DRC was lost)']);

  // Stopped before any stall: a later stall must not restart anything.
  const b = SCENARIOS['stall-restart'].start!(run);
  await b.stop();
  proxy.log.emit(stall);
  assert.equal(restarts, 1);
  assert.deepEqual(b.summary(), []);
});
