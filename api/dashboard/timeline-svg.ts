// Renders a run's timeline (RunRecord.timeline) as SVG: one row per affected XID, most harmful first, one mark per
// lifecycle event, the proxy's stall windows shaded. Three parts of one width and one time scale (legend, axis,
// rows), so the run page can keep the axis in view while the rows scroll; timelineSvg() stacks them into one
// standalone document. Pure: same input, same bytes; no DOM, no assets.
import type { Timeline, TimelineEvent, TimelineKind, TimelineRow, XidHarm } from '../../lab/run-record';
import { lateIsHarmless, rowHarm, TIMELINE_KINDS, XID_HARMS } from '../../lab/run-record';

export interface TimelineSvgOptions {
  /** the run's time scale: real ms = modelled ms x timeScale; the axis is in modelled seconds */
  timeScale: number;
  /** total width in px (default 1000) */
  width?: number;
  /** accessible title (default "Run timeline") */
  title?: string;
  /** draw only this window (real ms since run start): marks outside it and rows with none in it are left out */
  window?: { start: number; end: number };
  /** with a window: draw only the rows with an event of this kind inside it (the zoom shows the late transmissions) */
  focus?: TimelineKind;
  /** draw the legend (default true) */
  legend?: boolean;
  /** prefix of the shape ids this SVG defines: SVGs inline in one page need distinct ones (default "tl") */
  idPrefix?: string;
  /** give each row its tooltip (default true; the run page's zoom leaves them to the full timeline above it) */
  tooltips?: boolean;
}

/** What a mark looks like: the event kinds, and a late transmission split by harm. */
type MarkKey = TimelineKind | 'late-transmit-harmless';

interface MarkStyle {
  label: string;
  /** SVG for the shape centred on (0, 0) */
  shape: string;
}

const R = 5.5;
/** Coordinates to 0.1 px: finer is invisible and only makes the page heavier. */
const fmt = (v: number) => String(Math.round(v * 10) / 10);
const polygon = (pts: Array<[number, number]>, fill: string, stroke = 'none') =>
  `<polygon points="${pts.map(([x, y]) => `${fmt(x)},${fmt(y)}`).join(' ')}" fill="${fill}" stroke="${stroke}" stroke-width="1.4"/>`;
const star = (outer: number, inner: number, n: number): Array<[number, number]> =>
  Array.from({ length: n * 2 }, (_, i) => {
    const r = i % 2 ? inner : outer;
    const a = (Math.PI * i) / n - Math.PI / 2;
    return [r * Math.cos(a), r * Math.sin(a)];
  });
const TRIANGLE: Array<[number, number]> = [[-5.5, -7], [7.5, 0], [-5.5, 7]];

/**
 * One distinct shape per kind; the legend is drawn from the same table. A late transmission that left before the
 * scribble (lab/run-record.ts lateIsHarmless) is a hollow green triangle, one that may carry the scribble a solid red one.
 */
export const MARK_STYLES: Record<MarkKey, MarkStyle> = {
  transmit: { label: 'transmit (on the wire)', shape: `<circle r="${R}" fill="#2563eb"/>` },
  timeout: {
    label: 'timeout',
    shape: '<path d="M-4.5,-4.5L4.5,4.5M-4.5,4.5L4.5,-4.5" stroke="#ea580c" stroke-width="2.6" stroke-linecap="round"/>',
  },
  'retransmit-queued': { label: 'retransmit queued', shape: '<rect x="-4.5" y="-4.5" width="9" height="9" fill="#fff" stroke="#7c3aed" stroke-width="2.2"/>' },
  reply: { label: 'reply', shape: polygon([[0, -6.5], [6.5, 0], [0, 6.5], [-6.5, 0]], '#16a34a') },
  complete: { label: 'complete (buffer back to caller)', shape: '<rect x="-1.75" y="-7" width="3.5" height="14" fill="#065f46"/>' },
  scribble: { label: 'scribble (caller overwrites buffer)', shape: polygon(star(7, 3, 5), '#db2777') },
  'late-transmit': { label: 'late transmit after the scribble (harmful)', shape: polygon(TRIANGLE, '#dc2626', '#450a0a') },
  'late-transmit-harmless': { label: 'late transmit before the scribble (harmless)', shape: polygon(TRIANGLE, '#fff', '#15803d') },
  'server-exec': { label: 'server executes WRITE', shape: polygon([[-6, -5], [6, -5], [0, 6]], '#0e7490') },
};
const MARK_KEYS = [...TIMELINE_KINDS.flatMap((k): MarkKey[] => (k === 'late-transmit' ? [k, 'late-transmit-harmless'] : [k]))];
/** Each shape is defined once per SVG and used by every mark: `#${prefix}${index}` (short, as there are thousands). */
const shapeId = (prefix: string, key: MarkKey) => `${prefix}${MARK_KEYS.indexOf(key)}`;

/** The colour of a row's harm swatch, next to its XID, and its legend text. */
export const HARM_STYLES: Record<XidHarm, { color: string; label: string }> = {
  'executed-scribbled': { color: '#7f1d1d', label: 'XID: scribbled and executed' },
  'scribbled-on-wire': { color: '#ea580c', label: 'XID: scribbled on the wire' },
  'late-after-scribble': { color: '#facc15', label: 'XID: late after the scribble' },
  'late-before-scribble': { color: '#86efac', label: 'XID: late before the scribble only' },
  retransmitted: { color: '#cbd5e1', label: 'XID: retransmitted' },
};

const STALL_FILL: Record<Timeline['stalls'][number]['direction'], { fill: string; label: string }> = {
  both: { fill: '#94a3b8', label: 'stall, both directions' },
  upstream: { fill: '#f59e0b', label: 'stall, upstream only (client→server)' },
  downstream: { fill: '#38bdf8', label: 'stall, downstream only (server→client)' },
};

const MARK_STEP = 13; // px between marks stacked because they fall on the same spot
const LEFT = 128;
const RIGHT = 28;
const LEGEND_ROW_H = 22;
const AXIS_H = 46;
const MONO = `font-family="ui-monospace, 'DejaVu Sans Mono', monospace"`;

interface Layout {
  width: number;
  plotW: number;
  /** y: the row's middle; h: its height (as tall as its deepest stack of marks) */
  rows: Array<{ row: TimelineRow; harm: XidHarm; clusters: TimelineEvent[][]; y: number; h: number }>;
  /** height of all rows */
  height: number;
  stalls: Timeline['stalls'];
  ticks: number[];
  d0: number;
  d1: number;
  scale: number;
  xSec(sec: number): number;
  x(tReal: number): number;
}

function layout(timeline: Timeline, opts: TimelineSvgOptions): Layout {
  const scale = opts.timeScale;
  if (!(scale > 0)) throw new RangeError(`timeScale must be > 0, got ${scale}`);
  const width = Math.max(480, opts.width ?? 1000);
  const win = opts.window;
  const inWindow = (t: number) => !win || (t >= win.start && t <= win.end);
  // Most harmful first: stored rows are in this order already; older records are sorted here.
  const rows = timeline.rows
    .map((r, i) => ({ row: { ...r, events: r.events.filter((e) => inWindow(e.t)) }, harm: rowHarm(r), i }))
    .filter((r) => !win || (opts.focus ? r.row.events.some((e) => e.kind === opts.focus) : r.row.events.length > 0))
    .sort((a, b) => XID_HARMS.indexOf(a.harm) - XID_HARMS.indexOf(b.harm) || a.i - b.i);
  const modelSec = (tReal: number) => tReal / scale / 1000;
  // The range fits the events (the run itself goes on to read back and inspect, which the rows do not show).
  const eventEnd = Math.max(0, ...rows.flatMap((r) => r.row.events.map((e) => e.t)));
  const lastReal = rows.some((r) => r.row.events.length) ? eventEnd : Math.max(timeline.end, ...timeline.stalls.map((s) => s.end), 0);
  let d0: number;
  let d1: number;
  let ticks: number[];
  if (win) {
    d0 = modelSec(win.start);
    d1 = Math.max(modelSec(win.end), d0 + 1e-6);
    ticks = niceTicks(d0, d1).filter((t) => t >= d0 - 1e-9 && t <= d1 + 1e-9);
  } else {
    ticks = niceTicks(0, Math.max(modelSec(lastReal), 1e-6));
    [d0, d1] = [0, ticks[ticks.length - 1]];
  }
  const [r0, r1] = [d0 * scale * 1000, d1 * scale * 1000];
  const stalls = timeline.stalls.map((st) => ({ ...st, start: Math.max(st.start, r0), end: Math.min(st.end, r1) })).filter((st) => st.end > st.start);
  const plotW = width - LEFT - RIGHT;
  const xSec = (sec: number) => LEFT + ((sec - d0) / (d1 - d0)) * plotW;
  const x = (tReal: number) => xSec(modelSec(tReal));
  // Events of a row closer than MARK_STEP px stack vertically, in time order top to bottom, so a reply / complete /
  // scribble burst stays readable while every mark keeps its true x.
  const laid = rows.map(({ row, harm }) => {
    const sorted = [...row.events].sort((a, b) => a.t - b.t || TIMELINE_KINDS.indexOf(a.kind) - TIMELINE_KINDS.indexOf(b.kind));
    const clusters: TimelineEvent[][] = [];
    let anchor = -Infinity;
    for (const e of sorted) {
      if (x(e.t) - anchor < MARK_STEP && clusters.length) clusters[clusters.length - 1].push(e);
      else {
        clusters.push([e]);
        anchor = x(e.t);
      }
    }
    const h = Math.max(30, Math.max(1, ...clusters.map((c) => c.length)) * MARK_STEP + 8);
    return { row, harm, clusters, y: 0, h };
  });
  let y = 0;
  for (const r of laid) {
    r.y = y + r.h / 2;
    y += r.h;
  }
  return { width, plotW, rows: laid, height: Math.max(30, y) + 6, stalls, ticks, d0, d1, scale, xSec, x };
}

const svgOpen = (width: number, height: number, title: string, extra = '') =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${fmt(height)}" viewBox="0 0 ${width} ${fmt(height)}" role="img" aria-label="${esc(title)}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12"${extra}><title>${esc(title)}</title>`;

function legendBody(width: number): { body: string; height: number } {
  const items = [
    ...MARK_KEYS.map((k) => ({ key: k as string, label: MARK_STYLES[k].label, swatch: MARK_STYLES[k].shape })),
    ...(['both', 'upstream', 'downstream'] as const).map((d) => ({
      key: `stall-${d}`,
      label: STALL_FILL[d].label,
      swatch: `<rect x="-7" y="-7" width="14" height="14" fill="${STALL_FILL[d].fill}" fill-opacity="0.35"/>`,
    })),
    ...XID_HARMS.map((h) => ({ key: `harm-${h}`, label: HARM_STYLES[h].label, swatch: `<rect x="-5" y="-5" width="10" height="10" fill="${HARM_STYLES[h].color}"/>` })),
  ];
  const cols = Math.max(1, Math.floor((width - 24) / 300));
  const out = items.map((it, i) => {
    const lx = 12 + (i % cols) * ((width - 24) / cols);
    const ly = 14 + Math.floor(i / cols) * LEGEND_ROW_H;
    return `<g data-legend="${esc(it.key)}" transform="translate(${fmt(lx + 8)},${fmt(ly)})">${it.swatch}<text x="14" y="4" fill="#1e293b">${esc(it.label)}</text></g>`;
  });
  return { body: `<g class="legend">${out.join('')}</g>`, height: Math.ceil(items.length / cols) * LEGEND_ROW_H + 8 };
}

function axisBody(l: Layout): string {
  const out = ['<g class="axis" fill="#334155">'];
  for (const tk of l.ticks) {
    const tx = fmt(l.xSec(tk));
    out.push(`<line x1="${tx}" y1="${AXIS_H - 9}" x2="${tx}" y2="${AXIS_H}" stroke="#475569"/><text x="${tx}" y="${AXIS_H - 14}" text-anchor="middle">${esc(tickLabel(tk, l.ticks))}</text>`);
  }
  out.push(
    `<line x1="${LEFT}" y1="${AXIS_H - 0.5}" x2="${LEFT + l.plotW}" y2="${AXIS_H - 0.5}" stroke="#475569"/>`,
    `<text x="${LEFT + l.plotW}" y="11" text-anchor="end" fill="#64748b" font-size="11">modelled seconds since run start (real = modelled × ${esc(String(l.scale))})</text>`,
    `<text x="8" y="${AXIS_H - 14}" font-weight="600">XID</text>`,
    '</g>',
  );
  return out.join('');
}

function rowsBody(l: Layout, p: string, tooltips: boolean): { body: string; height: number } {
  const height = l.height;
  const out: string[] = [`<defs>${MARK_KEYS.map((k) => `<g id="${shapeId(p, k)}" data-shape="${k}">${MARK_STYLES[k].shape}</g>`).join('')}</defs>`];
  out.push('<g class="grid" stroke="#e2e8f0">');
  for (const tk of l.ticks) out.push(`<line x1="${fmt(l.xSec(tk))}" y1="0" x2="${fmt(l.xSec(tk))}" y2="${fmt(height)}"/>`);
  out.push('</g>');
  if (!l.rows.length) {
    out.push(`<text x="${fmt(LEFT + l.plotW / 2)}" y="19" text-anchor="middle" fill="#64748b">no affected XIDs in this run</text>`);
  }
  for (const s of l.stalls) {
    const x0 = l.x(s.start);
    const st = STALL_FILL[s.direction] ?? STALL_FILL.both;
    const secs = (t: number) => `${(t / l.scale / 1000).toFixed(3)} s`;
    out.push(
      `<rect data-kind="stall" data-direction="${esc(s.direction)}" x="${fmt(x0)}" y="0" width="${fmt(Math.max(1.5, l.x(s.end) - x0))}" height="${fmt(height)}" fill="${st.fill}" fill-opacity="0.25">` +
        `<title>${esc(`${st.label}: ${secs(s.start)} – ${secs(s.end)} (${secs(s.end - s.start)})`)}</title></rect>`,
    );
  }
  // Row separators as one path: a per-row element costs ~60 bytes times a hundred rows.
  out.push(`<path d="${l.rows.map((r) => `M${LEFT},${fmt(r.y + r.h / 2)}H${LEFT + l.plotW}`).join('')}" stroke="#f1f5f9"/>`);
  out.push(`<g ${MONO} fill="#0f172a">`);
  for (const { row, harm, clusters, y: yMid } of l.rows) {
    const all = clusters.flat();
    const sec = (t: number) => `${(t / l.scale / 1000).toFixed(3)} s`;
    // One tooltip per row (its XID, its harm, each event with its modelled time, in time order) rather than one per
    // mark: a default run has ~1,500 marks, and per-mark tooltips were half the page's weight.
    const tip = [
      `${row.xid} · ${HARM_STYLES[harm].label.replace(/^XID: /, '')}`,
      ...all
        .slice()
        .sort((a, b) => a.t - b.t)
        .map((e) => `${sec(e.t)} ${e.kind}${e.detail ? ` · ${e.detail}` : ''}${e.kind !== 'late-transmit' ? '' : lateIsHarmless(e, row.events) ? ' · before the scribble: harmless' : ' · at or after the scribble'}`),
    ].join('\n');
    out.push(
      `<g data-xid="${esc(row.xid)}" data-harm="${harm}" transform="translate(0,${fmt(yMid)})">${tooltips ? `<title>${esc(tip)}</title>` : ''}`,
      `<rect x="8" y="-5" width="10" height="10" fill="${HARM_STYLES[harm].color}"/><text x="${LEFT - 10}" y="4" text-anchor="end">${esc(row.xid)}</text>`,
    );
    if (all.length > 1) out.push(`<line x1="${fmt(l.x(all[0].t))}" y1="0" x2="${fmt(l.x(all[all.length - 1].t))}" y2="0" stroke="#94a3b8" stroke-width="1.5"/>`);
    for (const cluster of clusters) {
      cluster.forEach((e, j) => {
        const dy = (j - (cluster.length - 1) / 2) * MARK_STEP;
        const harmless = e.kind === 'late-transmit' && lateIsHarmless(e, row.events);
        const harmAttr = e.kind === 'late-transmit' ? ` data-harm="${harmless ? 'harmless' : 'harmful'}"` : '';
        out.push(`<use href="#${shapeId(p, harmless ? 'late-transmit-harmless' : e.kind)}" x="${fmt(l.x(e.t))}"${dy ? ` y="${fmt(dy)}"` : ''}${harmAttr}/>`);
      });
    }
    out.push('</g>');
  }
  out.push('</g>');
  return { body: out.join('\n'), height };
}

export interface TimelineParts {
  /** the marks' and stalls' key, or '' when opts.legend is false */
  legend: string;
  /** the time axis alone (modelled seconds), to be kept in view above the rows */
  axis: string;
  /** one row per XID, a `<g data-xid=... data-harm=...>` with a `<title>` listing its events; every mark a `<use>` of a shape `<g data-shape=KIND>` */
  rows: string;
  /** rows drawn (a window leaves out rows with no event in it) */
  rowCount: number;
}

/** The timeline as three SVG documents of one width and one x scale. */
export function timelineParts(timeline: Timeline, opts: TimelineSvgOptions): TimelineParts {
  const l = layout(timeline, opts);
  const title = opts.title ?? 'Run timeline';
  const legend = opts.legend === false ? undefined : legendBody(l.width);
  const rows = rowsBody(l, opts.idPrefix ?? 'tl', opts.tooltips !== false);
  return {
    legend: legend ? `${svgOpen(l.width, legend.height, `${title}: legend`, ' class="tl-legend"')}${legend.body}</svg>` : '',
    axis: `${svgOpen(l.width, AXIS_H + 2, `${title}: time axis`, ' class="tl-axis"')}${axisBody(l)}</svg>`,
    rows: `${svgOpen(l.width, rows.height, title, ' class="tl-rows"')}\n${rows.body}\n</svg>`,
    rowCount: l.rows.length,
  };
}

/**
 * The timeline as one SVG document: legend, axis, rows. Each row is a `<g data-xid=... data-harm=...>` whose `<title>`
 * lists its events with their modelled times; every event mark in it is a `<use>` of the shape defined once as
 * `<g id=... data-shape=KIND>` (late-transmit-harmless for a late transmission before the scribble), a late
 * transmission's mark also carrying data-harm harmless|harmful. Every stall window is a `<rect data-kind="stall"
 * data-direction=...>`. Legend swatches carry `data-legend`.
 */
export function timelineSvg(timeline: Timeline, opts: TimelineSvgOptions): string {
  const l = layout(timeline, opts);
  const title = opts.title ?? 'Run timeline';
  const legend = opts.legend === false ? { body: '', height: 0 } : legendBody(l.width);
  const rows = rowsBody(l, opts.idPrefix ?? 'tl', opts.tooltips !== false);
  const height = legend.height + AXIS_H + 2 + rows.height;
  return [
    svgOpen(l.width, height, title),
    `<rect width="${l.width}" height="${fmt(height)}" fill="#fff"/>`,
    legend.body,
    `<g transform="translate(0,${fmt(legend.height)})">${axisBody(l)}</g>`,
    `<g transform="translate(0,${fmt(legend.height + AXIS_H + 2)})">`,
    rows.body,
    '</g>',
    '</svg>',
  ].join('\n');
}

/** 1-2-5 ticks covering [min, max] (multiples of the step, the last one >= max), about 6 to 10 of them. */
export function niceTicks(min: number, max: number): number[] {
  const span = max - min;
  const mag = 10 ** Math.floor(Math.log10(span / 8));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((st) => span / st <= 10) ?? 10 * mag;
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  return Array.from({ length: last - first + 1 }, (_, i) => round((first + i) * step));
}

/**
 * The window worth a closer look, for the most harmful XID that was transmitted late: from its first reply to its
 * last late transmission or server execution after it, padded; the zoom shows every XID with an event in it.
 * Undefined when no XID has a late transmission.
 */
export function lateBurstWindow(timeline: Timeline): { start: number; end: number } | undefined {
  const rows = [...timeline.rows].sort((a, b) => XID_HARMS.indexOf(rowHarm(a)) - XID_HARMS.indexOf(rowHarm(b)));
  const row = rows.find((r) => r.events.some((e) => e.kind === 'late-transmit'));
  if (!row) return undefined;
  const lastLate = Math.max(...row.events.filter((e) => e.kind === 'late-transmit').map((e) => e.t));
  const replies = row.events.filter((e) => e.kind === 'reply' && e.t <= lastLate);
  const start = Math.min(lastLate, ...replies.map((e) => e.t));
  const end = Math.max(lastLate, ...row.events.filter((e) => e.kind === 'server-exec' && e.t >= lastLate).map((e) => e.t));
  const pad = Math.max((end - start) * 0.12, 1e-6);
  return { start: Math.max(0, start - pad), end: end + pad };
}

function tickLabel(v: number, ticks: number[]): string {
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return `${v.toFixed(digits)} s`;
}

const round = (v: number) => Math.round(v * 1e9) / 1e9;

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
