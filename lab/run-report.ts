// What a reproduction run reports, built from its witnesses: the verdict, the human summary, the timeline the
// dashboard draws (one row per affected XID, the proxy's stalls shaded) and one XID in seed 000's tap format.
import type { CallEventName } from '../client/rpc/events';
import { tracepointOf } from '../client/rpc/events';
import { hexXid } from '../client/rpc/xid';
import { formatAt } from '../core/units';
import { ran } from '../core/journal-schema';
import type { RpcCallEvent } from '../client/rpc/trace';
import type { NetemEvent } from '../netem';
import type { ServerStats } from '../server';
import { harmFromEvents, XID_HARMS, type RunCounters, type Timeline, type TimelineEvent, type TimelineKind, type TimelineRow, type Verdict, type XidHarm } from './run-record';
import { formatSpread, type DiskWitness, type ServerExec, type TimingWitness, type WireWitness } from './witnesses';

/** Any witness seeing the bug makes the run reproduced; an error is an error whatever was seen before it. */
export function judge(error: unknown, c: RunCounters): Verdict {
  if (error) return 'error';
  return c.scribbledOnWire > 0 || c.corruptBlocks > 0 || c.lateTransmissions > 0 ? 'reproduced' : 'not-reproduced';
}

const TRACE_TO_TIMELINE: Partial<Record<CallEventName, TimelineKind>> = {
  'transmit-done': 'transmit',
  timeout: 'timeout',
  'retransmit-queued': 'retransmit-queued',
  reply: 'reply',
  complete: 'complete',
  scribble: 'scribble',
  'late-transmit': 'late-transmit',
};

/** The XIDs the timeline shows, every one: late or scribbled ones, else the retransmitted ones. */
export function affectedXids(lateXids: readonly number[], scribbled: ReadonlySet<number>, trace: readonly RpcCallEvent[]): number[] {
  const affected = new Set<number>([...lateXids, ...scribbled]);
  if (affected.size === 0) for (const e of trace) if (e.event === 'retransmit-queued') affected.add(e.xid);
  return [...affected].sort((a, b) => a - b);
}

export interface TimelineInput {
  xids: readonly number[];
  /** XIDs the wire witness saw carry other bytes than their first copy (default none) */
  scribbledXids?: ReadonlySet<number>;
  /** XIDs the disk witness found executed with other bytes than the pattern (default none) */
  executedScribbledXids?: ReadonlySet<number>;
  trace: readonly RpcCallEvent[];
  serverExec: readonly ServerExec[];
  netemEvents: readonly NetemEvent[];
  /** performance.now() of the run's start and of the proxy's */
  t0: number;
  proxyStarted: number;
  end: number;
}

/** Every affected XID's events, the row ordered most harmful first (XID_HARMS), then by XID. */
export function buildTimeline(i: TimelineInput): Timeline {
  const rel = (t: number) => Math.round((t - i.t0) * 1000) / 1000;
  const wanted = new Set(i.xids);
  const eventsOf = new Map<number, TimelineEvent[]>(i.xids.map((x) => [x, []]));
  for (const e of i.trace) {
    const kind = wanted.has(e.xid) ? TRACE_TO_TIMELINE[e.event] : undefined;
    if (kind) eventsOf.get(e.xid)!.push({ t: rel(e.t), kind, ...(e.attempt !== undefined ? { detail: `attempt ${e.attempt}` } : {}) });
  }
  for (const s of i.serverExec) {
    if (wanted.has(s.xid) && ran(s.outcome)) eventsOf.get(s.xid)!.push({ t: rel(s.t), kind: 'server-exec', detail: s.outcome });
  }
  const rows = [...eventsOf].map(([xid, events]) => {
    events.sort((a, b) => a.t - b.t);
    return { n: xid, row: { xid: hexXid(xid), harm: harmOf(xid, events, i), events } satisfies TimelineRow };
  });
  rows.sort((a, b) => XID_HARMS.indexOf(a.row.harm) - XID_HARMS.indexOf(b.row.harm) || a.n - b.n);
  return {
    rows: rows.map((r) => r.row),
    stalls: stallWindows(i.netemEvents, i.proxyStarted - i.t0),
    end: rel(i.end),
  };
}

function harmOf(xid: number, events: readonly TimelineEvent[], i: TimelineInput): XidHarm {
  if (i.executedScribbledXids?.has(xid)) return 'executed-scribbled';
  if (i.scribbledXids?.has(xid)) return 'scribbled-on-wire';
  return harmFromEvents(events);
}

/**
 * Stall windows on the run's clock, from the proxy's events (ms since the proxy started): both directions until
 * the first release, then the direction still frozen until the stall ends (a dropped stall resumes each direction at
 * its own sender's RTO expiry).
 */
function stallWindows(events: readonly NetemEvent[], offset: number): Timeline['stalls'] {
  const out: Timeline['stalls'] = [];
  let start: number | undefined;
  let first: { t: number; released: 'upstream' | 'downstream' } | undefined;
  for (const e of events) {
    const t = Math.round((e.ms + offset) * 1000) / 1000;
    if (e.event === 'stall-start') {
      start = t;
      first = undefined;
    } else if ((e.event === 'release-downstream' || e.event === 'release-upstream') && start !== undefined && !first) {
      first = { t, released: e.event === 'release-downstream' ? 'downstream' : 'upstream' };
    } else if (e.event === 'stall-end' && start !== undefined) {
      if (first && first.t < t) {
        out.push({ start, end: first.t, direction: 'both' });
        out.push({ start: first.t, end: t, direction: first.released === 'downstream' ? 'upstream' : 'downstream' });
      } else out.push({ start, end: t, direction: 'both' });
      start = undefined;
    }
  }
  return out;
}

export interface SummaryInput {
  verdict: Verdict;
  counters: RunCounters;
  error?: { code: string; message: string };
  wire: WireWitness;
  disk: DiskWitness;
  scribble: number;
  drc: string;
  drcStats?: ServerStats['drc'];
  /** lines the scenario's actions add */
  scenarioLines: readonly string[];
  expectedBytes: number;
  /** client timeouts no fault explains (lab/witnesses.ts unexplainedTimeouts) */
  machineTimeouts: number;
  /** timeo in real ms at the run's time scale */
  scaledTimeoMs: number;
  lag: { p99: number; max: number };
  timing?: TimingWitness;
  /** cancel-on-reply's cost: duplicates withdrawn by a connection reset, and the client's reconnects */
  withdrawn?: number;
  reconnects?: number;
  timeScale?: number;
  maxStalls?: number;
}

/** The human summary, as `repro` prints it and the results database stores it. */
export function summaryLines(s: SummaryInput): string[] {
  const { counters: c, wire, disk } = s;
  const out: string[] = [];
  const xidList = [...wire.scribbledXids].slice(0, 8).map(hexXid).join(' ');
  if (s.verdict === 'reproduced') {
    out.push(
      `REPRODUCED — ${c.scribbledOnWire} retransmitted WRITE${c.scribbledOnWire === 1 ? '' : 's'} carried scribbled bytes on the wire` +
        (xidList ? ` (xids ${xidList}${wire.scribbledXids.size > 8 ? ' …' : ''})` : '') +
        `, ${c.executedScribbled} executed by the server, ${c.corruptBlocks} block${c.corruptBlocks === 1 ? '' : 's'} corrupt on disk` +
        (disk.corrupt.length ? ` (offsets ${disk.corrupt.slice(0, 6).map((b) => b.offset).join(', ')}${disk.corrupt.length > 6 ? ' …' : ''})` : ''),
    );
  } else if (s.verdict === 'not-reproduced') {
    out.push(`not reproduced — ${c.retransmissions} retransmissions, 0 late transmissions, 0 scribbled bytes on the wire, 0 corrupt blocks`);
  } else out.push(`error — ${s.error?.message}`);
  if (wire.scribbledOnWire) out.push(`on the wire: ${wire.deadbeefOnWire} of the ${wire.scribbledOnWire} differing copies carried ${hexXid(s.scribble)} itself, the rest the buffer's next contents (another block's counters)`);
  if (disk.corrupt.length) out.push(`journal: ${disk.explained} of ${disk.corrupt.length} corrupt blocks lie inside an executed WRITE whose payload was not the pattern`);
  if (s.drcStats && s.drcStats.mode !== 'off')
    out.push(
      `DRC (${s.drc}, prune ${s.drcStats.prune}): ${s.drcStats.hits} replayed, ${s.drcStats.payloadMisses} payload misses executed, ${s.drcStats.expired} entries expired, ${s.drcStats.inProgressDrops} in-progress drops` +
        (s.drcStats.staleMatches ? `; ${s.drcStats.staleMatches} matches on entries past the expiry that no miss in their bucket had pruned (nfsd since 4.20)` : ''),
    );
  out.push(...timingLines(s));
  if (c.partialDuplicates) out.push(`${c.partialDuplicates} duplicate(s) were already partly written when the reply came and were finished from caller memory`);
  if (s.withdrawn) out.push(`${s.withdrawn} duplicate(s) in the socket were withdrawn by resetting the connection; ${s.reconnects ?? 0} reconnect(s) replayed the pending calls`);
  out.push(...s.scenarioLines);
  if (s.machineTimeouts)
    out.push(
      `${s.machineTimeouts} client timeout${s.machineTimeouts === 1 ? '' : 's'} no fault explains: a reply took longer than timeo (${s.scaledTimeoMs} ms real at this time scale) ` +
        `while no stall or dropped reply held it, so the machine's own delays entered modelled time (timer lag max ${s.lag.max} ms) and this verdict may not be the scenario's`,
    );
  if (disk.bytes < s.expectedBytes && !s.error) out.push(`the file on disk is short: ${disk.bytes} of ${s.expectedBytes} bytes`);
  return out;
}

/** What time compression did to this run, in modelled seconds (lab/witnesses.ts timingWitness). */
function timingLines(s: SummaryInput): string[] {
  const t = s.timing;
  if (!t) return [];
  const out = [
    `stalls: ${t.stalls}${t.stallsToReproduce !== undefined ? `; the first late transmission came during or after stall ${t.stallsToReproduce}` : s.maxStalls ? ` (no late transmission within --max-stalls ${s.maxStalls})` : ''}`,
  ];
  if (t.lateAfterCompleteS) out.push(`late transmissions left ${formatSpread(t.lateAfterCompleteS)} after their call completed (modelled; the seed: 0.04 s)`);
  if (t.drcAgeS)
    out.push(
      `DRC age (the original's execution to a duplicate's arrival at the server): ${formatSpread(t.drcAgeS)}` +
        (t.drcAgeScribbledS ? `; scribbled duplicates ${formatSpread(t.drcAgeScribbledS)}, ${Object.entries(t.scribbledOutcomes).map(([k, n]) => `${n} ${k}`).join(', ')}` : '') +
        `; nfsd's entries expire after ${t.drcExpiryS} s`,
    );
  out.push(
    `event-loop lag: p99 ${t.lagModelS.p99} s, max ${t.lagModelS.max} s modelled (${s.lag.p99} / ${s.lag.max} ms real at time scale ${s.timeScale})` +
      (t.lagWarning ? ` — WARNING: above 1% of the ${t.drcExpiryS} s DRC expiry, so real processing is not negligible against the modelled timers; use a larger --time-scale` : ''),
  );
  return out;
}

/** One XID's events in the shape of seed 000's tap trace, timed as every report is (core/units.ts formatAt). */
export function tapLines(trace: readonly RpcCallEvent[], exec: readonly ServerExec[], xid: number, t0: number, scale: number): string[] {
  const evs = [
    ...trace.filter((e) => e.xid === xid).map((e) => ({ t: e.t, name: e.event + (e.kind ? ` (${e.kind})` : ''), tp: tracepointOf(e) })),
    ...exec.filter((e) => e.xid === xid).map((e) => ({ t: e.t, name: `server ${e.outcome}`, tp: null })),
  ].sort((a, b) => a.t - b.t);
  return evs.map((e, i) => `tap: ${i}/${evs.length} at ${formatAt(e.t - t0, scale)} "${e.name}" xid=${hexXid(xid)}${e.tp ? ` [sunrpc:${e.tp}]` : ''}`);
}
