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

export interface Timeline {
  /** one row per affected XID (0x-prefixed 8-digit hex) */
  rows: Array<{ xid: string; events: TimelineEvent[] }>;
  /** shaded windows: the proxy's stalls, per direction */
  stalls: Array<{ start: number; end: number; direction: 'upstream' | 'downstream' | 'both' }>;
  /** end of the run on the same clock */
  end: number;
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
