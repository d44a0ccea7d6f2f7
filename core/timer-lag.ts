// How late this thread's event loop runs timers: what stretches every time-scaled duration of the model (a stall, a
// timeo, the DRC expiry) beyond what the modelled numbers say.
//
// perf_hooks.monitorEventLoopDelay samples with a repeating timer and records the whole interval between two of its
// firings (node src/histogram.cc, IntervalHistogram::OnInterval -> RecordDelta), not how late the firing was: an idle
// loop sampled every 10 ms reads min 10.08, p99 10.13 ms on Node 20. The lateness is that interval minus the
// sampling period, which this file subtracts. (libuv re-arms a repeating timer from the loop time at which it fired,
// uv__run_timers -> uv_timer_again, so one late firing does not shift the next one's due time: interval = period +
// lateness.)
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Timer lateness, real ms. */
export interface TimerLag {
  p99: number;
  max: number;
}

export interface TimerLagMonitor {
  /** the lateness since start (or the last reset), rounded to 0.1 ms */
  read(): TimerLag & { min: number };
  reset(): void;
  /** stops sampling and returns the last reading */
  stop(): TimerLag & { min: number };
  /**
   * The sampling period, real ms. A block of the loop shows as lateness up to one period shorter than it was (the
   * sampling timer may have fired just before the block began), so a lateness is a lower bound within this margin.
   */
  readonly resolutionMs: number;
}

export function startTimerLag(resolutionMs: number): TimerLagMonitor {
  const h: IntervalHistogram = monitorEventLoopDelay({ resolution: resolutionMs });
  h.enable();
  const late = (ns: number) => (Number.isFinite(ns) && h.count > 0 ? Math.max(0, Math.round((ns / 1e6 - resolutionMs) * 10) / 10) : 0);
  const read = () => ({ p99: late(h.percentile(99)), max: late(h.max), min: late(h.min) });
  return {
    read,
    reset: () => h.reset(),
    stop: () => {
      h.disable();
      return read();
    },
    resolutionMs,
  };
}
