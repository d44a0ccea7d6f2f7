// Fault schedules from a JSON file: faults installed at start plus a timeline of additions, removals and stalls
// at modelled times. With the seed inside, the same file gives the same run.
//
//   { "seed": 7, "timeScale": 0.001,
//     "faults": [ { "kind": "stall", "duration": "65s", "every": 1000, "resume": "backoff" } ],
//     "timeline": [ { "at": "10s", "add": { "kind": "latency", "delay": "5ms" } },
//                   { "at": "20s", "remove": "latency-1" },
//                   { "at": "30s", "stall": "65s", "resume": "backoff" } ] }
//
// A bare JSON array is a list of faults.
import fs from 'node:fs';
import { ConfigError } from '../core/errors';
import { modelMs } from './faults/common';
import type { Proxy, StallNowOptions } from './proxy';
import type { Duration, FaultSpec } from './types';

export type TimelineEntry =
  | { at: Duration; add: FaultSpec }
  | { at: Duration; remove: string }
  | ({ at: Duration; stall: Duration } & StallNowOptions);

export interface Schedule {
  seed?: number | string;
  timeScale?: number;
  faults: FaultSpec[];
  timeline: TimelineEntry[];
}

export function parseSchedule(doc: unknown, where = 'schedule'): Schedule {
  if (Array.isArray(doc)) return { faults: doc as FaultSpec[], timeline: [] };
  if (!doc || typeof doc !== 'object') throw new ConfigError('NETEM_SCHEDULE', `${where}: expected an object or an array of faults`);
  const o = doc as Record<string, unknown>;
  const known = new Set(['seed', 'timeScale', 'faults', 'timeline', 'comment']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw new ConfigError('NETEM_SCHEDULE', `${where}: unknown key "${k}"`);
  const faults = (o.faults ?? []) as FaultSpec[];
  const timeline = (o.timeline ?? []) as TimelineEntry[];
  if (!Array.isArray(faults) || !Array.isArray(timeline)) throw new ConfigError('NETEM_SCHEDULE', `${where}: faults and timeline must be arrays`);
  for (const [i, e] of timeline.entries()) {
    if (!e || typeof e !== 'object' || e.at === undefined) throw new ConfigError('NETEM_SCHEDULE', `${where}: timeline[${i}] needs "at"`);
    modelMs(e.at, `timeline[${i}].at`);
    const actions = ['add', 'remove', 'stall'].filter((k) => k in e);
    if (actions.length !== 1) throw new ConfigError('NETEM_SCHEDULE', `${where}: timeline[${i}] needs exactly one of add, remove, stall`);
  }
  if (o.timeScale !== undefined && !(typeof o.timeScale === 'number' && o.timeScale > 0)) throw new ConfigError('NETEM_SCHEDULE', `${where}: timeScale must be a number > 0`);
  return { seed: o.seed as number | string | undefined, timeScale: o.timeScale as number | undefined, faults, timeline };
}

export function loadSchedule(file: string): Schedule {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError('NETEM_SCHEDULE', `cannot read schedule ${file}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError('NETEM_SCHEDULE', `${file}: not JSON: ${(e as Error).message}`);
  }
  return parseSchedule(doc, file);
}

/** Installs the schedule's faults now and arms its timeline (times relative to now, scaled by the proxy). */
export function applySchedule(proxy: Proxy, s: Schedule): void {
  for (const f of s.faults) proxy.addFault(f);
  for (const e of s.timeline) {
    const ms = proxy.timeScale.real(modelMs(e.at, 'at'));
    proxy.runAfter(ms, () => {
      try {
        if ('add' in e) proxy.addFault(e.add);
        else if ('remove' in e) proxy.removeFault(e.remove);
        else proxy.stallNow(e.stall, e);
      } catch (err) {
        proxy.log.emit({ source: 'schedule', kind: 'schedule', event: 'schedule-error', error: String((err as Error).message) });
      }
    });
  }
}
