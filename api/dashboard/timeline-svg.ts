// Renders a run's timeline (RunRecord.timeline) as a self-contained SVG string: one row per affected XID, one
// mark per lifecycle event, the proxy's stall windows shaded. Pure: same input, same bytes; no DOM, no assets.
import type { Timeline, TimelineEvent, TimelineKind } from '../../lab/run-record';
import { TIMELINE_KINDS } from '../../lab/run-record';

export interface TimelineSvgOptions {
  /** the run's time scale: real ms = modelled ms x timeScale; the axis is in modelled seconds */
  timeScale: number;
  /** total width in px (default 1000) */
  width?: number;
  /** accessible title (default "Run timeline") */
  title?: string;
  /** draw only this window (real ms since run start); marks and stalls outside it are left out or clipped */
  window?: { start: number; end: number };
  /** draw the legend (default true) */
  legend?: boolean;
}

interface MarkStyle {
  label: string;
  color: string;
  /** SVG for the shape centred on (0, 0) */
  shape: (color: string) => string;
}

const R = 5.5;
const polygon = (pts: Array<[number, number]>, fill: string, stroke = 'none') =>
  `<polygon points="${pts.map(([x, y]) => `${fmt(x)},${fmt(y)}`).join(' ')}" fill="${fill}" stroke="${stroke}" stroke-width="1.2"/>`;
const star = (outer: number, inner: number, n: number): Array<[number, number]> =>
  Array.from({ length: n * 2 }, (_, i) => {
    const r = i % 2 ? inner : outer;
    const a = (Math.PI * i) / n - Math.PI / 2;
    return [r * Math.cos(a), r * Math.sin(a)];
  });

/** One distinct shape and colour per kind; the legend is drawn from the same table. */
export const MARK_STYLES: Record<TimelineKind, MarkStyle> = {
  transmit: { label: 'transmit (on the wire)', color: '#2563eb', shape: (c) => `<circle r="${R}" fill="${c}"/>` },
  timeout: {
    label: 'timeout',
    color: '#ea580c',
    shape: (c) => `<path d="M-4.5,-4.5L4.5,4.5M-4.5,4.5L4.5,-4.5" stroke="${c}" stroke-width="2.6" stroke-linecap="round"/>`,
  },
  'retransmit-queued': {
    label: 'retransmit queued',
    color: '#7c3aed',
    shape: (c) => `<rect x="-4.5" y="-4.5" width="9" height="9" fill="#fff" stroke="${c}" stroke-width="2.2"/>`,
  },
  reply: { label: 'reply', color: '#16a34a', shape: (c) => polygon([[0, -6.5], [6.5, 0], [0, 6.5], [-6.5, 0]], c) },
  complete: {
    label: 'complete (buffer back to caller)',
    color: '#065f46',
    shape: (c) => `<rect x="-1.75" y="-7" width="3.5" height="14" fill="${c}"/>`,
  },
  scribble: { label: 'scribble (caller overwrites buffer)', color: '#db2777', shape: (c) => polygon(star(7, 3, 5), c) },
  'late-transmit': {
    label: 'late transmit (after complete)',
    color: '#dc2626',
    shape: (c) => polygon([[-5.5, -7], [7.5, 0], [-5.5, 7]], c, '#450a0a'),
  },
  'server-exec': {
    label: 'server executes WRITE',
    color: '#0e7490',
    shape: (c) => polygon([[-6, -5], [6, -5], [0, 6]], c),
  },
};

const STALL_FILL: Record<Timeline['stalls'][number]['direction'], { fill: string; label: string }> = {
  both: { fill: '#94a3b8', label: 'stall, both directions' },
  upstream: { fill: '#f59e0b', label: 'stall, upstream only (client→server)' },
  downstream: { fill: '#38bdf8', label: 'stall, downstream only (server→client)' },
};

const MARK_STEP = 13; // px between marks stacked because they fall on the same spot
const LEFT = 118;
const RIGHT = 28;
const LEGEND_ROW_H = 22;

/**
 * The timeline as an SVG document. Every event mark is a `<g data-kind=KIND>` with a `<title>` giving the XID,
 * the modelled time and the real time; every stall window is a `<rect data-kind="stall" data-direction=...>`.
 * Legend swatches carry `data-legend` instead, so counting `[data-kind=...]` counts events only.
 */
export function timelineSvg(timeline: Timeline, opts: TimelineSvgOptions): string {
  const scale = opts.timeScale;
  if (!(scale > 0)) throw new RangeError(`timeScale must be > 0, got ${scale}`);
  const width = Math.max(480, opts.width ?? 1000);
  const win = opts.window;
  const inWindow = (t: number) => !win || (t >= win.start && t <= win.end);
  const rows = timeline.rows.map((r) => ({ xid: r.xid, events: r.events.filter((e) => inWindow(e.t)) }));
  const stalls = timeline.stalls
    .map((st) => (win ? { ...st, start: Math.max(st.start, win.start), end: Math.min(st.end, win.end) } : st))
    .filter((st) => st.end >= st.start);
  const events = rows.flatMap((r) => r.events);
  const modelSec = (tReal: number) => tReal / scale / 1000;
  const startSec = win ? modelSec(win.start) : 0;
  const endSec = win ? modelSec(win.end) : modelSec(Math.max(timeline.end, ...events.map((e) => e.t), ...stalls.map((st) => st.end), 0));
  const ticks = niceTicks(startSec, endSec > startSec ? endSec : startSec + 1);
  const [d0, d1] = win ? [startSec, endSec > startSec ? endSec : startSec + 1] : [0, ticks[ticks.length - 1]];
  const plotW = width - LEFT - RIGHT;
  const xSec = (sec: number) => LEFT + ((sec - d0) / (d1 - d0)) * plotW;
  const x = (tReal: number) => xSec(modelSec(tReal));

  // Lay out marks: events of a row closer than MARK_STEP px stack vertically, in time order top to bottom, so
  // a reply / complete / scribble burst stays readable while every mark keeps its true x.
  const rowsLaid = rows.map((row) => {
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
    return { xid: row.xid, clusters, depth: Math.max(1, ...clusters.map((c) => c.length)) };
  });
  const rowH = Math.max(34, Math.max(1, ...rowsLaid.map((r) => r.depth)) * MARK_STEP + 10);

  const legendItems = opts.legend === false ? [] : [
    ...TIMELINE_KINDS.map((k) => ({ kind: k as string, label: MARK_STYLES[k].label, swatch: MARK_STYLES[k].shape(MARK_STYLES[k].color) })),
    ...(['both', 'upstream', 'downstream'] as const).map((d) => ({
      kind: `stall-${d}`,
      label: STALL_FILL[d].label,
      swatch: `<rect x="-7" y="-7" width="14" height="14" fill="${STALL_FILL[d].fill}" fill-opacity="0.35"/>`,
    })),
  ];
  const legendCols = Math.max(1, Math.floor((width - 24) / 240));
  const legendH = legendItems.length ? Math.ceil(legendItems.length / legendCols) * LEGEND_ROW_H + 8 : 0;
  const plotTop = legendH + 30;
  const nRows = Math.max(1, rowsLaid.length);
  const plotBottom = plotTop + nRows * rowH;
  const height = plotBottom + 50;

  const out: string[] = [];
  const title = opts.title ?? 'Run timeline';
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
  );

  // Legend.
  out.push('<g class="legend">');
  legendItems.forEach((it, i) => {
    const lx = 12 + (i % legendCols) * ((width - 24) / legendCols);
    const ly = 14 + Math.floor(i / legendCols) * LEGEND_ROW_H;
    out.push(
      `<g data-legend="${esc(it.kind)}" transform="translate(${fmt(lx + 8)},${fmt(ly)})">${it.swatch}<text x="14" y="4" fill="#1e293b">${esc(it.label)}</text></g>`,
    );
  });
  out.push('</g>');

  // Row stripes and labels.
  rowsLaid.forEach((row, i) => {
    const y0 = plotTop + i * rowH;
    out.push(
      `<rect x="${LEFT}" y="${y0}" width="${plotW}" height="${rowH}" fill="${i % 2 ? '#f8fafc' : '#f1f5f9'}"/>`,
      `<text x="${LEFT - 10}" y="${fmt(y0 + rowH / 2 + 4)}" text-anchor="end" font-family="ui-monospace, 'DejaVu Sans Mono', monospace" fill="#0f172a">${esc(row.xid)}</text>`,
    );
  });
  if (!rowsLaid.length) {
    out.push(
      `<rect x="${LEFT}" y="${plotTop}" width="${plotW}" height="${rowH}" fill="#f8fafc"/>`,
      `<text x="${fmt(LEFT + plotW / 2)}" y="${fmt(plotTop + rowH / 2 + 4)}" text-anchor="middle" fill="#64748b">no affected XIDs in this run</text>`,
    );
  }

  // Stall windows over every row.
  for (const s of stalls) {
    const x0 = x(s.start);
    const w = Math.max(1.5, x(s.end) - x0);
    const st = STALL_FILL[s.direction] ?? STALL_FILL.both;
    out.push(
      `<rect data-kind="stall" data-direction="${esc(s.direction)}" x="${fmt(x0)}" y="${plotTop}" width="${fmt(w)}" height="${plotBottom - plotTop}" fill="${st.fill}" fill-opacity="0.3" stroke="${st.fill}" stroke-opacity="0.8">` +
        `<title>${esc(`${st.label}: ${sec(modelSec(s.start))} – ${sec(modelSec(s.end))} modelled (${sec(modelSec(s.end - s.start))})\nreal ${ms(s.start)} – ${ms(s.end)}`)}</title></rect>`,
    );
  }

  // Time axis (modelled seconds) with grid lines.
  out.push('<g class="axis" fill="#334155">');
  for (const tk of ticks) {
    if (tk < d0 - 1e-9 || tk > d1 + 1e-9) continue;
    const tx = xSec(tk);
    out.push(
      `<line x1="${fmt(tx)}" y1="${plotTop}" x2="${fmt(tx)}" y2="${plotBottom + 5}" stroke="#cbd5e1" stroke-width="1"/>`,
      `<text x="${fmt(tx)}" y="${plotBottom + 18}" text-anchor="middle">${esc(tickLabel(tk, ticks))}</text>`,
    );
  }
  out.push(
    `<line x1="${LEFT}" y1="${plotBottom}" x2="${LEFT + plotW}" y2="${plotBottom}" stroke="#475569"/>`,
    `<text x="${fmt(LEFT + plotW / 2)}" y="${plotBottom + 38}" text-anchor="middle" fill="#334155">time since run start, modelled seconds (time scale ${esc(String(scale))}: real = modelled × ${esc(String(scale))})</text>`,
    `<text x="${LEFT - 10}" y="${plotTop - 10}" text-anchor="end" font-weight="600" fill="#334155">XID</text>`,
    '</g>',
  );

  // Lifespan lines and marks.
  rowsLaid.forEach((row, i) => {
    const yMid = plotTop + i * rowH + rowH / 2;
    const all = row.clusters.flat();
    if (all.length > 1) {
      out.push(
        `<line x1="${fmt(x(all[0].t))}" y1="${fmt(yMid)}" x2="${fmt(x(all[all.length - 1].t))}" y2="${fmt(yMid)}" stroke="#94a3b8" stroke-width="1.5"/>`,
      );
    }
    for (const cluster of row.clusters) {
      cluster.forEach((e, j) => {
        const st = MARK_STYLES[e.kind];
        const ex = x(e.t);
        const ey = yMid + (j - (cluster.length - 1) / 2) * MARK_STEP;
        if (cluster.length > 1) {
          out.push(`<line x1="${fmt(ex)}" y1="${fmt(yMid)}" x2="${fmt(ex)}" y2="${fmt(ey)}" stroke="#cbd5e1" stroke-width="1"/>`);
        }
        const tip = [`${e.kind} · ${row.xid}`, `t = ${sec(modelSec(e.t))} modelled`, `real ${ms(e.t)}`, ...(e.detail ? [e.detail] : [])].join('\n');
        out.push(
          `<g data-kind="${esc(e.kind)}" data-xid="${esc(row.xid)}" transform="translate(${fmt(ex)},${fmt(ey)})">` +
            `<title>${esc(tip)}</title>${st ? st.shape(st.color) : `<circle r="${R}" fill="#000"/>`}</g>`,
        );
      });
    }
  });

  out.push('</svg>');
  return out.join('\n');
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
 * The window worth a closer look: from the first reply of an XID that was later transmitted late to the last
 * late transmission or server execution after it, padded; undefined when no XID has a late transmission.
 */
export function lateBurstWindow(timeline: Timeline): { start: number; end: number } | undefined {
  let start = Infinity;
  let end = -Infinity;
  for (const row of timeline.rows) {
    const late = row.events.filter((e) => e.kind === 'late-transmit');
    if (!late.length) continue;
    const lastLate = Math.max(...late.map((e) => e.t));
    const replies = row.events.filter((e) => e.kind === 'reply' && e.t <= lastLate);
    start = Math.min(start, ...(replies.length ? replies : late).map((e) => e.t));
    const after = row.events.filter((e) => e.kind === 'server-exec' && e.t >= lastLate);
    end = Math.max(end, lastLate, ...after.map((e) => e.t));
  }
  if (!Number.isFinite(start)) return undefined;
  const pad = Math.max((end - start) * 0.12, 1e-6);
  return { start: Math.max(0, start - pad), end: end + pad };
}

function tickLabel(v: number, ticks: number[]): string {
  const step = ticks.length > 1 ? ticks[1] - ticks[0] : 1;
  const digits = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return `${v.toFixed(digits)} s`;
}

const round = (v: number) => Math.round(v * 1e9) / 1e9;
const fmt = (v: number) => String(Math.round(v * 100) / 100);
const sec = (s: number) => `${s.toFixed(3)} s`;
const ms = (m: number) => `${m.toFixed(3)} ms`;

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
