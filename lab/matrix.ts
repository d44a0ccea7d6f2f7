// The policy x DRC x scenario matrix: every cell is a full reproduction run (lab/repro.ts), repeated with
// different seeds, stored in the results database under one matrix id. With jobs > 1 the cells run in that many
// worker threads (lab/matrix-worker.ts), each cell still alone on its own sockets, folder, server and proxy.
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ConfigError, TestbedError } from '../core/errors';
import { createLogger, type Level } from '../core/log';
import { POLICY_NAMES, type PolicyName } from '../client/policies';
import { DEFAULTS, DRC_MODES, MATRIX_DEFAULTS, runRepro, type DrcModeName, type PeerName, type ReproOptions, type ReproPhases } from './repro';
import { SCENARIO_NAMES, SCENARIOS, type ScenarioName } from './scenarios';
import type { CellReply, CellRequest } from './matrix-worker';
import type { ResultsDb } from './results-db';
import { matrixRunId, type RunRecord } from './run-record';

/**
 * Default --jobs: two cells per core, at most 4. A stall cell spends ~2.5 s wall but ~0.2 s CPU (it waits on
 * time-scaled stalls and timers), so one cell per core leaves the cores mostly idle: the 72 cells take 146 s at
 * --jobs 1 and 37.6 s at 4 on 2 quiet cores (CellQueue keeping the CPU-bound drop-reply cells apart). More cells
 * at once stretch every time-scaled duration by CPU contention: the cells' p99 timer lag (median) is 2.0 ms real
 * at 1, 3.1-3.6 at 4, 4.3 at 5 and 6 (README "How long it takes"). The stalls alone hold a slot ~125 s over the 72
 * cells, so 4 slots cannot finish under ~31 s (README, Benchmarks, issue 20; `npm run bench -- repro` also runs 6
 * at once for comparison).
 */
export function defaultJobs(cores = os.availableParallelism()): number {
  return Math.max(1, Math.min(4, 2 * cores));
}

export interface MatrixOptions {
  policies?: readonly PolicyName[];
  drcs?: readonly DrcModeName[];
  scenarios?: readonly ScenarioName[];
  /** client and server axes (default testbed only): `linux` adds one column for the real kernel client (no
   * policy axis: the kernel has its own) and one row for the real nfsd (no DRC axis: nfsd has its own) */
  clients?: readonly PeerName[];
  servers?: readonly PeerName[];
  repeat?: number;
  /** cell r of every combination runs with seed baseSeed + r */
  baseSeed?: number;
  /** folder under which each run gets its own folder */
  outRoot: string;
  matrixId: string;
  db?: ResultsDb;
  /** overrides of the embedded repro defaults (time scale, sizes ...); plain data, so they can cross to a worker */
  repro?: Partial<Omit<ReproOptions, 'policy' | 'drc' | 'scenario' | 'seed' | 'outDir' | 'logger' | 'onStep'>>;
  /** log level of the runs' loggers (default: silent) */
  logLevel?: Level;
  /** cells running at once: 1 = one after the other in this thread; N > 1 = N worker threads (default 1) */
  jobs?: number;
  /** called as each cell finishes (in finishing order; `index` counts finished cells) */
  onRun?(rec: RunRecord, index: number, total: number, phases: ReproPhases): void;
}

/** One cell of the matrix, in table order: scenario, policy, DRC mode, repeat. */
export interface MatrixCellSpec {
  scenario: ScenarioName;
  policy: PolicyName;
  drc: DrcModeName;
  client: PeerName;
  server: PeerName;
  seed: number;
}

export function matrixCells(o: Pick<MatrixOptions, 'policies' | 'drcs' | 'scenarios' | 'clients' | 'servers' | 'repeat' | 'baseSeed'>): MatrixCellSpec[] {
  const cells: MatrixCellSpec[] = [];
  const policies = o.policies ?? POLICY_NAMES;
  const drcs = o.drcs ?? DRC_MODES;
  for (const scenario of o.scenarios ?? SCENARIO_NAMES)
    for (const client of o.clients ?? ['testbed'])
      for (const policy of client === 'linux' ? [DEFAULTS.policy] : policies)
        for (const server of o.servers ?? ['testbed'])
          for (const drc of server === 'linux' ? [DEFAULTS.drc] : drcs) {
            // The restart scenario is our server's own (lab/repro-options.ts checkReproOptions).
            if (scenario === 'stall-restart' && (client === 'linux' || server === 'linux')) continue;
            for (let r = 0; r < (o.repeat ?? 1); r++) cells.push({ scenario, policy, drc, client, server, seed: (o.baseSeed ?? 1) + r });
          }
  return cells;
}

/** Runs every cell; the records come back in table order whatever order the cells finished in. */
export async function runMatrix(o: MatrixOptions): Promise<RunRecord[]> {
  const jobs = o.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new ConfigError('BAD_JOBS', `jobs must be an integer >= 1, got ${jobs}`);
  const cells = matrixCells(o);
  const options = cells.map((c): Omit<ReproOptions, 'logger' | 'onStep'> => ({
    ...DEFAULTS,
    ...MATRIX_DEFAULTS,
    ...o.repro,
    ...c,
    outDir: path.join(o.outRoot, o.matrixId, `${c.scenario}-${c.client === 'linux' ? 'linux' : c.policy}-${c.server === 'linux' ? 'linux-nfsd' : c.drc}-s${c.seed}`),
    matrixId: o.matrixId,
  }));
  const out: RunRecord[] = new Array(cells.length);
  let done = 0;
  const finish = (index: number, record: RunRecord, phases: ReproPhases) => {
    record.runId = matrixRunId(o.matrixId, path.basename(options[index].outDir));
    o.db?.saveRun(record);
    out[index] = record;
    o.onRun?.(record, ++done, cells.length, phases);
  };
  if (jobs === 1 || cells.length <= 1) {
    const logger = o.logLevel ? createLogger({ level: o.logLevel, name: 'matrix' }) : undefined;
    for (let i = 0; i < cells.length; i++) {
      const { record, phases } = await runRepro({ ...options[i], ...(logger ? { logger } : {}) });
      finish(i, record, phases);
    }
    return out;
  }
  await runInWorkers(Math.min(jobs, cells.length), cells, options, o.logLevel, finish);
  return out;
}

/**
 * Hands out cells to free job slots: table order (the long stall scenarios first, so the short cells fill the end),
 * except that cells of a CPU-bound scenario (Scenario.cpuBound) run at most `maxCpuBound` at a time and start as
 * early as they can. A drop-reply cell never waits on a stall: it relays 8 MiB flat out (~0.6 s CPU in ~0.7 s
 * wall), so several at once on 2 cores delay WRITE replies past the scaled timeo (120 ms) and fire
 * retransmissions the scenario does not model. Stall cells mostly wait, so they share the cores well.
 */
export class CellQueue {
  private readonly pending: number[];
  private cpuBoundRunning = 0;
  constructor(
    private readonly cells: readonly MatrixCellSpec[],
    private readonly maxCpuBound = 1,
  ) {
    this.pending = cells.map((_, i) => i);
  }

  static cpuBound(c: MatrixCellSpec): boolean {
    // A QEMU TCG guest keeps a core busy: one guest cell at a time.
    return SCENARIOS[c.scenario].cpuBound || c.client === 'linux' || c.server === 'linux';
  }

  /** The next cell to start, or undefined when none may start now (see `drained`). */
  take(): number | undefined {
    const mayCpu = this.cpuBoundRunning < this.maxCpuBound;
    let at = mayCpu ? this.pending.findIndex((i) => CellQueue.cpuBound(this.cells[i])) : -1;
    if (at < 0) at = this.pending.findIndex((i) => !CellQueue.cpuBound(this.cells[i]));
    if (at < 0) return undefined;
    const [index] = this.pending.splice(at, 1);
    if (CellQueue.cpuBound(this.cells[index])) this.cpuBoundRunning++;
    return index;
  }

  /** A cell handed out by take() finished. */
  done(index: number): void {
    if (CellQueue.cpuBound(this.cells[index])) this.cpuBoundRunning--;
  }

  /** Every cell has been handed out. */
  get drained(): boolean {
    return this.pending.length === 0;
  }
}

/** A pool of worker threads fed by a CellQueue; a slot with nothing it may start waits for the next finish. */
function runInWorkers(
  n: number,
  cells: readonly MatrixCellSpec[],
  options: Array<Omit<ReproOptions, 'logger' | 'onStep'>>,
  logLevel: Level | undefined,
  finish: (index: number, record: RunRecord, phases: ReproPhases) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const queue = new CellQueue(cells);
    const workers: Worker[] = [];
    const waiting: Worker[] = [];
    let finished = 0;
    let failed = false;
    const retired = new Set<Worker>();
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      for (const w of workers) void w.terminate();
      reject(err instanceof Error ? err : new TestbedError('MATRIX_WORKER_FAILED', String(err)));
    };
    const feed = (w: Worker) => {
      const index = queue.take();
      if (index !== undefined) {
        w.postMessage({ index, options: options[index], ...(logLevel ? { logLevel } : {}) } satisfies CellRequest);
      } else if (queue.drained) {
        retired.add(w);
        void w.terminate();
      } else waiting.push(w);
    };
    for (let k = 0; k < n; k++) {
      const w = new Worker(path.join(__dirname, 'matrix-worker.js'));
      workers.push(w);
      w.on('message', (m: CellReply) => {
        if (failed) return;
        if ('error' in m) return fail(new TestbedError('MATRIX_CELL_FAILED', `cell ${path.basename(options[m.index].outDir)}: ${m.error}`));
        queue.done(m.index);
        try {
          finish(m.index, m.record, m.phases);
        } catch (err) {
          return fail(err);
        }
        if (++finished === options.length) {
          for (const x of workers) {
            retired.add(x);
            void x.terminate();
          }
          return resolve();
        }
        feed(w);
        for (const x of waiting.splice(0)) feed(x);
      });
      w.on('error', fail);
      w.on('exit', (code) => {
        if (!retired.has(w)) fail(new TestbedError('MATRIX_WORKER_FAILED', `a matrix worker exited (code ${code}) with ${options.length - finished} cells unfinished`));
      });
      feed(w);
    }
  });
}
