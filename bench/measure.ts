// Benchmark plumbing shared by every area: medians, ratios to a yardstick measured in the same run, output.
import fs from 'node:fs';
import { median } from '../core/stats';

export interface Measurement {
  bench: string;
  case: string;
  value: number;
  unit: string;
  yardstick: string;
  yardstickValue: number;
  /** ours / yardstick, oriented so that higher is better */
  ratio: number;
  /** optional extra facts (runs, min, max, target) */
  note?: string;
  /**
   * 'cost' rows (CPU per MiB) report ours / yardstick, lower is better, as issue 20's targets are written; other
   * rows are oriented so that higher is better.
   */
  sense?: 'cost';
  /** the yardstick measured against itself in the same rounds (later run / earlier run): the band a ratio moves in by noise alone */
  noise?: { lo: number; median: number; hi: number; rounds: number };
  /** the issue's target for this row, as written there ('<= 1.0', '>= 15x'); absent: information only */
  target?: string;
}

/** USER_HZ: Linux reports it as 100 on every architecture Node runs on (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS = 100;

/** CPU time (user + system, all threads) a live process has used so far, in ms (Linux /proc), or NaN elsewhere. */
export function processCpuMs(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15, in clock ticks.
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return NaN;
  }
}

/** ns every thread of process `pid` has run on a CPU (Linux /proc/PID/task/TID/schedstat), or NaN elsewhere. */
export function tasksCpuNs(pid: number | 'self' = 'self'): number {
  try {
    let ns = 0;
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread ended between readdir and read: its time is gone from the sum (threads here are long-lived)
      }
    }
    return ns;
  } catch {
    return NaN;
  }
}

/** One thread's CPU time so far (schedstat ns) and its name (/proc/PID/task/TID/comm: "node", "libuv-worker" ...). */
export interface ThreadCpu {
  tid: number;
  comm: string;
  ns: number;
}

/** Every thread of `pid` with the ns it has run on a CPU (schedstat); [] when /proc is not there. */
export function threadsCpuNs(pid: number | 'self' = 'self'): ThreadCpu[] {
  const out: ThreadCpu[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    try {
      const ns = Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      out.push({ tid: Number(task), comm: fs.readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').trim(), ns });
    } catch {
      // the thread ended between readdir and read
    }
  }
  return out;
}

/**
 * CPU per MiB of named processes over one measured run, from schedstat (ns, per thread): far steadier on a shared
 * machine than wall time, since a process that waits for a core is not charged for the wait. Each process is also
 * split into `NAME/main` (its event loop's thread) and `NAME/other` (the thread pool, workers, V8's and the GC's
 * threads: Node 20 names none of them, so they cannot be told apart by name).
 *
 * A thread that exits takes its schedstat with it (ganesha's work pool starts and ends threads as load changes), so
 * the process total is checked against /proc/PID/stat, which keeps exited threads' time but counts in 10 ms ticks:
 * when a thread vanished, or stat saw more than two ticks beyond schedstat, stat's figure is used and `NAME/exited`
 * says by how much schedstat fell short.
 */
export class CpuMeter<P extends string> {
  private before = new Map<string, { threads: Map<number, number>; statMs: number }>();
  constructor(private readonly pids: Record<P, number | 'self'>) {}

  start(): this {
    for (const name of Object.keys(this.pids) as P[]) {
      const pid = this.pids[name];
      this.before.set(name, { threads: new Map(threadsCpuNs(pid).map((t) => [t.tid, t.ns])), statMs: processCpuMs(pid === 'self' ? process.pid : (pid as number)) });
    }
    return this;
  }

  /** ms of CPU per MiB moved since start(), per process, `process/main`, `process/other` and `process/exited` */
  perMiB(bytes: number): Record<P, number> & Record<string, number> {
    const out: Record<string, number> = {};
    const mib = bytes / (1 << 20);
    for (const name of Object.keys(this.pids) as P[]) {
      const pid = this.pids[name];
      const mainTid = pid === 'self' ? process.pid : (pid as number);
      const b = this.before.get(name)!;
      const now = threadsCpuNs(pid);
      let main = 0;
      let other = 0;
      for (const t of now) {
        const d = t.ns - (b.threads.get(t.tid) ?? 0);
        if (t.tid === mainTid) main += d;
        else other += d;
      }
      const vanished = [...b.threads.keys()].some((tid) => !now.some((t) => t.tid === tid));
      const schedMs = (main + other) / 1e6;
      const statMs = processCpuMs(mainTid) - b.statMs;
      const exitedMs = vanished || statMs - schedMs > 2 * (1000 / CLOCK_TICKS) ? Math.max(0, statMs - schedMs) : 0;
      out[name] = (now.length ? schedMs + exitedMs : NaN) / mib;
      out[`${name}/main`] = main / 1e6 / mib;
      out[`${name}/other`] = other / 1e6 / mib;
      out[`${name}/exited`] = exitedMs / mib;
    }
    return out as Record<P, number> & Record<string, number>;
  }
}

/** One measured run: named figures (MiB/s, ms of CPU per MiB ...). */
export type Sample = Record<string, number>;

/** What paired rounds measured: every run's sample by case, yardsticks twice per round. */
export class Rounds<Y extends string, C extends string> {
  /** per yardstick: its first and its second run of each round */
  readonly first = {} as Record<Y, Sample[]>;
  readonly again = {} as Record<Y, Sample[]>;
  readonly cases = {} as Record<C, Sample[]>;

  /** case / yardstick per round, `metric` of each, the yardstick taken as the mean of its two runs that round */
  ratios(c: C, y: Y, metric: string, yMetric = metric): number[] {
    return this.cases[c].map((s, i) => s[metric] / ((this.first[y][i][yMetric] + this.again[y][i][yMetric]) / 2));
  }

  /** the yardstick against itself per round: its second run / its first, `metric` */
  self(y: Y, metric: string): number[] {
    return this.again[y].map((s, i) => s[metric] / this.first[y][i][metric]);
  }

  /** the median of `metric` over every run of `who` (a yardstick counts both its runs) */
  median(who: Y | C, metric: string): number {
    const all = who in this.cases ? this.cases[who as C] : [...this.first[who as Y], ...this.again[who as Y]];
    return median(all.map((s) => s[metric]));
  }
}

/**
 * Runs `rounds` rounds. Each round runs every yardstick, then every case (in an order that rotates by round, so
 * none always runs first), then every yardstick again. A ratio is then taken within one round, against the
 * yardstick measured on both sides of the case, and the yardstick's second run against its first is the noise band
 * the ratio is printed with: on a machine that drifts 2x between rounds, only such paired figures mean anything.
 */
export async function pairedRounds<Y extends string, C extends string>(o: {
  rounds: number;
  yardsticks: Record<Y, () => Promise<Sample>>;
  cases: Record<C, () => Promise<Sample>>;
  progress?: (round: number) => void;
}): Promise<Rounds<Y, C>> {
  const r = new Rounds<Y, C>();
  const ys = Object.keys(o.yardsticks) as Y[];
  const cs = Object.keys(o.cases) as C[];
  for (const y of ys) (r.first[y] = []), (r.again[y] = []);
  for (const c of cs) r.cases[c] = [];
  // BENCH_VERBOSE=1 prints every run's sample on stderr: what a surprising median came from.
  const take = async (list: Sample[], who: string, f: () => Promise<Sample>) => {
    const s = await f();
    list.push(s);
    if (process.env.BENCH_VERBOSE) console.error(`#   ${who}: ${Object.entries(s).map(([k, v]) => `${k}=${v.toFixed(3)}`).join(' ')}`);
  };
  for (let i = 0; i < o.rounds; i++) {
    o.progress?.(i);
    for (const y of ys) await take(r.first[y], y, o.yardsticks[y]);
    for (let k = 0; k < cs.length; k++) {
      const c = cs[(k + i) % cs.length];
      await take(r.cases[c], c, o.cases[c]);
    }
    for (const y of ys) await take(r.again[y], `${y} again`, o.yardsticks[y]);
  }
  return r;
}

/**
 * A row from paired rounds: the median of `ours` and of the yardstick's runs, the median of the per-round ratios
 * (ours / yardstick, never flipped: cost rows say lower is better) and the yardstick's self-ratio band.
 */
export function pairedRow(o: {
  bench: string;
  case: string;
  unit: string;
  yardstick: string;
  ours: number;
  yardstickValue: number;
  ratios: number[];
  self: number[];
  cost: boolean;
  target?: string;
  note?: string;
}): Measurement {
  const s = [...o.self].sort((a, b) => a - b);
  return {
    bench: o.bench,
    case: o.case,
    value: round(o.ours),
    unit: o.unit,
    yardstick: o.yardstick,
    yardstickValue: round(o.yardstickValue),
    ratio: round(median(o.ratios), 3),
    ...(o.cost ? { sense: 'cost' as const } : {}),
    noise: { lo: round(s[0], 3), median: round(median(s), 3), hi: round(s[s.length - 1], 3), rounds: s.length },
    ...(o.target ? { target: o.target } : {}),
    note: `per-round ratios ${o.ratios.map((x) => x.toFixed(2)).join('/')}${o.note ? `; ${o.note}` : ''}`,
  };
}

/** CPU time this process has used so far, in ms: every thread (main, workers, the thread pool). */
export function selfCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Resolves once `pid` has used no CPU for `quietMs` (its deferred work is done), or after `maxMs`. */
export async function processSettled(pid: number, quietMs = 100, maxMs = 3000): Promise<void> {
  const end = Date.now() + maxMs;
  let last = processCpuMs(pid);
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, quietMs));
    const now = processCpuMs(pid);
    if (!(now > last)) return;
    last = now;
  }
}

/**
 * Builds a measurement. `higherIsBetter` says which way `value` points (ops/s: true; seconds, µs: false); the
 * ratio is oriented so that > 1 always means we are better than the yardstick.
 */
export function measurement(
  bench: string,
  kase: string,
  value: number,
  unit: string,
  yardstick: string,
  yardstickValue: number,
  higherIsBetter: boolean,
  note?: string,
): Measurement {
  const ratio = higherIsBetter ? value / yardstickValue : yardstickValue / value;
  return { bench, case: kase, value: round(value), unit, yardstick, yardstickValue: round(yardstickValue), ratio: round(ratio, 3), ...(note ? { note } : {}) };
}

/**
 * `m` with its ratio replaced by the median of `ratios` (each measured within one round or pair): on a machine
 * that drifts between rounds that is fairer than the ratio of the medians.
 */
export function withMedianRatio(m: Measurement, ratios: number[]): Measurement {
  return { ...m, ratio: round(median(ratios), 3) };
}

function round(v: number, digits = 2): number {
  if (!Number.isFinite(v)) return v;
  const f = 10 ** digits;
  return Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * f) / f;
}

/** Times fn() repeatedly for about `ms` real milliseconds (after a warm-up) and returns ops/s medians of 5 slices. */
export function opsPerSecond(fn: () => void, ms = 300): number {
  for (let i = 0; i < 200; i++) fn();
  const slices: number[] = [];
  for (let s = 0; s < 5; s++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    const until = t0 + BigInt(Math.round((ms / 5) * 1e6));
    let t = t0;
    while (t < until) {
      for (let i = 0; i < 50; i++) fn();
      n += 50;
      t = process.hrtime.bigint();
    }
    slices.push(n / (Number(t - t0) / 1e9));
  }
  return median(slices);
}

export function printTable(ms: Measurement[]): void {
  const rows = ms.map((m) => [
    m.bench,
    m.case,
    `${fmt(m.value)} ${m.unit}`,
    m.yardstick,
    `${fmt(m.yardstickValue)} ${m.unit}`,
    `${m.ratio}x${m.sense === 'cost' ? ' (cost)' : ''}`,
    m.noise ? `${m.noise.lo}-${m.noise.hi}x` : '',
    m.target ?? '',
    m.note ?? '',
  ]);
  const head = ['bench', 'case', 'ours', 'yardstick', 'yardstick value', 'ratio', 'noise (yardstick/itself)', 'target', 'note'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : String(v);
}
