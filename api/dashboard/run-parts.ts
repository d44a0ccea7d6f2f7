// The parts of a stored run the dashboard serves as JSON on their own (/api/runs/{id}/{part}): the run page links
// them instead of embedding them (inspect's findings alone can be megabytes).
import type { RunRecord } from '../../lab/run-record';

export const RUN_PARTS = {
  config: (r: RunRecord) => r.config,
  counters: (r: RunRecord) => r.counters,
  summary: (r: RunRecord) => r.summary,
  timeline: (r: RunRecord) => r.timeline,
  witnesses: (r: RunRecord) => r.witnesses ?? null,
  'netem-events': (r: RunRecord) => r.netemEvents,
  'trace-summary': (r: RunRecord) => r.traceSummary ?? null,
  findings: (r: RunRecord) => r.findings ?? null,
} as const satisfies Record<string, (r: RunRecord) => unknown>;

export type RunPart = keyof typeof RUN_PARTS;
export const RUN_PART_NAMES = Object.keys(RUN_PARTS) as RunPart[];

export const runPartUrl = (runId: string, part: RunPart) => `/api/runs/${encodeURIComponent(runId)}/${part}`;
