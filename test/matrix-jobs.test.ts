// `matrix --jobs N`: cells run in N worker threads at once. Running concurrently must not change what a cell finds:
// each cell keeps its own sockets, folder, server, proxy and trace (diagnostics_channel subscribers are per thread),
// the parent alone writes the results database, and the records come back in table order.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CellQueue, defaultJobs, matrixCells, runMatrix, type MatrixOptions } from '../lab/matrix';
import { POLICIES } from '../client/policies';
import { DRC_MODES } from '../lab/repro-options';
import { openResults } from '../lab/results-db';
import { SCENARIOS } from '../lab/scenarios';
import type { RunRecord } from '../lab/run-record';
import { runCli } from './support/cli';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-matrix-jobs-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

// A sub-matrix whose verdicts the README explains without timing: no-cancel corrupts behind the seed's stall,
// copy-always never does, and a dropped reply alone never corrupts.
const SUB: Pick<MatrixOptions, 'policies' | 'drcs' | 'scenarios' | 'baseSeed'> = {
  policies: ['no-cancel', 'copy-always'],
  drcs: ['off'],
  scenarios: ['stall', 'drop-reply'],
  baseSeed: 3,
};

const key = (r: RunRecord) => `${r.config.scenario} ${r.config.policy} ${r.config.drc} s${r.config.seed}`;
/** The run's client timeouts that no fault explains (lab/witnesses.ts): the machine's retransmissions. */
const machineTimeouts = (r: RunRecord) => Number(r.witnesses?.unexplainedTimeouts ?? 0);
const witnesses = (r: RunRecord) => JSON.stringify({ cell: key(r), verdict: r.verdict, ...r.counters, machineTimeouts: machineTimeouts(r), error: r.error });

/** The policy named by every client trace event a run recorded (its trace.jsonl). */
function tracePolicies(r: RunRecord): Set<string> {
  const file = (r.traceSummary as { trace: string }).trace;
  return new Set(fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { policy: string }).policy));
}

describe('matrixCells', () => {
  test('lists every combination in table order: scenario, policy, DRC mode, then repeats with consecutive seeds', () => {
    const cells = matrixCells({ policies: ['no-cancel', 'copy-always'], drcs: ['off', 'xid'], scenarios: ['stall', 'drop-reply'], repeat: 2, baseSeed: 5 });
    assert.equal(cells.length, 16);
    assert.deepEqual(cells.slice(0, 5), [
      { scenario: 'stall', policy: 'no-cancel', drc: 'off', client: 'testbed', server: 'testbed', seed: 5 },
      { scenario: 'stall', policy: 'no-cancel', drc: 'off', client: 'testbed', server: 'testbed', seed: 6 },
      { scenario: 'stall', policy: 'no-cancel', drc: 'xid', client: 'testbed', server: 'testbed', seed: 5 },
      { scenario: 'stall', policy: 'no-cancel', drc: 'xid', client: 'testbed', server: 'testbed', seed: 6 },
      { scenario: 'stall', policy: 'copy-always', drc: 'off', client: 'testbed', server: 'testbed', seed: 5 },
    ]);
    assert.deepEqual(cells[8], { scenario: 'drop-reply', policy: 'no-cancel', drc: 'off', client: 'testbed', server: 'testbed', seed: 5 });
  });

  test('the linux axes: one column for the kernel client (no policy axis), one row for nfsd (no DRC axis), never stall-restart', () => {
    const cells = matrixCells({ policies: ['no-cancel', 'copy-always'], drcs: ['off', 'xid'], scenarios: ['stall', 'stall-restart'], clients: ['testbed', 'linux'], servers: ['testbed', 'linux'] });
    const names = cells.map((c) => `${c.scenario} ${c.client === 'linux' ? 'linux' : c.policy} ${c.server === 'linux' ? 'linux-nfsd' : c.drc}`);
    assert.deepEqual(names.filter((n) => n.startsWith('stall ')), [
      'stall no-cancel off', 'stall no-cancel xid', 'stall no-cancel linux-nfsd',
      'stall copy-always off', 'stall copy-always xid', 'stall copy-always linux-nfsd',
      'stall linux off', 'stall linux xid', 'stall linux linux-nfsd',
    ]);
    assert.deepEqual(names.filter((n) => n.startsWith('stall-restart ')), ['stall-restart no-cancel off', 'stall-restart no-cancel xid', 'stall-restart copy-always off', 'stall-restart copy-always xid']);
    assert.ok(cells.filter((c) => c.client === 'linux' || c.server === 'linux').every((c) => CellQueue.cpuBound(c)), 'guest cells run one at a time');
  });

  test('the full matrix is every policy x DRC mode x scenario of the source tables, each once', () => {
    const cells = matrixCells({}).map((c) => `${c.scenario} ${c.policy} ${c.drc}`);
    const want = Object.keys(SCENARIOS).flatMap((s) => Object.keys(POLICIES).flatMap((p) => DRC_MODES.map((d) => `${s} ${p} ${d}`)));
    assert.deepEqual(cells, want);
  });
});

describe('CellQueue', () => {
  const cells = matrixCells({ policies: ['no-cancel', 'copy-always'], drcs: ['off'], scenarios: ['stall', 'drop-reply'] });
  const name = (i: number | undefined) => (i === undefined ? 'wait' : `${cells[i].scenario}/${cells[i].policy}`);

  test('a scenario that relays flat out is CPU-bound; stalls are not', () => {
    assert.deepEqual(Object.entries(SCENARIOS).filter(([, s]) => s.cpuBound).map(([n]) => n), ['drop-reply']);
  });

  test('starts one CPU-bound (drop-reply) cell as early as it can, never two at once', () => {
    const q = new CellQueue(cells);
    const a = q.take();
    const b = q.take();
    const c = q.take();
    assert.deepEqual([a, b, c].map(name), ['drop-reply/no-cancel', 'stall/no-cancel', 'stall/copy-always']);
    // only the second drop-reply cell is left, and the first still runs: the slot waits
    assert.equal(q.take(), undefined);
    assert.equal(q.drained, false);
    q.done(a!);
    assert.equal(name(q.take()), 'drop-reply/copy-always');
    assert.equal(q.drained, true);
    assert.equal(q.take(), undefined);
  });

  test('hands out every cell exactly once', () => {
    const all = matrixCells({});
    const q = new CellQueue(all);
    const seen: number[] = [];
    const running: number[] = [];
    while (!q.drained) {
      const i = q.take();
      if (i === undefined) q.done(running.shift()!);
      else {
        seen.push(i);
        running.push(i);
        if (running.length === 4) q.done(running.shift()!);
      }
    }
    assert.deepEqual([...seen].sort((x, y) => x - y), all.map((_, i) => i));
  });
});

test('defaultJobs runs two cells per core, at most 4', () => {
  assert.equal(defaultJobs(1), 2);
  assert.equal(defaultJobs(2), 4);
  assert.equal(defaultJobs(64), 4);
  assert.ok(defaultJobs() >= 1);
});

test('jobs must be a whole number of at least 1', async () => {
  for (const jobs of [0, -1, 1.5]) {
    await assert.rejects(runMatrix({ ...SUB, outRoot: root, matrixId: `bad-${jobs}`, jobs }), (e: { code?: string }) => e.code === 'BAD_JOBS');
  }
});

test('--jobs 2 gives the same verdicts as one cell after the other, each cell with its own trace', async () => {
  const runs: Record<string, RunRecord[]> = {};
  for (const jobs of [1, 2]) {
    const db = openResults(':memory:');
    const seen: number[] = [];
    const matrixId = `jobs-${jobs}`;
    try {
      runs[jobs] = await runMatrix({ ...SUB, outRoot: root, matrixId, db, jobs, onRun: (_r, i) => seen.push(i) });
      assert.deepEqual(seen, [1, 2, 3, 4], 'onRun counts finished cells');
      // the parent stored every cell, under distinct run ids
      const stored = db.listRuns({ matrixId });
      assert.equal(stored.length, 4);
      assert.equal(new Set(stored.map((s) => s.runId)).size, 4);
      assert.equal(db.matrixSummary(matrixId)?.cells.length, 4);
    } finally {
      db.close();
    }
  }
  const cells = matrixCells(SUB).map((c) => `${c.scenario} ${c.policy} ${c.drc} s${c.seed}`);
  for (const jobs of [1, 2]) {
    // records in table order whatever order the cells finished in
    assert.deepEqual(runs[jobs].map(key), cells);
    for (const r of runs[jobs]) {
      assert.notEqual(r.verdict, 'error', witnesses(r));
      // the cell's trace holds its own client's events only
      assert.deepEqual([...tracePolicies(r)], [r.config.policy], witnesses(r));
      assert.ok(r.capture && fs.existsSync(r.capture), witnesses(r));
      // Issue 21: a run id is one URL segment; the config says what the proxy ran (no stall in a drop-reply run).
      assert.equal(r.runId, `${r.matrixId}.${r.config.scenario}-${r.config.policy}-${r.config.drc}-s${r.config.seed}`);
      const faults = (r.config.faults as Array<{ kind: string }>).map((f) => f.kind);
      if (r.config.scenario === 'drop-reply') {
        assert.deepEqual(faults, ['drop-reply']);
        assert.equal(r.config.stall, undefined);
      } else {
        assert.deepEqual(faults, ['stall']);
        assert.deepEqual(r.config.stall, { duration: '65s', every: 1000, unit: 'packets', resume: 'together' });
      }
    }
  }
  // Both runs give every cell the scenario's verdict, unless the cell's client timed out with no fault holding the
  // reply: then the machine (this loaded host, the other test files) retransmitted, not the scenario, and the
  // run says so (README "The matrix": a drop-reply x no-cancel cell can then reproduce). Such a cell is reported.
  const expected = ['reproduced', 'not-reproduced', 'not-reproduced', 'not-reproduced'];
  for (const jobs of [1, 2]) {
    runs[jobs].forEach((r, i) => {
      if (machineTimeouts(r) === 0) assert.equal(r.verdict, expected[i], `jobs ${jobs}: ${witnesses(r)}`);
      else if (r.verdict !== expected[i]) console.log(`# jobs ${jobs}: ${key(r)} ${r.verdict} after ${machineTimeouts(r)} timeouts no fault explains`);
      // what does not depend on timing holds in every run: copy-always never sends reused memory, a stall makes no-cancel corrupt
      if (r.config.policy === 'copy-always') assert.equal(r.counters.scribbledOnWire + r.counters.lateTransmissions, 0, witnesses(r));
      if (r.config.scenario === 'stall' && r.config.policy === 'no-cancel') assert.equal(r.verdict, 'reproduced', witnesses(r));
      if (r.verdict === 'reproduced') assert.ok(r.counters.lateTransmissions > 0, witnesses(r));
    });
  }
});

describe('nfs-testbed matrix', () => {
  const cli = (...args: string[]) => runCli(['matrix', ...args], { cwd: root });

  test('--jobs 2 --json prints one document covering every cell asked for', () => {
    const db = path.join(root, 'cli.sqlite');
    const r = cli('--jobs', '2', '--policies', 'no-cancel,copy-always', '--drcs', 'off', '--scenarios', 'drop-reply', '--json', '--db', db, '--out', path.join(root, 'cli-runs'));
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as { matrixId: string; runs: number; summary: { cells: Array<{ policy: string; verdict: string }> } };
    assert.equal(doc.runs, 2);
    assert.deepEqual(doc.summary.cells.map((c) => c.policy).sort(), ['copy-always', 'no-cancel']);
    // A dropped reply alone never corrupts, unless the machine retransmitted (see the test above).
    const results = openResults(db);
    try {
      for (const run of results.listRuns({ matrixId: doc.matrixId })) {
        const rec = results.getRun(run.runId)!;
        if (machineTimeouts(rec) === 0) assert.equal(rec.verdict, 'not-reproduced', witnesses(rec));
      }
    } finally {
      results.close();
    }
  });

  test('a bad --jobs is a usage error', () => {
    for (const bad of ['0', 'two', '1.5']) {
      const r = cli('--jobs', bad, '--scenarios', 'drop-reply', '--db', path.join(root, 'bad.sqlite'), '--out', path.join(root, 'bad-runs'));
      assert.equal(r.code, 2, `--jobs ${bad}: ${r.err}`);
    }
  });
});
