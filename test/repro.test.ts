// The reproduction (issue 7 and 17 proof): seed 000's bug on real sockets through the path the seed shows (a
// duplicate handed to the socket before the reply, read from the reused buffer tens of milliseconds after write()
// returned), and each fix closing it, judged by three independent witnesses: the client's own late-transmission
// count, the capture (inspect), and the disk + journal. What each policy guarantees is proven by the contract
// suite (client-policies.test.ts); this file proves the end-to-end wiring at 1/100 of real time.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULTS, LAG_RESOLUTION_MS, runRepro, type ReproOptions } from '../lab/repro';
import type { RunRecord } from '../lab/run-record';
import type { TimingWitness } from '../lab/witnesses';
import { parseDuration } from '../core/units';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-repro-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

// The fixes never reproduce, so they need no race to be won: half the workload at 1/100 of real time. The bug's
// runs keep the defaults (1/50, up to 16 stalls): a smaller scale lets the event loop's own delays reorder the
// reply and the retransmission (README "Time compression").
const FAST: Partial<ReproOptions> = { timeScale: 0.01, count: 16, maxStalls: 0 };

async function repro(over: Partial<ReproOptions>): Promise<RunRecord> {
  const o = { ...DEFAULTS, ...over } as ReproOptions;
  const outDir = path.join(root, `${o.policy}-${o.drc}-${o.scenario}-s${o.seed}-${Math.random().toString(36).slice(2, 8)}`);
  const { record } = await runRepro({ ...o, outDir });
  // keep the disk small: the evidence was read, the folder is not needed any more
  fs.rmSync(outDir, { recursive: true, force: true });
  return record;
}

function witnesses(r: RunRecord): string {
  return JSON.stringify({ verdict: r.verdict, ...r.counters, timing: r.witnesses?.timing, error: r.error });
}

// The faithful race is rare (the seed's "a matter of minutes"): whether a retransmission is already in the socket
// when the reply comes depends on where a stall cuts the backlog, which the real sockets decide, and a loaded
// machine moves it. `npm run bench -- repro` counts the seeds that reproduce within --max-stalls (issue 17: 4 of 5);
// here the seeds are tried in turn until one does, and each that does not must be a clean negative.
// Regression: with --max-stalls the proxy stalled once past the budget (17 of 16) when the packets reinjected at the
// end of the last allowed stall crossed the next trigger before any write returned. A stall every packet makes that
// happen at every stall; the budget must still be exact.
test('--max-stalls is exact: no stall starts after the last allowed one, even one triggered by the reinjected packets', async () => {
  const r = await repro({ policy: 'copy-always', every: 1, maxStalls: 3, timeScale: 0.002, count: 4, blockSize: 64 << 10, wsize: 64 << 10 });
  const starts = (r.netemEvents as Array<{ event: string }>).filter((e) => e.event === 'stall-start').length;
  assert.equal(starts, 3, witnesses(r));
  assert.equal((r.witnesses as { timing: TimingWitness }).timing.stalls, 3);
});

describe("linux-2008 with the DRC off reproduces seed 000 through the seed's path", () => {
  test('REPRODUCED within the stall budget in one of seeds 1, 3, 5; the three witnesses agree, the duplicate was in the socket before the reply', async (t) => {
    let r: RunRecord | undefined;
    for (const seed of [1, 3, 5]) {
      const run = await repro({ policy: 'linux-2008', drc: 'off', seed });
      if (run.verdict === 'reproduced') {
        r = run;
        break;
      }
      t.diagnostic(`seed ${seed}: not reproduced within ${DEFAULTS.maxStalls} stalls (${witnesses(run)})`);
      assert.equal(run.verdict, 'not-reproduced', witnesses(run));
      assert.deepEqual([run.counters.lateTransmissions, run.counters.scribbledOnWire, run.counters.corruptBlocks], [0, 0, 0], witnesses(run));
      assert.equal((run.witnesses as { timing: TimingWitness }).timing.stalls, DEFAULTS.maxStalls, 'it stalled the whole budget');
    }
    assert.ok(r, 'one of three seeds reproduced');
      assert.ok(r.counters.lateTransmissions > 0, witnesses(r));
      const paths = (r.traceSummary as { latePaths: { inSocket: number; queued: number } }).latePaths;
      assert.equal(paths.queued, 0, witnesses(r));
      assert.equal(paths.inSocket, r.counters.lateTransmissions, witnesses(r));
      // wire: retransmitted WRITEs whose payload differs from the first copy of the same XID
      assert.ok(r.counters.scribbledOnWire > 0, witnesses(r));
      // server: with no DRC every such duplicate executes
      assert.equal(r.counters.executedScribbled, r.counters.scribbledOnWire, witnesses(r));
      // disk: corrupt blocks, each inside an executed WRITE whose payload was not the pattern (the journal)
      assert.ok(r.counters.corruptBlocks > 0, witnesses(r));
      const w = r.witnesses as { corruptExplainedByJournal: number; deadbeefOnWire: number; timing: TimingWitness };
      assert.equal(w.corruptExplainedByJournal, r.counters.corruptBlocks, witnesses(r));
      // as in the seed's pcap, 0xdeadbeef itself went out, within a second (modelled) of write() returning; unless
      // the event loop lagged longer than the scribble stays (DEFAULTS.scribbleHold): then the late bytes
      // still in Node's queue may leave after the next refill and carry another block's counters (README "Time
      // compression": the lag is reported beside the verdict for this reason)
      const hold = parseDuration(DEFAULTS.scribbleHold) / 1000;
      // The measured lag is a lower bound within one sampling period (LAG_RESOLUTION_MS, modelled here): judged only
      // when even the longest block it allows is shorter than the hold (a CI run measured 1.92 s against the 2 s hold).
      const lagBound = w.timing.lagModelS.max + LAG_RESOLUTION_MS / 1000 / DEFAULTS.timeScale;
      if (lagBound < hold) assert.ok(w.deadbeefOnWire > 0, witnesses(r));
      else t.diagnostic(`event-loop lag up to ${lagBound.toFixed(2)} s modelled >= the ${hold} s scribble hold: deadbeefOnWire ${w.deadbeefOnWire} not judged`);
      assert.ok(w.timing.stallsToReproduce !== undefined && w.timing.stallsToReproduce <= DEFAULTS.maxStalls, witnesses(r));
      assert.ok(w.timing.lateAfterCompleteS!.max < 1, witnesses(r));
      assert.ok(r.summary.some((l) => l.startsWith('late transmissions left ')), r.summary.join('\n'));
      assert.ok(r.timeline.rows.length > 0 && r.timeline.stalls.length > 0);
  });
});

for (const policy of ['copy-on-retransmit', 'cancel-on-reply', 'wait-for-wire', 'copy-always'] as const) {
  test(`${policy} closes it: not reproduced, no scribbled byte on the wire or on disk`, async () => {
    const r = await repro({ ...FAST, policy, drc: 'off', seed: 1 });
    assert.equal(r.verdict, 'not-reproduced', witnesses(r));
    assert.equal(r.counters.lateTransmissions, 0);
    assert.equal(r.counters.scribbledOnWire, 0);
    assert.equal(r.counters.corruptBlocks, 0);
    // the scenario really happened: the stall made the client retransmit
    assert.ok(r.counters.retransmissions > 0, witnesses(r));
    assert.match(r.summary[0], /^not reproduced — \d+ retransmissions/);
  });
}

// linux-2008's verdict within the budget is the socket race above (README "How often"); the seeded parts are not.
test('same seed and config give the same verdict (no-cancel, where no race decides it)', async () => {
  const [a, b] = [await repro({ ...FAST, policy: 'no-cancel', drc: 'off', seed: 1 }), await repro({ ...FAST, policy: 'no-cancel', drc: 'off', seed: 1 })];
  assert.equal(b.verdict, a.verdict, `${witnesses(a)} vs ${witnesses(b)}`);
});
