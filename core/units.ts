// Durations and sizes with units, and the one time scale every duration obeys.
import { ConfigError } from './errors';

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1000, kb: 1000, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3,
};

/** Parses "65s", "600ms", "2m", "1.5h" into milliseconds. A bare number is seconds (like mount's timeo is not; say units). */
export function parseDuration(text: string | number, name = 'duration'): number {
  if (typeof text === 'number') return text;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zµ]*)\s*$/i.exec(text);
  if (!m) throw new ConfigError('BAD_DURATION', `${name}: cannot parse duration "${text}" (examples: 65s, 600ms, 2m)`);
  const unit = (m[2] || 's').toLowerCase();
  const mult = DURATION_UNITS[unit];
  if (mult === undefined) throw new ConfigError('BAD_DURATION', `${name}: unknown unit "${m[2]}" in "${text}" (ns, us, ms, s, m, h)`);
  return Number(m[1]) * mult;
}

/** Parses "1MiB", "64KiB", "4096", "2g", "4MiB+64KiB" (a sum, as formatSize prints) into bytes (integer). */
export function parseSize(text: string | number, name = 'size'): number {
  if (typeof text === 'number') return text;
  let v = 0;
  for (const term of text.split('+')) {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(term);
    const mult = m ? SIZE_UNITS[m[2].toLowerCase()] : undefined;
    if (!m || mult === undefined) throw new ConfigError('BAD_SIZE', `${name}: cannot parse size "${text}" (examples: 4096, 64KiB, 1MiB, 4MiB+64KiB)`);
    v += Math.round(Number(m[1]) * mult);
  }
  if (!Number.isSafeInteger(v)) throw new ConfigError('BAD_SIZE', `${name}: ${text} is too large`);
  return v;
}

/** Bytes exactly, in binary units as parseSize reads them back: 4259840 -> "4MiB+64KiB", 1000 -> "1000B". */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`formatSize: ${bytes} is not a byte count`);
  if (bytes === 0) return '0';
  const terms: string[] = [];
  let rest = bytes;
  for (const [unit, mult] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (rest >= mult && rest % 1024 === 0) {
      terms.push(`${Math.floor(rest / mult)}${unit}`);
      rest %= mult;
    }
  }
  if (rest) terms.push(`${rest}B`);
  return terms.join('+');
}

/** Milliseconds in the largest unit that keeps them whole, as parseDuration reads them back: 120000 -> "2m". */
export function formatDuration(ms: number): string {
  if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`formatDuration: ${ms} is not a duration`);
  if (ms === 0) return '0s';
  for (const [unit, mult] of [['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) if (ms % mult === 0) return `${ms / mult}${unit}`;
  return `${ms}ms`;
}

/**
 * The one time base of every trace and report a user reads (README "Times and XIDs"): real seconds since the run
 * (or capture) began, then the modelled seconds they stand for in brackets, `0.130s (model 65.206s)`, where
 * modelled = real / time scale. Real first, because that is what a capture's timestamps and a stopwatch show.
 */
export function formatAt(realMs: number, timeScale: number): string {
  return `${(realMs / 1000).toFixed(3)}s (model ${(realMs / timeScale / 1000).toFixed(3)}s)`;
}

/** Parses a positive number (time scale, probabilities ...). */
export function parseNumber(text: string | number, name: string, min = -Infinity, max = Infinity): number {
  const v = typeof text === 'number' ? text : Number(text);
  if (!Number.isFinite(v) || v < min || v > max || (typeof text === 'string' && text.trim() === '')) {
    throw new ConfigError('BAD_NUMBER', `${name}: expected a number in [${min}, ${max}], got "${text}"`);
  }
  return v;
}

/**
 * The time scale: every modelled duration (timeo, stall, DRC expiry, backoff) is multiplied by `factor` before
 * it becomes a real timer. factor 0.001 runs the seed's 65 s stall in 65 ms with the same order of events.
 */
export class TimeScale {
  constructor(readonly factor = 1) {
    if (!(factor > 0) || !Number.isFinite(factor)) throw new ConfigError('BAD_TIME_SCALE', `time scale must be > 0, got ${factor}`);
  }
  /** Modelled ms -> real ms. */
  real(modelMs: number): number {
    return modelMs * this.factor;
  }
  /** Real ms -> modelled ms (for reports in the seed's units). */
  model(realMs: number): number {
    return realMs / this.factor;
  }
  /** Parses a duration with units and returns real ms. */
  parse(text: string | number, name?: string): number {
    return this.real(parseDuration(text, name));
  }
}

/**
 * Runs `fn` once `realMs` have passed on performance.now(), never before, as a kernel timer never expires before
 * its jiffy (run_timer_softirq). A Node timer alone can: libuv counts the delay on its millisecond clock from a
 * truncated start, so it fires up to 1 ms early, which a time scale of 1/200 makes 200 modelled ms, and a
 * retransmission sent from an early expiry armed its next timer before the modelled expiry (an extra minor
 * timeout: test/client-transport-timers under load). `set` receives each Node timer, for clearTimeout.
 */
export function setTimerNotEarly(realMs: number, fn: () => void, set: (timer: NodeJS.Timeout) => void): void {
  const due = performance.now() + realMs;
  const arm = (ms: number): void => set(setTimeout(() => (performance.now() < due ? arm(due - performance.now()) : fn()), ms));
  arm(realMs);
}

export function formatBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${u[i]}`;
}
