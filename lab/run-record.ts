// The record of one reproduction run: what `repro` and `matrix` store in the results database and what the
// dashboard draws. Times are milliseconds relative to the run's t0 (real, monotonic), plus the time scale so a
// reader can convert to the seed's modelled seconds.

export type Verdict = 'reproduced' | 'not-reproduced' | 'error';

export interface RunConfig {
  /** a key of client/policies POLICIES */
  policy: string;
  /** lab/repro-options.ts DRC_MODES */
  drc: string;
  /** a key of lab/scenarios SCENARIOS */
  scenario: string;
  seed: number;
  timeScale: number;
  /** everything else the run was started with (blktest sizes, netem schedule, timeo, ...) */
  [k: string]: unknown;
}

export interface RunCounters {
  writes: number;
  bytes: number;
  retransmissions: number;
  lateTransmissions: number;
  /** partial duplicates that cancel-on-reply had to finish from caller memory */
  partialDuplicates: number;
  /** WRITE transmissions on the wire whose payload carried the scribble pattern (from inspect) */
  scribbledOnWire: number;
  /** scribbled WRITEs the server executed (from the journal) */
  executedScribbled: number;
  corruptBlocks: number;
  throughputMiBps: number;
}

/** One mark on the timeline. kind is one of TIMELINE_KINDS. */
export interface TimelineEvent {
  t: number;
  kind: TimelineKind;
  detail?: string;
}

export const TIMELINE_KINDS = [
  'transmit',
  'timeout',
  'retransmit-queued',
  'reply',
  'complete',
  'scribble',
  'late-transmit',
  'server-exec',
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/**
 * How much harm an affected XID did, most harmful first; the timeline's rows are in this order. Each level is what
 * a witness saw: the server journal executed a copy that was not the pattern (`executed-scribbled`), the capture
 * held a copy that differed from the first (`scribbled-on-wire`), the client sent from the caller's buffer after
 * the caller had scribbled it (`late-after-scribble`) or only before (`late-before-scribble`: the bytes were still
 * the call's own, so harmless), or the XID was only retransmitted (shown when nothing worse happened in the run).
 */
export const XID_HARMS = ['executed-scribbled', 'scribbled-on-wire', 'late-after-scribble', 'late-before-scribble', 'retransmitted'] as const;
export type XidHarm = (typeof XID_HARMS)[number];

export interface TimelineRow {
  /** 0x-prefixed 8-digit hex */
  xid: string;
  /** absent in records stored before schema 3: rowHarm() derives it from the events */
  harm?: XidHarm;
  events: TimelineEvent[];
}

/**
 * A late transmission (transmit-done after complete, client/rpc/transport.ts) whose last byte reached the kernel
 * before the caller scribbled the buffer took the bytes the call was made with: harmless. One that finished at or
 * after the scribble may carry it. Without a scribble in the row (a run that failed first) it counts as harmful.
 */
export function lateIsHarmless(late: TimelineEvent, rowEvents: readonly TimelineEvent[]): boolean {
  if (late.kind !== 'late-transmit') return false;
  const scribble = rowEvents.find((e) => e.kind === 'scribble');
  return scribble !== undefined && late.t < scribble.t;
}

/** What the client's own events show of an XID's harm (the wire and the journal can only add to it). */
export function harmFromEvents(events: readonly TimelineEvent[]): XidHarm {
  const late = events.filter((e) => e.kind === 'late-transmit');
  if (late.some((e) => !lateIsHarmless(e, events))) return 'late-after-scribble';
  return late.length ? 'late-before-scribble' : 'retransmitted';
}

/** The row's stored harm, or for rows stored before schema 3 what its own events show. */
export function rowHarm(row: TimelineRow): XidHarm {
  return row.harm ?? harmFromEvents(row.events);
}

export interface Timeline {
  /** one row per affected XID, every one of them, most harmful first (XID_HARMS), then by XID */
  rows: TimelineRow[];
  /** shaded windows: the proxy's stalls, per direction */
  stalls: Array<{ start: number; end: number; direction: 'upstream' | 'downstream' | 'both' }>;
  /** end of the run on the same clock */
  end: number;
}

/**
 * A matrix cell's run id: the matrix id and the cell's folder name joined by '.', never '/', so that the id is one
 * URL path segment (the dashboard's /runs/ID typed by hand) and one shell word. Rows stored before results schema 3
 * used '/'; opening such a database renames them (lab/results-db.ts).
 */
export function matrixRunId(matrixId: string, cell: string): string {
  return `${matrixId}.${cell}`;
}

export interface RunRecord {
  runId: string;
  matrixId?: string;
  startedAt: string; // ISO
  durationMs: number;
  version: string;
  config: RunConfig;
  verdict: Verdict;
  counters: RunCounters;
  /** affected xids etc., human summary lines as printed */
  summary: string[];
  capture?: string;
  /** the proxy's fault event log (JSON lines parsed) */
  netemEvents: unknown[];
  /** the client's trace summary */
  traceSummary: unknown;
  /** inspect's findings document */
  findings: unknown;
  timeline: Timeline;
  /** the three witnesses side by side, and the server's DRC counters */
  witnesses?: Record<string, unknown>;
  /** why the run ended in verdict 'error' */
  error?: RunError;
}

/** A run's failure: the TestbedError code (stable, for scripts) and its message. */
export interface RunError {
  code: string;
  message: string;
}
