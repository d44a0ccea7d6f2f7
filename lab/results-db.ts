// The results database: every reproduction run as one row, queryable with plain sqlite3 (docs/results-schema.md).
// better-sqlite3, WAL (a dashboard reads while `matrix` writes), statements prepared once, schema versioned by
// PRAGMA user_version with forward-only migrations.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { TestbedError } from '../core/errors';
import { median } from '../core/stats';
import { POLICY_NAMES } from '../client/policies';
import { DRC_MODES } from './repro-options';
import type { RunConfig, RunCounters, RunError, RunRecord, Timeline, Verdict } from './run-record';
import type { TimingWitness } from './witnesses';
import { SCENARIO_NAMES } from './scenarios';

export const VERDICTS: readonly Verdict[] = ['reproduced', 'not-reproduced', 'error'];

/**
 * Matrix axes in the order of their source tables (the policy, DRC mode and scenario vocabularies); values a table
 * no longer lists (an older run) sort after these, alphabetically.
 */
export const AXIS_ORDER = {
  policy: POLICY_NAMES,
  drc: DRC_MODES,
  scenario: SCENARIO_NAMES,
} as const;

/**
 * Forward migrations: MIGRATIONS[i] takes the schema from user_version i to i + 1. Append, never edit a
 * released entry; docs/results-schema.md describes the newest version.
 */
const MIGRATIONS: readonly string[] = [
  // 0 -> 1: the runs table.
  `CREATE TABLE runs (
     run_id             TEXT PRIMARY KEY,
     matrix_id          TEXT,
     started_at         TEXT NOT NULL,
     duration_ms        REAL NOT NULL,
     version            TEXT NOT NULL,
     policy             TEXT NOT NULL,
     drc                TEXT NOT NULL,
     scenario           TEXT NOT NULL,
     seed               INTEGER NOT NULL,
     time_scale         REAL NOT NULL,
     verdict            TEXT NOT NULL CHECK (verdict IN ('reproduced', 'not-reproduced', 'error')),
     writes             INTEGER NOT NULL,
     bytes              INTEGER NOT NULL,
     retransmissions    INTEGER NOT NULL,
     late_transmissions INTEGER NOT NULL,
     partial_duplicates INTEGER NOT NULL,
     scribbled_on_wire  INTEGER NOT NULL,
     executed_scribbled INTEGER NOT NULL,
     corrupt_blocks     INTEGER NOT NULL,
     throughput_mibps   REAL NOT NULL,
     capture            TEXT,
     error              TEXT,
     config_json        TEXT NOT NULL,
     summary_json       TEXT NOT NULL,
     netem_events_json  TEXT NOT NULL,
     trace_summary_json TEXT,
     findings_json      TEXT,
     timeline_json      TEXT NOT NULL,
     extra_json         TEXT NOT NULL DEFAULT '{}'
   );
   CREATE INDEX runs_by_matrix ON runs (matrix_id, policy, drc, scenario);
   CREATE INDEX runs_by_started ON runs (started_at);`,
  // 1 -> 2: a failed run's error code (the message stays in `error`).
  `ALTER TABLE runs ADD COLUMN error_code TEXT;`,
  // 2 -> 3: matrix run ids without '/' (lab/run-record.ts matrixRunId; an id that is taken already keeps its old
  // form, which getRun still reads), and drop-reply runs no longer claim the stall schedule they never ran.
  `UPDATE OR IGNORE runs SET run_id = replace(run_id, '/', '.') WHERE matrix_id IS NOT NULL AND instr(run_id, '/') > 0;
   UPDATE runs SET config_json = json_remove(config_json, '$.stall') WHERE scenario = 'drop-reply';`,
  // 3 -> 4: what time compression did to the run, in modelled seconds (lab/witnesses.ts timingWitness).
  `ALTER TABLE runs ADD COLUMN stalls INTEGER;
   ALTER TABLE runs ADD COLUMN stalls_to_reproduce INTEGER;
   ALTER TABLE runs ADD COLUMN late_after_complete_min_s REAL;
   ALTER TABLE runs ADD COLUMN late_after_complete_median_s REAL;
   ALTER TABLE runs ADD COLUMN late_after_complete_max_s REAL;
   ALTER TABLE runs ADD COLUMN drc_age_min_s REAL;
   ALTER TABLE runs ADD COLUMN drc_age_median_s REAL;
   ALTER TABLE runs ADD COLUMN drc_age_max_s REAL;
   ALTER TABLE runs ADD COLUMN drc_age_scribbled_median_s REAL;
   ALTER TABLE runs ADD COLUMN lag_p99_model_s REAL;`,
];

/** The code a run stored before schema 2 reads back with: its code was not kept. */
export const UNRECORDED_ERROR_CODE = 'UNRECORDED';

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Counter fields stored as columns, record field -> column. */
const COUNTER_COLUMNS = {
  writes: 'writes',
  bytes: 'bytes',
  retransmissions: 'retransmissions',
  lateTransmissions: 'late_transmissions',
  partialDuplicates: 'partial_duplicates',
  scribbledOnWire: 'scribbled_on_wire',
  executedScribbled: 'executed_scribbled',
  corruptBlocks: 'corrupt_blocks',
  throughputMiBps: 'throughput_mibps',
} as const satisfies Record<keyof RunCounters, string>;
/** A run's timing (record.witnesses.timing) in columns of its own, so queries and the matrix can use them. */
export interface RunTiming {
  stalls: number | null;
  stallsToReproduce: number | null;
  lateAfterCompleteMinS: number | null;
  lateAfterCompleteMedianS: number | null;
  lateAfterCompleteMaxS: number | null;
  drcAgeMinS: number | null;
  drcAgeMedianS: number | null;
  drcAgeMaxS: number | null;
  drcAgeScribbledMedianS: number | null;
  lagP99ModelS: number | null;
}

const TIMING_COLUMNS: { readonly [K in keyof RunTiming]: string } = {
  stalls: 'stalls',
  stallsToReproduce: 'stalls_to_reproduce',
  lateAfterCompleteMinS: 'late_after_complete_min_s',
  lateAfterCompleteMedianS: 'late_after_complete_median_s',
  lateAfterCompleteMaxS: 'late_after_complete_max_s',
  drcAgeMinS: 'drc_age_min_s',
  drcAgeMedianS: 'drc_age_median_s',
  drcAgeMaxS: 'drc_age_max_s',
  drcAgeScribbledMedianS: 'drc_age_scribbled_median_s',
  lagP99ModelS: 'lag_p99_model_s',
};
const TIMING_KEYS = Object.keys(TIMING_COLUMNS) as Array<keyof RunTiming>;

function timingOf(rec: RunRecord): RunTiming {
  const t = rec.witnesses?.timing as TimingWitness | undefined;
  return {
    stalls: t?.stalls ?? null,
    stallsToReproduce: t?.stallsToReproduce ?? null,
    lateAfterCompleteMinS: t?.lateAfterCompleteS?.min ?? null,
    lateAfterCompleteMedianS: t?.lateAfterCompleteS?.median ?? null,
    lateAfterCompleteMaxS: t?.lateAfterCompleteS?.max ?? null,
    drcAgeMinS: t?.drcAgeS?.min ?? null,
    drcAgeMedianS: t?.drcAgeS?.median ?? null,
    drcAgeMaxS: t?.drcAgeS?.max ?? null,
    drcAgeScribbledMedianS: t?.drcAgeScribbledS?.median ?? null,
    lagP99ModelS: t?.lagModelS.p99 ?? null,
  };
}

type CounterKey = keyof typeof COUNTER_COLUMNS;
const COUNTER_KEYS = Object.keys(COUNTER_COLUMNS) as CounterKey[];

/** RunRecord fields that have their own column(s); anything else a newer writer adds goes to extra_json. */
const RECORD_KEYS = new Set([
  'runId', 'matrixId', 'startedAt', 'durationMs', 'version', 'config', 'verdict', 'counters', 'summary',
  'capture', 'netemEvents', 'traceSummary', 'findings', 'timeline', 'error',
]);

export interface OpenOptions {
  /** Refuse to create a new database (for readers such as `runs` and `dashboard`): RESULTS_DB_MISSING. */
  mustExist?: boolean;
}

export interface RunFilter {
  /** default 50, at most 10000 */
  limit?: number;
  offset?: number;
  matrixId?: string;
  policy?: string;
  drc?: string;
  scenario?: string;
  verdict?: Verdict;
}

/** A run without its bulky JSON parts (what lists show). */
export interface RunSummary {
  runId: string;
  matrixId?: string;
  startedAt: string;
  durationMs: number;
  version: string;
  policy: string;
  drc: string;
  scenario: string;
  seed: number;
  timeScale: number;
  verdict: Verdict;
  counters: RunCounters;
  capture?: string;
  error?: RunError;
  timing: RunTiming;
}

export interface MatrixInfo {
  matrixId: string;
  runs: number;
  reproduced: number;
  firstStartedAt: string;
  lastStartedAt: string;
}

/** Sums over a cell's repeats of the integer counters. */
export type CounterSums = Omit<RunCounters, 'throughputMiBps'>;

export interface MatrixCell {
  policy: string;
  drc: string;
  scenario: string;
  repeats: number;
  /** how many repeats ended with each verdict */
  verdicts: Record<Verdict, number>;
  /** the repeats' common verdict, or 'mixed' when they disagree */
  verdict: Verdict | 'mixed';
  sums: CounterSums;
  /** medians over repeats of every counter, throughput and duration */
  medians: RunCounters & { durationMs: number };
  /**
   * Modelled seconds over the repeats: DRC age (least of the runs' least, median of their medians, largest of
   * their largest), late transmissions after completion likewise, and the worst p99 event-loop lag.
   */
  timing: { drcAgeS?: { min: number; median: number; max: number }; lateAfterCompleteS?: { min: number; median: number; max: number }; lagP99ModelS?: number; stallsToReproduce?: number };
  seeds: number[];
  runIds: string[];
}

export interface MatrixSummary {
  matrixId: string;
  runs: number;
  /** the axes' values present, in AXIS_ORDER */
  policies: string[];
  drcs: string[];
  scenarios: string[];
  cells: MatrixCell[];
}

export interface ResultsDb {
  readonly path: string;
  readonly schemaVersion: number;
  /** Stores a run; saving a runId again replaces the earlier row. */
  saveRun(rec: RunRecord): void;
  /** The record exactly as saved, or undefined. */
  getRun(runId: string): RunRecord | undefined;
  /** Newest first. */
  listRuns(filter?: RunFilter): RunSummary[];
  /** Newest first. */
  listMatrices(limit?: number): MatrixInfo[];
  /** undefined when no run carries this matrixId. */
  matrixSummary(matrixId: string): MatrixSummary | undefined;
  close(): void;
}

interface RunRow {
  run_id: string;
  matrix_id: string | null;
  started_at: string;
  duration_ms: number;
  version: string;
  policy: string;
  drc: string;
  scenario: string;
  seed: number;
  time_scale: number;
  verdict: Verdict;
  writes: number;
  bytes: number;
  retransmissions: number;
  late_transmissions: number;
  partial_duplicates: number;
  scribbled_on_wire: number;
  executed_scribbled: number;
  corrupt_blocks: number;
  throughput_mibps: number;
  capture: string | null;
  error: string | null;
  error_code: string | null;
  config_json?: string;
  summary_json?: string;
  netem_events_json?: string;
  trace_summary_json?: string | null;
  findings_json?: string | null;
  timeline_json?: string;
  extra_json?: string;
}

const SUMMARY_COLUMNS = `run_id, matrix_id, started_at, duration_ms, version, policy, drc, scenario, seed, time_scale, verdict,
  ${COUNTER_KEYS.map((k) => COUNTER_COLUMNS[k]).join(', ')}, capture, error, error_code, ${TIMING_KEYS.map((k) => TIMING_COLUMNS[k]).join(', ')}`;

const MAX_LIMIT = 10_000;

/**
 * Opens (creating unless opts.mustExist) the results database at `file`, or ':memory:', and migrates it to
 * SCHEMA_VERSION. A database written by a newer testbed (user_version > SCHEMA_VERSION) is refused with
 * RESULTS_SCHEMA_TOO_NEW rather than misread.
 */
export function openResults(file: string, opts: OpenOptions = {}): ResultsDb {
  const memory = file === ':memory:';
  if (!memory) {
    if (opts.mustExist && !fs.existsSync(file)) {
      throw new TestbedError('RESULTS_DB_MISSING', `no results database at ${file} (runs are stored there by \`nfs-testbed repro\` and \`matrix\`)`, { path: file });
    }
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  }
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: !memory && !!opts.mustExist });
  } catch (err) {
    throw new TestbedError('RESULTS_DB_OPEN', `cannot open results database ${file}: ${(err as Error).message}`, { path: file });
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!memory) enterWal(db);
    migrate(db, file);
  } catch (err) {
    db.close();
    throw err;
  }
  return bind(db, file);
}

/** How long a connection waits on another's lock (SQLite's busy handler), and on the switch to WAL below. */
const BUSY_TIMEOUT_MS = 5000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Switches a file database to WAL, retrying while another connection holds it. The switch needs the file's exclusive
 * lock, and SQLite answers SQLITE_BUSY at once, without its busy handler, when waiting could deadlock: two
 * connections that both hold the file's read lock each want to promote it (sqlite3_busy_handler's documentation).
 * Parallel matrix workers opening one fresh results file did that: a CI run's test of 4 such processes failed
 * with "database is locked", and 1 process of 780 in 130 rounds of 6 (none of 1200 with the retry). Once one switch commits the file stays WAL, and the others' switch is a no-op.
 */
export function enterWal(db: Pick<Database.Database, 'pragma'>, timeoutMs = BUSY_TIMEOUT_MS): void {
  const deadline = Date.now() + timeoutMs;
  for (let waitMs = 1; ; waitMs = Math.min(2 * waitMs, 50)) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw err;
    }
    Atomics.wait(sleeper, 0, 0, waitMs); // a synchronous open: sleep the thread, not the loop's next turn
  }
}

function migrate(db: Database.Database, file: string): void {
  const version = () => db.pragma('user_version', { simple: true }) as number;
  // Each step re-reads the version inside its write transaction, so two processes opening a fresh file at
  // once (parallel matrix workers) do not both run the same step.
  const step = db.transaction(() => {
    const v = version();
    if (v > SCHEMA_VERSION) {
      throw new TestbedError(
        'RESULTS_SCHEMA_TOO_NEW',
        `${file} has results schema version ${v}; this testbed knows up to ${SCHEMA_VERSION}`,
        { path: file, found: v, known: SCHEMA_VERSION },
      );
    }
    if (v === SCHEMA_VERSION) return false;
    db.exec(MIGRATIONS[v]);
    db.pragma(`user_version = ${v + 1}`);
    return true;
  });
  while (step.immediate()) {
    /* next step */
  }
}

function bind(db: Database.Database, file: string): ResultsDb {
  const insert = db.prepare(`INSERT OR REPLACE INTO runs (
      run_id, matrix_id, started_at, duration_ms, version, policy, drc, scenario, seed, time_scale, verdict,
      ${COUNTER_KEYS.map((k) => COUNTER_COLUMNS[k]).join(', ')},
      capture, error, error_code, config_json, summary_json, netem_events_json, trace_summary_json, findings_json,
      timeline_json, extra_json, ${TIMING_KEYS.map((k) => TIMING_COLUMNS[k]).join(', ')})
    VALUES (
      @runId, @matrixId, @startedAt, @durationMs, @version, @policy, @drc, @scenario, @seed, @timeScale, @verdict,
      ${COUNTER_KEYS.map((k) => '@' + k).join(', ')},
      @capture, @error, @errorCode, @config, @summary, @netemEvents, @traceSummary, @findings, @timeline, @extra,
      ${TIMING_KEYS.map((k) => '@t_' + k).join(', ')})`);
  const selectOne = db.prepare<[string], RunRow>('SELECT * FROM runs WHERE run_id = ?');
  // One statement for every combination of filters: a NULL parameter means "any".
  const selectMany = db.prepare<Record<string, unknown>, RunRow>(`SELECT ${SUMMARY_COLUMNS} FROM runs
    WHERE (@matrixId IS NULL OR matrix_id = @matrixId)
      AND (@policy IS NULL OR policy = @policy)
      AND (@drc IS NULL OR drc = @drc)
      AND (@scenario IS NULL OR scenario = @scenario)
      AND (@verdict IS NULL OR verdict = @verdict)
    ORDER BY started_at DESC, run_id DESC
    LIMIT @limit OFFSET @offset`);
  const selectMatrices = db.prepare<[number], { matrix_id: string; runs: number; reproduced: number; first: string; last: string }>(
    `SELECT matrix_id, count(*) AS runs, sum(verdict = 'reproduced') AS reproduced,
            min(started_at) AS first, max(started_at) AS last
       FROM runs WHERE matrix_id IS NOT NULL
      GROUP BY matrix_id ORDER BY last DESC LIMIT ?`,
  );
  const selectMatrixRuns = db.prepare<[string], RunRow>(
    `SELECT ${SUMMARY_COLUMNS} FROM runs WHERE matrix_id = ? ORDER BY policy, drc, scenario, seed, run_id`,
  );

  return {
    path: file,
    schemaVersion: SCHEMA_VERSION,
    saveRun(rec) {
      insert.run(toParams(rec));
    },
    getRun(runId) {
      // A matrix run id as schema 2 wrote it (matrix/cell) finds the renamed row.
      const row = selectOne.get(runId) ?? (runId.includes('/') ? selectOne.get(runId.replace('/', '.')) : undefined);
      return row && toRecord(row);
    },
    listRuns(filter = {}) {
      const limit = filter.limit ?? 50;
      const offset = filter.offset ?? 0;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
        throw new TestbedError('RESULTS_BAD_FILTER', `limit must be an integer in [1, ${MAX_LIMIT}], got ${limit}`);
      }
      if (!Number.isInteger(offset) || offset < 0) throw new TestbedError('RESULTS_BAD_FILTER', `offset must be >= 0, got ${offset}`);
      return selectMany
        .all({
          matrixId: filter.matrixId ?? null,
          policy: filter.policy ?? null,
          drc: filter.drc ?? null,
          scenario: filter.scenario ?? null,
          verdict: filter.verdict ?? null,
          limit,
          offset,
        })
        .map(toSummary);
    },
    listMatrices(limit = 100) {
      return selectMatrices.all(limit).map((r) => ({
        matrixId: r.matrix_id,
        runs: r.runs,
        reproduced: r.reproduced,
        firstStartedAt: r.first,
        lastStartedAt: r.last,
      }));
    },
    matrixSummary(matrixId) {
      const runs = selectMatrixRuns.all(matrixId).map(toSummary);
      return runs.length ? summarizeMatrix(matrixId, runs) : undefined;
    },
    close() {
      if (db.open) db.close();
    },
  };
}

function toParams(rec: RunRecord): Record<string, unknown> {
  checkRecord(rec);
  const { policy, drc, scenario, seed, timeScale } = rec.config;
  const params: Record<string, unknown> = {
    runId: rec.runId,
    matrixId: rec.matrixId ?? null,
    startedAt: rec.startedAt,
    durationMs: rec.durationMs,
    version: rec.version,
    policy,
    drc,
    scenario,
    seed,
    timeScale,
    verdict: rec.verdict,
    capture: rec.capture ?? null,
    error: rec.error?.message ?? null,
    errorCode: rec.error?.code ?? null,
    config: JSON.stringify(rec.config),
    summary: JSON.stringify(rec.summary),
    netemEvents: JSON.stringify(rec.netemEvents),
    traceSummary: rec.traceSummary === undefined ? null : JSON.stringify(rec.traceSummary),
    findings: rec.findings === undefined ? null : JSON.stringify(rec.findings),
    timeline: JSON.stringify(rec.timeline),
  };
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) if (!RECORD_KEYS.has(k) && v !== undefined) extra[k] = v;
  const extraCounters: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec.counters)) if (!(k in COUNTER_COLUMNS)) extraCounters[k] = v;
  if (Object.keys(extraCounters).length) extra.counters = extraCounters;
  params.extra = JSON.stringify(extra);
  for (const k of COUNTER_KEYS) params[k] = rec.counters[k];
  const timing = timingOf(rec);
  for (const k of TIMING_KEYS) params['t_' + k] = timing[k];
  return params;
}

/** A malformed record is the writer's bug: say which field, before SQLite says something vaguer. */
function checkRecord(rec: RunRecord): void {
  const bad = (field: string, why: string): never => {
    throw new TestbedError('RESULTS_BAD_RECORD', `run ${String(rec.runId)}: ${field} ${why}`, { runId: rec.runId, field });
  };
  if (typeof rec.runId !== 'string' || rec.runId === '') bad('runId', 'must be a non-empty string');
  if (!VERDICTS.includes(rec.verdict)) bad('verdict', `must be one of ${VERDICTS.join(', ')}`);
  for (const k of ['policy', 'drc', 'scenario'] as const) if (typeof rec.config?.[k] !== 'string') bad(`config.${k}`, 'must be a string');
  if (!Number.isSafeInteger(rec.config.seed)) bad('config.seed', 'must be an integer');
  if (!(rec.config.timeScale > 0)) bad('config.timeScale', 'must be > 0');
  for (const k of COUNTER_KEYS) if (!Number.isFinite(rec.counters?.[k])) bad(`counters.${k}`, 'must be a finite number');
  if (!Array.isArray(rec.timeline?.rows) || !Array.isArray(rec.timeline?.stalls)) bad('timeline', 'must have rows and stalls');
  if (rec.error !== undefined && (typeof rec.error?.code !== 'string' || typeof rec.error.message !== 'string')) bad('error', 'must be {code, message}');
}

function errorOf(row: RunRow): { error?: RunError } {
  return row.error === null ? {} : { error: { code: row.error_code ?? UNRECORDED_ERROR_CODE, message: row.error } };
}

function countersOf(row: RunRow): RunCounters {
  const c = {} as RunCounters;
  for (const k of COUNTER_KEYS) c[k] = row[COUNTER_COLUMNS[k]];
  return c;
}

function toSummary(row: RunRow): RunSummary {
  return {
    runId: row.run_id,
    ...(row.matrix_id !== null ? { matrixId: row.matrix_id } : {}),
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    version: row.version,
    policy: row.policy,
    drc: row.drc,
    scenario: row.scenario,
    seed: row.seed,
    timeScale: row.time_scale,
    verdict: row.verdict,
    counters: countersOf(row),
    ...(row.capture !== null ? { capture: row.capture } : {}),
    ...errorOf(row),
    timing: timingRow(row),
  };
}

function timingRow(row: RunRow): RunTiming {
  const t = {} as RunTiming;
  const r = row as unknown as Record<string, number | null | undefined>;
  for (const k of TIMING_KEYS) t[k] = r[TIMING_COLUMNS[k]] ?? null;
  return t;
}

function toRecord(row: RunRow): RunRecord {
  const extra = JSON.parse(row.extra_json ?? '{}') as Record<string, unknown> & { counters?: Record<string, unknown> };
  const { counters: extraCounters, ...extraFields } = extra;
  const rec: RunRecord = {
    ...extraFields,
    runId: row.run_id,
    ...(row.matrix_id !== null ? { matrixId: row.matrix_id } : {}),
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    version: row.version,
    config: JSON.parse(row.config_json!) as RunConfig,
    verdict: row.verdict,
    counters: { ...extraCounters, ...countersOf(row) },
    summary: JSON.parse(row.summary_json!) as string[],
    ...(row.capture !== null ? { capture: row.capture } : {}),
    netemEvents: JSON.parse(row.netem_events_json!) as unknown[],
    traceSummary: row.trace_summary_json == null ? undefined : JSON.parse(row.trace_summary_json),
    findings: row.findings_json == null ? undefined : JSON.parse(row.findings_json),
    timeline: JSON.parse(row.timeline_json!) as Timeline,
    ...errorOf(row),
  };
  if (rec.traceSummary === undefined) delete (rec as Partial<RunRecord>).traceSummary;
  if (rec.findings === undefined) delete (rec as Partial<RunRecord>).findings;
  return rec;
}

/** Orders axis values as AXIS_ORDER lists them, unknown ones after, alphabetically. */
export function axisSort(order: readonly string[], values: Iterable<string>): string[] {
  const rank = (v: string) => {
    const i = order.indexOf(v);
    return i < 0 ? order.length : i;
  };
  return [...new Set(values)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

function summarizeMatrix(matrixId: string, runs: RunSummary[]): MatrixSummary {
  const policies = axisSort(AXIS_ORDER.policy, runs.map((r) => r.policy));
  const drcs = axisSort(AXIS_ORDER.drc, runs.map((r) => r.drc));
  const scenarios = axisSort(AXIS_ORDER.scenario, runs.map((r) => r.scenario));
  const groups = new Map<string, RunSummary[]>();
  for (const r of runs) {
    const key = JSON.stringify([r.policy, r.drc, r.scenario]);
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const cells: MatrixCell[] = [];
  for (const scenario of scenarios) {
    for (const policy of policies) {
      for (const drc of drcs) {
        const g = groups.get(JSON.stringify([policy, drc, scenario]));
        if (g) cells.push(summarizeCell(policy, drc, scenario, g));
      }
    }
  }
  return { matrixId, runs: runs.length, policies, drcs, scenarios, cells };
}

function summarizeCell(policy: string, drc: string, scenario: string, runs: RunSummary[]): MatrixCell {
  const verdicts: Record<Verdict, number> = { reproduced: 0, 'not-reproduced': 0, error: 0 };
  for (const r of runs) verdicts[r.verdict]++;
  const agreed = VERDICTS.filter((v) => verdicts[v] > 0);
  const sums = {} as CounterSums;
  const medians = {} as RunCounters & { durationMs: number };
  for (const k of COUNTER_KEYS) {
    const xs = runs.map((r) => r.counters[k]);
    if (k !== 'throughputMiBps') sums[k] = xs.reduce((a, b) => a + b, 0);
    medians[k] = median(xs);
  }
  medians.durationMs = median(runs.map((r) => r.durationMs));
  const xs = (k: keyof RunTiming) => runs.map((r) => r.timing[k]).filter((v): v is number => v !== null);
  const range = (lo: keyof RunTiming, mid: keyof RunTiming, hi: keyof RunTiming) =>
    xs(mid).length ? { min: Math.min(...xs(lo)), median: median(xs(mid)), max: Math.max(...xs(hi)) } : undefined;
  const timing: MatrixCell['timing'] = {};
  const age = range('drcAgeMinS', 'drcAgeMedianS', 'drcAgeMaxS');
  if (age) timing.drcAgeS = age;
  const late = range('lateAfterCompleteMinS', 'lateAfterCompleteMedianS', 'lateAfterCompleteMaxS');
  if (late) timing.lateAfterCompleteS = late;
  if (xs('lagP99ModelS').length) timing.lagP99ModelS = Math.max(...xs('lagP99ModelS'));
  if (xs('stallsToReproduce').length) timing.stallsToReproduce = median(xs('stallsToReproduce'));
  return {
    policy,
    drc,
    scenario,
    repeats: runs.length,
    verdicts,
    verdict: agreed.length === 1 ? agreed[0] : 'mixed',
    sums,
    medians,
    seeds: runs.map((r) => r.seed),
    runIds: runs.map((r) => r.runId),
    timing,
  };
}
