// The dashboard's HTML pages, rendered server-side as plain strings: inline CSS, no scripts, no external assets.
import type { RunRecord, Timeline, Verdict, XidHarm } from '../../lab/run-record';
import { rowHarm, XID_HARMS } from '../../lab/run-record';
import type { MatrixCell, MatrixInfo, MatrixSummary, RunFilter, RunSummary } from '../../lab/results-db';
import { esc, HARM_STYLES, lateBurstWindow, timelineParts, type TimelineParts } from './timeline-svg';
import { runPartUrl, type RunPart } from './run-parts';

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #0f172a; background: #f8fafc; }
header { background: #0f172a; color: #e2e8f0; padding: 10px 24px; display: flex; gap: 24px; align-items: baseline; }
header b { font-size: 16px; color: #fff; }
header a { color: #93c5fd; text-decoration: none; }
main { padding: 18px 24px 40px; max-width: 1400px; }
h1 { font-size: 20px; margin: 4px 0 14px; }
h2 { font-size: 16px; margin: 26px 0 8px; }
a { color: #1d4ed8; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #e2e8f0; padding: 5px 9px; text-align: left; vertical-align: top; }
th { background: #f1f5f9; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
pre { background: #fff; border: 1px solid #e2e8f0; padding: 10px; overflow-x: auto; margin: 0; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.v-reproduced { background: #fee2e2; color: #991b1b; }
.v-not-reproduced { background: #dcfce7; color: #166534; }
.v-error { background: #fef3c7; color: #92400e; }
.v-mixed { background: #ede9fe; color: #5b21b6; }
.kv th { width: 240px; }
.scroll { overflow-x: auto; max-width: 100%; }
table.runs { font-size: 13px; }
table.runs td, table.runs th { white-space: nowrap; padding: 4px 7px; }
table.runs th[title] { text-decoration: underline dotted; cursor: help; }
.grid { display: flex; gap: 28px; flex-wrap: wrap; align-items: flex-start; }
.summary { font-size: 15px; }
.plot { background: #fff; border: 1px solid #e2e8f0; padding: 6px; }
.plot svg { display: block; width: 100%; height: auto; }
/* The time axis stays in view while the rows scroll (the plot must not be a scroll container for this). */
.plot .axis-sticky { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 1px solid #cbd5e1; }
.matrix td.cell { min-width: 150px; }
.matrix td.cell a { color: inherit; text-decoration: none; display: block; }
.matrix .counts { font-size: 12px; opacity: 0.85; }
form.filters { display: flex; gap: 10px; flex-wrap: wrap; margin-bottom: 12px; align-items: end; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: #475569; }
form.filters input, form.filters select { font: inherit; padding: 3px 6px; }
.muted { color: #64748b; }
details { margin-top: 8px; }
summary { cursor: pointer; }
`;

export function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · nfs-testbed</title><style>${CSS}</style></head>
<body><header><b>nfs-testbed</b><a href="/">runs</a><a href="/matrix">matrices</a></header>
<main>${body}</main></body></html>`;
}

export function verdictBadge(v: Verdict | 'mixed'): string {
  const text = v === 'reproduced' ? 'REPRODUCED' : v === 'not-reproduced' ? 'not reproduced' : v;
  return `<span class="badge v-${esc(v)}" data-verdict="${esc(v)}">${esc(text)}</span>`;
}

const runLink = (id: string) => `<a class="mono" href="/runs/${encodeURIComponent(id)}">${esc(id)}</a>`;
const matrixLink = (id: string) => `<a class="mono" href="/matrix/${encodeURIComponent(id)}">${esc(id)}</a>`;
const num = (v: number, digits = 0) => `<td class="num">${esc(Number.isFinite(v) ? v.toFixed(digits) : '–')}</td>`;
const seconds = (msv: number) => `${(msv / 1000).toFixed(2)} s`;

export function runsPage(runs: RunSummary[], filter: RunFilter): string {
  const field = (name: keyof RunFilter, label: string) =>
    `<label>${label}<input name="${name === 'matrixId' ? 'matrix' : name}" value="${esc(String(filter[name] ?? ''))}" size="14"></label>`;
  const verdictSel = `<label>verdict<select name="verdict"><option value="">any</option>${(['reproduced', 'not-reproduced', 'error'] as const)
    .map((v) => `<option${filter.verdict === v ? ' selected' : ''}>${v}</option>`)
    .join('')}</select></label>`;
  const rows = runs
    .map(
      (r) => `<tr data-run="${esc(r.runId)}">
<td>${esc(r.startedAt.replace('T', ' ').replace(/(\.\d+)?Z$/, ''))}</td><td>${runLink(r.runId)}</td><td>${verdictBadge(r.verdict)}</td>
${num(r.counters.lateTransmissions)}${num(r.counters.scribbledOnWire)}${num(r.counters.executedScribbled)}${num(r.counters.corruptBlocks)}${num(r.counters.throughputMiBps, 1)}
<td>${esc(r.policy)}</td><td>${esc(r.drc)}</td><td>${esc(r.scenario)}</td>${num(r.seed)}
<td>${r.matrixId ? matrixLink(r.matrixId) : '<span class="muted">–</span>'}</td><td class="num">${seconds(r.durationMs)}</td></tr>`,
    )
    .join('\n');
  return layout(
    'Runs',
    `<h1>Runs</h1>
<form class="filters" method="get" action="/">${field('matrixId', 'matrix')}${field('policy', 'policy')}${field('drc', 'DRC')}${field('scenario', 'scenario')}${verdictSel}
<label>limit<input name="limit" value="${esc(String(filter.limit ?? 100))}" size="5"></label><button type="submit">filter</button></form>
${
  runs.length
    ? `<div class="scroll"><table class="runs"><thead><tr><th>started (UTC)</th><th>run</th><th>verdict</th>
<th title="late transmissions (client): bytes read from a buffer already returned to the caller">late</th><th title="scribbled on the wire (inspect): WRITEs in the capture carrying the scribble">wire</th>
<th title="scribbled executed (journal): scribbled WRITEs the server executed">exec</th><th title="corrupt blocks (verify)">corrupt</th><th>MiB/s</th><th>policy</th><th>DRC</th><th>scenario</th><th>seed</th><th>matrix</th><th>duration</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
    : '<p class="muted">No runs match. Runs appear here after <code>nfs-testbed repro</code> or <code>nfs-testbed matrix</code>.</p>'
}`,
  );
}

export function matrixListPage(ms: MatrixInfo[]): string {
  const rows = ms
    .map(
      (m) =>
        `<tr><td>${matrixLink(m.matrixId)}</td>${num(m.runs)}${num(m.reproduced)}<td class="mono">${esc(m.firstStartedAt)}</td><td class="mono">${esc(m.lastStartedAt)}</td></tr>`,
    )
    .join('\n');
  return layout(
    'Matrices',
    `<h1>Matrices</h1>${
      ms.length
        ? `<table><thead><tr><th>matrix</th><th>runs</th><th>reproduced</th><th>first run</th><th>last run</th></tr></thead><tbody>${rows}</tbody></table>`
        : '<p class="muted">No matrix runs yet (<code>nfs-testbed matrix</code>).</p>'
    }`,
  );
}

function matrixCell(m: MatrixSummary, c: MatrixCell | undefined): string {
  if (!c) return '<td class="cell muted">not run</td>';
  const q = new URLSearchParams({ matrix: m.matrixId, policy: c.policy, drc: c.drc, scenario: c.scenario });
  const tip = `seeds ${c.seeds.join(', ')}; median ${c.medians.throughputMiBps.toFixed(1)} MiB/s`;
  return `<td class="cell v-${esc(c.verdict)}" data-verdict="${esc(c.verdict)}" title="${esc(tip)}"><a href="/?${esc(q.toString())}">
<b>${esc(c.verdict === 'mixed' ? 'mixed' : c.verdict === 'reproduced' ? 'REPRODUCED' : c.verdict)}</b> ${c.verdicts.reproduced}/${c.repeats}
<div class="counts">late ${c.sums.lateTransmissions} · wire ${c.sums.scribbledOnWire} · exec ${c.sums.executedScribbled} · corrupt ${c.sums.corruptBlocks}${
    c.sums.partialDuplicates ? ` · partial ${c.sums.partialDuplicates}` : ''
  }</div><div class="counts">${c.medians.throughputMiBps.toFixed(1)} MiB/s</div></a></td>`;
}

export function matrixPage(m: MatrixSummary): string {
  const cellAt = new Map(m.cells.map((c) => [JSON.stringify([c.policy, c.drc, c.scenario]), c]));
  const tables = m.scenarios
    .map(
      (scenario) => `<h2>scenario <code>${esc(scenario)}</code></h2>
<table class="matrix" data-scenario="${esc(scenario)}"><thead><tr><th>policy \\ DRC</th>${m.drcs.map((d) => `<th>${esc(d)}</th>`).join('')}</tr></thead><tbody>
${m.policies
  .map((p) => `<tr><th>${esc(p)}</th>${m.drcs.map((d) => matrixCell(m, cellAt.get(JSON.stringify([p, d, scenario])))).join('')}</tr>`)
  .join('\n')}</tbody></table>`,
    )
    .join('\n');
  return layout(
    `Matrix ${m.matrixId}`,
    `<h1>Matrix <span class="mono">${esc(m.matrixId)}</span></h1>
<p class="muted">${m.runs} runs. Each cell: verdict of its repeats (reproduced/repeats), then sums over repeats of late transmissions (client),
scribbled WRITEs on the wire (inspect), scribbled WRITEs executed (journal), corrupt blocks (verify), and the median throughput.
<a href="/api/matrix/${encodeURIComponent(m.matrixId)}">JSON</a></p>${tables}`,
  );
}

function kvTable(entries: Array<[string, string]>): string {
  return `<table class="kv"><tbody>${entries.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</tbody></table>`;
}

/** A JSON document's outline for a page: scalars as they are, arrays and objects by size (the whole is linked). */
function outline(doc: unknown): string {
  if (doc === null || doc === undefined) return '<p class="muted">none stored</p>';
  if (typeof doc !== 'object' || Array.isArray(doc)) return `<p>${esc(Array.isArray(doc) ? `${doc.length} entries` : String(doc))}</p>`;
  return kvTable(
    Object.entries(doc as Record<string, unknown>).map(([k, v]): [string, string] => [
      k,
      Array.isArray(v)
        ? `<span class="muted">${v.length} entries</span>`
        : v !== null && typeof v === 'object'
          ? `<span class="muted">${Object.keys(v).length} fields</span>`
          : `<code>${esc(String(v))}</code>`,
    ]),
  );
}

const partLink = (runId: string, part: RunPart, text = 'JSON') => `<a href="${esc(runPartUrl(runId, part))}">${esc(text)}</a>`;

/** How many rows of each harm, most harmful first: "3 scribbled and executed, 1 late before the scribble only". */
function harmCounts(rows: Timeline['rows']): string {
  const n = new Map<XidHarm, number>();
  for (const r of rows) n.set(rowHarm(r), (n.get(rowHarm(r)) ?? 0) + 1);
  return XID_HARMS.filter((h) => n.has(h))
    .map((h) => `<span data-harm-count="${h}">${n.get(h)} ${esc(HARM_STYLES[h].label.replace(/^XID: /, ''))}</span>`)
    .join(', ');
}

/** A timeline plot whose axis stays in view while its rows scroll past (CSS position: sticky). */
function plot(id: string, parts: TimelineParts): string {
  return `<div class="plot timeline" id="${id}">${parts.legend}<div class="axis-sticky">${parts.axis}</div>${parts.rows}</div>`;
}

export function runPage(rec: RunRecord): string {
  const c = rec.counters;
  const { policy, drc, scenario, seed, timeScale, ...rest } = rec.config;
  const config = kvTable([
    ['policy', `<b>${esc(policy)}</b>`],
    ['DRC', esc(drc)],
    ['scenario', esc(scenario)],
    ['seed', esc(String(seed))],
    ['time scale', esc(String(timeScale))],
    ...Object.entries(rest).map(([k, v]): [string, string] => [k, `<code>${esc(typeof v === 'string' ? v : JSON.stringify(v))}</code>`]),
  ]);
  const counters = kvTable([
    ['WRITE calls', esc(String(c.writes))],
    ['bytes', esc(String(c.bytes))],
    ['retransmissions', esc(String(c.retransmissions))],
    ['late transmissions (client)', esc(String(c.lateTransmissions))],
    ['partial duplicates', esc(String(c.partialDuplicates))],
    ['scribbled on the wire (inspect)', esc(String(c.scribbledOnWire))],
    ['scribbled executed (journal)', esc(String(c.executedScribbled))],
    ['corrupt blocks (verify)', esc(String(c.corruptBlocks))],
    ['throughput', `${esc(c.throughputMiBps.toFixed(1))} MiB/s`],
  ]);
  const meta = kvTable([
    ['run', `<span class="mono">${esc(rec.runId)}</span>`],
    ['matrix', rec.matrixId ? matrixLink(rec.matrixId) : '–'],
    ['started', `<span class="mono">${esc(rec.startedAt)}</span>`],
    ['duration', esc(seconds(rec.durationMs))],
    ['version', esc(rec.version)],
    ['capture', rec.capture ? `<code>${esc(rec.capture)}</code>` : '–'],
    ...(rec.error ? [['error', `<code>${esc(rec.error.code)}</code> ${esc(rec.error.message)}`] as [string, string]] : []),
  ]);
  const tl = rec.timeline;
  const modelled = (tReal: number) => `${(tReal / timeScale / 1000).toFixed(3)} s`;
  const lastEvent = Math.max(0, ...tl.rows.flatMap((r) => r.events.map((e) => e.t)));
  const burst = lateBurstWindow(tl);
  const zoomParts = burst && timelineParts(tl, { timeScale, window: burst, focus: 'late-transmit', legend: false, idPrefix: 'tz', tooltips: false, title: `Reply to late transmission, run ${rec.runId}` });
  const zoom = zoomParts
    ? `<h2>Zoom: reply to late transmission <span class="muted">(${esc(modelled(burst.start))} – ${esc(modelled(burst.end))} modelled; the ${zoomParts.rowCount} XIDs transmitted late in it)</span></h2>
${plot('timeline-zoom', zoomParts)}`
    : '';
  const id = encodeURIComponent(rec.runId);
  const events = new Map<string, number>();
  for (const e of rec.netemEvents) {
    const name = String((e as { event?: unknown })?.event ?? '?');
    events.set(name, (events.get(name) ?? 0) + 1);
  }
  return layout(
    `Run ${rec.runId}`,
    `<h1>Run <span class="mono">${esc(rec.runId)}</span> ${verdictBadge(rec.verdict)}</h1>
<div class="summary">${rec.summary.map((l) => `<div>${esc(l)}</div>`).join('')}</div>
<h2 id="timeline-title"><span data-affected="${tl.rows.length}">${tl.rows.length} affected XID${tl.rows.length === 1 ? '' : 's'}</span>${tl.rows.length ? ` <span class="muted">(${harmCounts(tl.rows)}; most harmful first)</span>` : ''}</h2>
<p class="muted">Hover a row for its events and their times. The axis runs to the last event (${esc(modelled(lastEvent))} modelled); the run went on to ${esc(modelled(tl.end))}
(read-back, capture inspection). <a href="/runs/${id}/timeline.svg">SVG</a> · ${partLink(rec.runId, 'timeline', 'JSON')}</p>
${plot('timeline', timelineParts(tl, { timeScale, title: `Timeline of run ${rec.runId}` }))}${zoom}
<div class="grid"><div><h2>Counters</h2>${counters}</div><div><h2>Run</h2>${meta}</div><div><h2>Configuration</h2>${config}</div></div>
<div class="grid"><div><h2>Witnesses <span class="muted">${partLink(rec.runId, 'witnesses')}</span></h2>${outline(rec.witnesses)}</div>
<div><h2>Proxy events <span class="muted">${partLink(rec.runId, 'netem-events')}</span></h2>${kvTable([...events].map(([k, n]): [string, string] => [k, esc(String(n))]))}</div>
<div><h2>Client trace summary <span class="muted">${partLink(rec.runId, 'trace-summary')}</span></h2>${outline(rec.traceSummary)}</div>
<div><h2>Inspect findings <span class="muted">${partLink(rec.runId, 'findings')}</span></h2>${outline(rec.findings)}</div></div>
<p class="muted">The whole record: <a href="/api/runs/${id}">/api/runs/${esc(rec.runId)}</a></p>`,
  );
}

export function notFoundPage(what: string): string {
  return layout('Not found', `<h1>Not found</h1><p>${esc(what)}</p><p><a href="/">all runs</a></p>`);
}
