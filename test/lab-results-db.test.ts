// The results database: records round-trip exactly, filters and matrix summaries aggregate as documented, the
// schema is versioned, and every example query in docs/results-schema.md runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { enterWal, openResults, SCHEMA_VERSION, UNRECORDED_ERROR_CODE } from '../lab/results-db';
import type { RunRecord } from '../lab/run-record';
import { makeRecord } from './support/lab-records';

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-testbed-results-'));

function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => (err as { code?: string }).code === code);
}

test('a saved run reads back exactly, optional fields and extensions included', () => {
  const db = openResults(':memory:');
  try {
    const rec = makeRecord({ runId: 'r1', matrixId: 'm1', error: undefined });
    delete rec.error;
    db.saveRun(rec);
    assert.deepEqual(db.getRun('r1'), rec);

    // A newer writer's extra fields (top level and counters) survive without a schema change.
    const extended = { ...makeRecord({ runId: 'r2' }), hostname: 'lab1' } as RunRecord & { hostname: string };
    (extended.counters as unknown as Record<string, number>).droppedReplies = 2;
    delete extended.capture;
    delete (extended as Partial<RunRecord>).findings;
    db.saveRun(extended);
    assert.deepEqual(db.getRun('r2'), extended);

    assert.equal(db.getRun('nope'), undefined);
  } finally {
    db.close();
  }
});

test('saving a run id again replaces the row', () => {
  const db = openResults(':memory:');
  try {
    const failed = makeRecord({ runId: 'r1', verdict: 'error', error: { code: 'PORT_IN_USE', message: 'server did not start' } });
    db.saveRun(failed);
    assert.deepEqual(db.getRun('r1')?.error, failed.error, 'the code is kept with the message');
    assert.deepEqual(db.listRuns()[0].error, failed.error);
    db.saveRun(makeRecord({ runId: 'r1', verdict: 'reproduced' }));
    const runs = db.listRuns();
    assert.equal(runs.length, 1);
    assert.equal(runs[0].verdict, 'reproduced');
    assert.equal(runs[0].error, undefined);
  } finally {
    db.close();
  }
});

test('listRuns is newest first and filters by matrix, axes and verdict', () => {
  const db = openResults(':memory:');
  try {
    db.saveRun(makeRecord({ runId: 'a', startedAt: '2026-11-21T10:00:00.000Z' }));
    db.saveRun(makeRecord({ runId: 'b', startedAt: '2026-11-21T11:00:00.000Z', matrixId: 'm', verdict: 'not-reproduced' }, { policy: 'copy-always' }));
    db.saveRun(makeRecord({ runId: 'c', startedAt: '2026-11-21T12:00:00.000Z', matrixId: 'm' }, { drc: 'xid', scenario: 'drop-reply' }));
    assert.deepEqual(db.listRuns().map((r) => r.runId), ['c', 'b', 'a']);
    assert.deepEqual(db.listRuns({ limit: 2 }).map((r) => r.runId), ['c', 'b']);
    assert.deepEqual(db.listRuns({ limit: 2, offset: 2 }).map((r) => r.runId), ['a']);
    assert.deepEqual(db.listRuns({ matrixId: 'm' }).map((r) => r.runId), ['c', 'b']);
    assert.deepEqual(db.listRuns({ policy: 'copy-always' }).map((r) => r.runId), ['b']);
    assert.deepEqual(db.listRuns({ drc: 'xid', scenario: 'drop-reply' }).map((r) => r.runId), ['c']);
    assert.deepEqual(db.listRuns({ verdict: 'reproduced' }).map((r) => r.runId), ['c', 'a']);
    assert.deepEqual(db.listRuns({ matrixId: 'other' }), []);

    const [c] = db.listRuns({ limit: 1 });
    assert.equal(c.matrixId, 'm');
    assert.equal(c.counters.lateTransmissions, 3);
    assert.equal(c.timeScale, 0.001);
    assertCode(() => db.listRuns({ limit: 0 }), 'RESULTS_BAD_FILTER');

    assert.deepEqual(
      db.listMatrices().map((m) => [m.matrixId, m.runs, m.reproduced]),
      [['m', 2, 1]],
    );
  } finally {
    db.close();
  }
});

test('matrixSummary aggregates repeats per (policy, drc, scenario) in the matrix order', () => {
  const db = openResults(':memory:');
  try {
    const cell = (runId: string, seed: number, policy: string, drc: string, verdict: RunRecord['verdict'], late: number, mibps: number) => {
      const rec = makeRecord({ runId, matrixId: 'm7', verdict }, { policy, drc, seed });
      rec.counters.lateTransmissions = late;
      rec.counters.throughputMiBps = mibps;
      rec.durationMs = 100 * seed;
      db.saveRun(rec);
    };
    cell('z1', 1, 'linux-2008', 'off', 'reproduced', 3, 10);
    cell('z2', 2, 'linux-2008', 'off', 'reproduced', 5, 30);
    cell('z3', 3, 'linux-2008', 'off', 'reproduced', 4, 20);
    cell('x1', 1, 'linux-2008', 'xid', 'reproduced', 2, 50);
    cell('x2', 2, 'linux-2008', 'xid', 'not-reproduced', 0, 70);
    cell('c1', 1, 'copy-always', 'off', 'not-reproduced', 0, 40);
    cell('other', 1, 'linux-2008', 'off', 'reproduced', 9, 9);
    db.saveRun(makeRecord({ runId: 'outside' }));
    // Not part of m7:
    db.saveRun({ ...makeRecord({ runId: 'elsewhere', matrixId: 'm8' }) });

    const m = db.matrixSummary('m7')!;
    assert.equal(m.runs, 7);
    assert.deepEqual(m.policies, ['linux-2008', 'copy-always']); // AXIS_ORDER, not alphabetical
    assert.deepEqual(m.drcs, ['off', 'xid']);
    assert.deepEqual(m.scenarios, ['stall']);
    assert.deepEqual(m.cells.map((c) => [c.policy, c.drc, c.repeats]), [
      ['linux-2008', 'off', 4],
      ['linux-2008', 'xid', 2],
      ['copy-always', 'off', 1],
    ]);
    const [zo, zx, co] = m.cells;
    assert.equal(zo.verdict, 'reproduced');
    assert.deepEqual(zo.verdicts, { reproduced: 4, 'not-reproduced': 0, error: 0 });
    assert.equal(zo.sums.lateTransmissions, 3 + 5 + 4 + 9);
    assert.equal(zo.medians.lateTransmissions, 4.5);
    assert.equal(zo.medians.throughputMiBps, 15);
    assert.equal(zo.medians.durationMs, 150); // 100, 100, 200, 300
    assert.deepEqual([...zo.runIds].sort(), ['other', 'z1', 'z2', 'z3']);
    assert.equal(zx.verdict, 'mixed');
    assert.deepEqual(zx.seeds, [1, 2]);
    assert.equal(co.verdict, 'not-reproduced');
    assert.equal(co.sums.corruptBlocks, 0);

    assert.equal(db.matrixSummary('absent'), undefined);
  } finally {
    db.close();
  }
});

test('malformed records are refused with RESULTS_BAD_RECORD', () => {
  const db = openResults(':memory:');
  try {
    assertCode(() => db.saveRun(makeRecord({ runId: 'v', verdict: 'maybe' as RunRecord['verdict'] })), 'RESULTS_BAD_RECORD');
    const noCounter = makeRecord({ runId: 'n' });
    (noCounter.counters as unknown as Record<string, unknown>).corruptBlocks = undefined;
    assertCode(() => db.saveRun(noCounter), 'RESULTS_BAD_RECORD');
    assertCode(() => db.saveRun(makeRecord({ runId: 's' }, { seed: 1.5 })), 'RESULTS_BAD_RECORD');
    assertCode(() => db.saveRun(makeRecord({ runId: '' })), 'RESULTS_BAD_RECORD');
    assert.deepEqual(db.listRuns(), []);
  } finally {
    db.close();
  }
});

test('a file database is WAL, at the current schema version, and reopens with its runs', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'sub', 'results.sqlite');
  try {
    const db = openResults(file);
    db.saveRun(makeRecord({ runId: 'kept' }));
    assert.equal(db.schemaVersion, SCHEMA_VERSION);
    db.close();

    const raw = new Database(file, { readonly: true });
    assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(raw.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    raw.close();

    const again = openResults(file, { mustExist: true });
    assert.deepEqual(again.listRuns().map((r) => r.runId), ['kept']);
    again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Back to a version 3 table: without the timing columns migration 3 -> 4 adds. */
function dropVersion4Columns(raw: Database.Database): void {
  for (const c of ['stalls', 'stalls_to_reproduce', 'late_after_complete_min_s', 'late_after_complete_median_s', 'late_after_complete_max_s', 'drc_age_min_s', 'drc_age_median_s', 'drc_age_max_s', 'drc_age_scribbled_median_s', 'lag_p99_model_s']) {
    raw.exec(`ALTER TABLE runs DROP COLUMN ${c}`);
  }
}

test('a version 1 database migrates forward; its failed runs read back with an unrecorded code', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'v1.sqlite');
  try {
    const db = openResults(file);
    db.saveRun(makeRecord({ runId: 'old', verdict: 'error', error: { code: 'X', message: 'netem: upstream refused' } }));
    db.close();
    // Back to what a version 1 testbed wrote: no error_code column, none of version 4's timing columns.
    const raw = new Database(file);
    raw.exec('ALTER TABLE runs DROP COLUMN error_code');
    dropVersion4Columns(raw);
    raw.pragma('user_version = 1');
    raw.close();
    const again = openResults(file);
    assert.equal(again.schemaVersion, SCHEMA_VERSION);
    assert.deepEqual(again.getRun('old')?.error, { code: UNRECORDED_ERROR_CODE, message: 'netem: upstream refused' });
    again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// Issue 21: matrix run ids held '/', so a typed dashboard URL 404ed; drop-reply runs stored a stall that never ran.
test('a version 2 database migrates: matrix ids lose their slash (the old id still reads), drop-reply rows their stall', () => {
  const dir = tmpDir();
  const file = path.join(dir, 'v2.sqlite');
  try {
    const db = openResults(file);
    db.saveRun(makeRecord({ runId: 'm1/stall-zero-copy-off-s1', matrixId: 'm1' }));
    db.saveRun(makeRecord({ runId: 'm1/drop-reply-zero-copy-off-s1', matrixId: 'm1' }, { scenario: 'drop-reply' }));
    db.saveRun(makeRecord({ runId: 'solo/not-a-matrix-run' }));
    db.close();
    const raw = new Database(file);
    dropVersion4Columns(raw);
    raw.pragma('user_version = 2');
    raw.close();
    const again = openResults(file);
    assert.deepEqual(again.listRuns({ matrixId: 'm1' }).map((r) => r.runId).sort(), ['m1.drop-reply-zero-copy-off-s1', 'm1.stall-zero-copy-off-s1']);
    assert.equal(again.getRun('m1/stall-zero-copy-off-s1')?.runId, 'm1.stall-zero-copy-off-s1', 'the old form finds the renamed run');
    assert.equal(again.getRun('solo/not-a-matrix-run')?.runId, 'solo/not-a-matrix-run', 'only matrix runs are renamed');
    assert.equal(again.getRun('m1.drop-reply-zero-copy-off-s1')?.config.stall, undefined);
    assert.deepEqual(again.getRun('m1.stall-zero-copy-off-s1')?.config.stall, { duration: '65s', every: 1000, unit: 'packets', resume: 'backoff' });
    again.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('schema versions: a newer database is refused, a missing one is not created when it must exist', () => {
  const dir = tmpDir();
  try {
    const newer = path.join(dir, 'newer.sqlite');
    const raw = new Database(newer);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assertCode(() => openResults(newer), 'RESULTS_SCHEMA_TOO_NEW');

    const missing = path.join(dir, 'missing.sqlite');
    assertCode(() => openResults(missing, { mustExist: true }), 'RESULTS_DB_MISSING');
    assert.equal(fs.existsSync(missing), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every example query in docs/results-schema.md runs against a database of real-shaped runs', () => {
  const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'results-schema.md'), 'utf8');
  const queries = [...doc.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(queries.length >= 5, 'the doc has its example queries');
  const dir = tmpDir();
  const file = path.join(dir, 'results.sqlite');
  try {
    const db = openResults(file);
    db.saveRun(makeRecord({ runId: 'q1', matrixId: 'mq', startedAt: '2026-11-21T10:00:00.000Z' }));
    db.saveRun(makeRecord({ runId: 'q2', matrixId: 'mq', verdict: 'not-reproduced', startedAt: '2026-11-21T10:01:00.000Z' }, { policy: 'copy-always' }));
    db.close();
    const raw = new Database(file, { readonly: true });
    const results = queries.map((q) => raw.prepare(q).all() as Array<Record<string, unknown>>);
    raw.close();
    // Spot-check the answers against what was stored.
    assert.deepEqual(results[0].map((r) => r.run_id), ['q2', 'q1']);
    assert.equal(results[1].length, 2);
    const lates = results.find((rows) => rows.length && 'modelled_s' in rows[0])!;
    assert.deepEqual(lates.map((r) => r.run_id), ['q2', 'q2', 'q2', 'q1', 'q1', 'q1']);
    assert.deepEqual(lates.slice(0, 3).map((r) => r.modelled_s), [67.4, 67.401, 67.402]);
    const stalls = results.find((rows) => rows.length && 'stalled_s' in rows[0])!;
    assert.deepEqual(stalls.map((r) => r.stalled_s), [65.4, 65.4]);
    const harms = results.find((rows) => rows.length && 'harm' in rows[0])!;
    assert.deepEqual(harms.map((r) => [r.run_id, r.harm, r.xids]), [['q1', 'executed-scribbled', 3], ['q2', 'executed-scribbled', 3]]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the switch to WAL retries while another opener holds the lock (SQLITE_BUSY without the busy handler), and only then', () => {
  const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
  let calls = 0;
  enterWal({ pragma: ((sql: string) => {
    assert.equal(sql, 'journal_mode = WAL');
    if (++calls < 4) throw busy();
    return [{ journal_mode: 'wal' }];
  }) as never });
  assert.equal(calls, 4, 'three refusals, then the switch');
  calls = 0;
  const other = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
  assert.throws(() => enterWal({ pragma: (() => { calls++; throw other; }) as never }), (e) => e === other);
  assert.equal(calls, 1, 'any other error at once');
  const t0 = Date.now();
  assert.throws(() => enterWal({ pragma: (() => { throw busy(); }) as never }, 100), /database is locked/);
  assert.ok(Date.now() - t0 >= 100, 'busy past the timeout: the error');
});

test('processes opening one fresh file at once all migrate and save (parallel matrix workers)', async () => {
  const lib = path.join(__dirname, '..', 'lab', 'results-db.js');
  const fixture = path.join(__dirname, 'support', 'lab-records.js');
  const { spawn } = await import('node:child_process');
  // Rounds of 6 fresh openers. The race they can meet is rare (before enterWal, 1 process in 780 died of "database is
  // locked" switching to WAL); the test above pins the retry itself.
  for (let round = 0; round < 5; round++) {
    const dir = tmpDir();
    const file = path.join(dir, 'results.sqlite');
    try {
      const workers = [0, 1, 2, 3, 4, 5];
      const codes = await Promise.all(
        workers.map(
          (i) =>
            new Promise<number | null>((resolve) => {
              const script = `const {openResults}=require(${JSON.stringify(lib)});const {makeRecord}=require(${JSON.stringify(fixture)});
              const db=openResults(${JSON.stringify(file)});db.saveRun(makeRecord({runId:'w${i}'}));db.close();`;
              spawn(process.execPath, ['-e', script], { stdio: 'inherit' }).on('exit', resolve);
            }),
        ),
      );
      assert.deepEqual(codes, workers.map(() => 0), `round ${round}`);
      const db = openResults(file, { mustExist: true });
      assert.deepEqual(db.listRuns().map((r) => r.runId).sort(), workers.map((i) => `w${i}`));
      db.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
});
