// `nfs-testbed runs [list|show RUNID]`: the stored reproduction runs, readable or as one JSON document.
import type { Command } from 'commander';
import { ConfigError, TestbedError } from '../core/errors';
import { formatAt, parseNumber } from '../core/units';
import { VERDICT_TEXT, colourOn, paint, paintSummaryLine } from './style';
import { DEFAULT_RESULTS_DB } from '../lab/paths';
import { openResults, VERDICTS } from '../lab/results-db';
import type { MatrixSummary, RunFilter, RunSummary } from '../lab/results-db';
import { rowHarm, type RunRecord, type Verdict } from '../lab/run-record';

interface RunsOptions {
  db: string;
  json?: boolean;
  matrix?: string;
  policy?: string;
  drc?: string;
  scenario?: string;
  verdict?: string;
  limit: string;
  /** false with --no-color */
  color?: boolean;
}

export function register(program: Command): void {
  program
    .command('runs')
    .description('list the runs stored in the results database, show one run in full, or a matrix as a table')
    .argument('[action]', 'list | show | matrix', 'list')
    .argument('[id]', 'the run id (show) or matrix id (matrix; default the newest matrix)')
    .option('--db <file>', 'results database', DEFAULT_RESULTS_DB)
    .option('--json', 'print exactly one JSON document')
    .option('--matrix <id>', 'only runs of this matrix')
    .option('--policy <name>', 'only runs with this retransmit policy')
    .option('--drc <mode>', 'only runs with this DRC mode')
    .option('--scenario <name>', 'only runs of this scenario')
    .option('--verdict <v>', `only runs with this verdict (${VERDICTS.join(', ')}; any case)`)
    .option('--limit <n>', 'at most this many runs, newest first', '20')
    .option('--no-color', 'no colour even on a terminal (so does a non-empty NO_COLOR)')
    .action(async (action: string, runId: string | undefined, opts: RunsOptions) => {
      const out = runsCommand(action, runId, opts);
      process.stdout.write(opts.json ? JSON.stringify(out.doc, null, 2) + '\n' : out.text);
    });
}

function runsCommand(action: string, runId: string | undefined, opts: RunsOptions): { doc: unknown; text: string } {
  const colour = colourOn(process.stdout, opts.color);
  const view: TableView = { width: process.stdout.isTTY ? process.stdout.columns : undefined, paint: verdictPainter(colour) };
  if (action !== 'list' && action !== 'show' && action !== 'matrix') {
    throw new ConfigError('BAD_ACTION', `runs: unknown action "${action}" (list | show RUNID | matrix [MATRIXID])`);
  }
  if (action === 'show' && !runId) throw new ConfigError('MISSING_RUN_ID', 'runs show: give the run id (see `nfs-testbed runs list`)');
  if (action === 'list' && runId) throw new ConfigError('BAD_ACTION', `runs list takes no run id (did you mean \`runs show ${runId}\`?)`);
  const filter = parseFilter(opts);
  const db = openResults(opts.db, { mustExist: true });
  try {
    if (action === 'matrix') {
      const matrixId = runId ?? opts.matrix ?? db.listMatrices(1)[0]?.matrixId;
      const m = matrixId === undefined ? undefined : db.matrixSummary(matrixId);
      if (!m) throw new TestbedError('MATRIX_NOT_FOUND', matrixId === undefined ? `no matrix runs in ${opts.db}` : `no runs of matrix ${matrixId} in ${opts.db}`);
      return { doc: m, text: formatMatrix(m, colour) };
    }
    if (action === 'show') {
      const rec = db.getRun(runId!);
      if (!rec) throw new TestbedError('RUN_NOT_FOUND', `no run ${runId} in ${opts.db}`, { runId });
      return { doc: rec, text: formatRun(rec, colour) };
    }
    const runs = db.listRuns(filter);
    return { doc: { db: opts.db, runs }, text: formatList(runs, opts.db, view) };
  } finally {
    db.close();
  }
}

function parseFilter(opts: RunsOptions): RunFilter {
  const limit = parseNumber(opts.limit, '--limit', 1, 10_000);
  if (!Number.isInteger(limit)) throw new ConfigError('BAD_NUMBER', `--limit: expected an integer, got "${opts.limit}"`);
  // Any case: the table prints REPRODUCED and ERROR in capitals (VERDICT_TEXT), the database stores lower case.
  const verdict = opts.verdict?.toLowerCase();
  if (verdict !== undefined && !VERDICTS.includes(verdict as Verdict)) {
    throw new ConfigError('BAD_VERDICT', `--verdict: expected one of ${VERDICTS.join(', ')} (any case), got "${opts.verdict}"`);
  }
  return {
    limit,
    matrixId: opts.matrix,
    policy: opts.policy,
    drc: opts.drc,
    scenario: opts.scenario,
    verdict: verdict as Verdict | undefined,
  };
}

/** How a table is shown on a terminal. */
export interface TableView {
  /** the terminal's width: columns named in `dropOrder` are left out, in that order, until every line fits */
  width?: number;
  dropOrder?: readonly string[];
  /** colours a cell (codes do not count toward the column widths) */
  paint?(column: string, cell: string): string;
}

/** Left-aligned text columns, numbers right-aligned; on a terminal, fitted to its width (TableView). */
export function textTable(head: string[], rows: string[][], view: TableView = {}): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const isNum = head.map((_, i) => rows.length > 0 && rows.every((r) => /^-?[\d.]+$/.test(r[i])));
  let cols = head.map((_, i) => i);
  const lineWidth = () => cols.reduce((w, i) => w + widths[i], 0) + 2 * (cols.length - 1);
  const hidden: string[] = [];
  for (const name of view.dropOrder ?? []) {
    if (!view.width || lineWidth() <= view.width) break;
    const i = head.indexOf(name);
    if (!cols.includes(i)) continue;
    cols = cols.filter((c) => c !== i);
    hidden.push(name);
  }
  const line = (cells: string[], painted: boolean) =>
    cols
      .map((i, k) => {
        const last = k === cols.length - 1;
        const c = cells[i];
        const pad = isNum[i] ? ' '.repeat(widths[i] - c.length) : '';
        const tail = isNum[i] || last ? '' : ' '.repeat(widths[i] - c.length);
        return pad + (painted && view.paint ? view.paint(head[i], c) : c) + tail;
      })
      .join('  ');
  const out = [line(head, false), ...rows.map((r) => line(r, true))].join('\n') + '\n';
  if (!hidden.length) return out;
  const note = `(left out to fit ${view.width} columns: ${hidden.join(', ')}; piped or --json: all)`;
  return out + (note.length <= view.width! ? note : `(${hidden.length} columns left out to fit ${view.width}; piped or --json: all)`) + '\n';
}

/** Paints the verdict column. */
function verdictPainter(colour: boolean): TableView['paint'] {
  const byText = new Map<string, Verdict | 'mixed'>([...Object.entries(VERDICT_TEXT).map(([v, t]) => [t, v as Verdict] as const), ['mixed', 'mixed']]);
  return (column, cell) => (column === 'verdict' && byText.has(cell) ? paint(cell, byText.get(cell)!, colour) : cell);
}

/** The run id holds matrix, scenario, policy, DRC and seed, so those go first when the terminal is narrow. */
const LIST_DROP_ORDER = ['matrix', 'started', 'MiB/s', 'scenario', 'drc', 'policy', 'seed', 'exec', 'wire', 'late'];

function formatList(runs: RunSummary[], db: string, view: TableView): string {
  if (!runs.length) return `no runs match in ${db}\n`;
  return textTable(
    ['started', 'run', 'matrix', 'policy', 'drc', 'scenario', 'seed', 'verdict', 'late', 'wire', 'exec', 'corrupt', 'MiB/s'],
    runs.map((r) => [
      r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      r.runId,
      r.matrixId ?? '-',
      r.policy,
      r.drc,
      r.scenario,
      String(r.seed),
      VERDICT_TEXT[r.verdict],
      String(r.counters.lateTransmissions),
      String(r.counters.scribbledOnWire),
      String(r.counters.executedScribbled),
      String(r.counters.corruptBlocks),
      r.counters.throughputMiBps.toFixed(1),
    ]),
    { ...view, dropOrder: LIST_DROP_ORDER },
  );
}

/** A matrix summary as one text table per scenario: a line per (policy, DRC) cell, counters summed over repeats. */
export function formatMatrix(m: MatrixSummary, colour = false): string {
  const parts = [
    `matrix ${m.matrixId}: ${m.runs} runs (counters summed over repeats; MiB/s is the median; DRC age: modelled s from the ` +
      `original's execution to a duplicate's arrival at the server, min/median/max over the repeats; lag: worst p99 event-loop lag, modelled s)\n`,
  ];
  const f = (x: number) => (x >= 10 ? x.toFixed(0) : x.toFixed(1));
  const range = (r: { min: number; median: number; max: number } | undefined) => (r ? `${f(r.min)}/${f(r.median)}/${f(r.max)}` : '-');
  for (const scenario of m.scenarios) {
    const cells = m.cells.filter((c) => c.scenario === scenario);
    parts.push(
      `\nscenario ${scenario}\n` +
        textTable(
          ['policy', 'drc', 'verdict', 'reproduced', 'late', 'wire', 'exec', 'corrupt', 'partial', 'DRC age s', 'lag s', 'MiB/s'],
          cells.map((c) => [
            c.policy,
            c.drc,
            c.verdict === 'mixed' ? 'mixed' : VERDICT_TEXT[c.verdict],
            `${c.verdicts.reproduced}/${c.repeats}`,
            String(c.sums.lateTransmissions),
            String(c.sums.scribbledOnWire),
            String(c.sums.executedScribbled),
            String(c.sums.corruptBlocks),
            String(c.sums.partialDuplicates),
            range(c.timing.drcAgeS),
            c.timing.lagP99ModelS === undefined ? '-' : f(c.timing.lagP99ModelS),
            c.medians.throughputMiBps.toFixed(1),
          ]),
          { paint: verdictPainter(colour) },
        ),
    );
  }
  return parts.join('');
}

function formatRun(rec: RunRecord, colour: boolean): string {
  const { policy, drc, scenario, seed, timeScale, ...rest } = rec.config;
  const c = rec.counters;
  const at = (t: number) => formatAt(t, timeScale);
  const lines = [
    `run ${rec.runId}  ${paint(VERDICT_TEXT[rec.verdict], rec.verdict, colour)}${rec.matrixId ? `  (matrix ${rec.matrixId})` : ''}`,
    `  policy ${policy}  drc ${drc}  scenario ${scenario}  seed ${seed}  time scale ${timeScale}`,
    `  started ${rec.startedAt}  duration ${(rec.durationMs / 1000).toFixed(2)} s  version ${rec.version}`,
    ...rec.summary.map((s) => `  ${paintSummaryLine(s, colour)}`),
    ...(rec.error ? [`  error: ${rec.error.code}: ${rec.error.message}`] : []),
    ...(rec.capture ? [`  capture: ${rec.capture}`] : []),
    'counters:',
    `  writes ${c.writes}  bytes ${c.bytes}  retransmissions ${c.retransmissions}  throughput ${c.throughputMiBps.toFixed(1)} MiB/s`,
    `  late transmissions ${c.lateTransmissions}  partial duplicates ${c.partialDuplicates}  scribbled on wire ${c.scribbledOnWire}` +
      `  executed scribbled ${c.executedScribbled}  corrupt blocks ${c.corruptBlocks}`,
  ];
  if (Object.keys(rest).length) {
    lines.push('config:', ...Object.entries(rest).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`));
  }
  lines.push(`timeline (real seconds since the run began, modelled in brackets; time scale ${timeScale}):`);
  for (const s of rec.timeline.stalls) lines.push(`  stall ${s.direction}: ${at(s.start)} - ${at(s.end)}`);
  for (const row of rec.timeline.rows) {
    lines.push(`  ${row.xid}  ${rowHarm(row)}`);
    for (const e of [...row.events].sort((a, b) => a.t - b.t)) {
      lines.push(`    ${at(e.t).padStart(27)}  ${e.kind.padEnd(17)}${e.detail ? ` ${e.detail}` : ''}`.trimEnd());
    }
  }
  if (!rec.timeline.rows.length) lines.push('  (no affected XIDs)');
  lines.push(`netem events: ${rec.netemEvents.length} (--json for all)`);
  return lines.join('\n') + '\n';
}
