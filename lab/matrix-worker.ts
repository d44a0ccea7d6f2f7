// One matrix job slot: a worker thread that runs the cells it is handed (lab/repro.ts runRepro) one at a time and
// posts each record back. Each worker has its own event loop and its own diagnostics_channel subscribers, so the
// client trace and server executions a cell collects are its own; the results database is written by the parent.
import { parentPort } from 'node:worker_threads';
import { createLogger, type Level } from '../core/log';
import { runRepro, type ReproOptions, type ReproPhases } from './repro';
import type { RunRecord } from './run-record';

/** parent -> worker: run this cell (options without logger/onStep, which do not cross threads) */
export interface CellRequest {
  index: number;
  options: Omit<ReproOptions, 'logger' | 'onStep'>;
  logLevel?: Level;
}

/** worker -> parent */
export type CellReply = { index: number; record: RunRecord; phases: ReproPhases } | { index: number; error: string };

if (parentPort) {
  const port = parentPort;
  port.on('message', (req: CellRequest) => {
    const logger = req.logLevel ? createLogger({ level: req.logLevel, name: 'matrix' }) : undefined;
    runRepro({ ...req.options, ...(logger ? { logger } : {}) }).then(
      ({ record, phases }) => port.postMessage({ index: req.index, record, phases } satisfies CellReply),
      (err: unknown) => port.postMessage({ index: req.index, error: (err as Error)?.stack ?? String(err) } satisfies CellReply),
    );
  });
}
