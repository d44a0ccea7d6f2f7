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
  const rows = ms.map((m) => [m.bench, m.case, `${fmt(m.value)} ${m.unit}`, m.yardstick, `${fmt(m.yardstickValue)} ${m.unit}`, `${m.ratio}x`, m.note ?? '']);
  const head = ['bench', 'case', 'ours', 'yardstick', 'yardstick value', 'ratio', 'note'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join('  ').trimEnd();
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(line(r));
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : String(v);
}
