// The dashboard's routes through server.inject, and the timeline SVG as a pure function of RunRecord.timeline.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from '@hapi/hapi';
import { createDashboard } from '../api/dashboard/server';
import { lateBurstWindow, niceTicks, timelineParts, timelineSvg } from '../api/dashboard/timeline-svg';
import { openResults } from '../lab/results-db';
import type { MatrixSummary, ResultsDb, RunSummary } from '../lab/results-db';
import { lateIsHarmless, matrixRunId, TIMELINE_KINDS, XID_HARMS } from '../lab/run-record';
import type { RunRecord, Timeline } from '../lab/run-record';
import { AFFECTED_XIDS, HARMLESS_XID, harmlessLateRow, makeRecord, SCALE, seededTimeline } from './support/lab-records';

/** Real ms for a modelled second at SCALE. */
const at = (modelSec: number) => modelSec * 1000 * SCALE;

/** The event marks (uses of a shape `<g id data-shape=KIND>`, both late shapes as late-transmit) and stall windows, counted. */
function kinds(markup: string): Record<string, number> {
  const shapes = new Map([...markup.matchAll(/<g id="([^"]+)" data-shape="([^"]+)"/g)].map((m) => [m[1], m[2].replace(/-harmless$/, '')]));
  const n: Record<string, number> = {};
  const add = (k: string) => (n[k] = (n[k] ?? 0) + 1);
  for (const m of markup.matchAll(/<use href="#([^"]+)"/g)) add(shapes.get(m[1]) ?? `unknown ${m[1]}`);
  for (const m of markup.matchAll(/data-kind="([^"]+)"/g)) add(m[1]);
  return n;
}

describe('timelineSvg', () => {
  const svg = timelineSvg(seededTimeline(), { timeScale: SCALE });

  test('one mark per event with its kind, one shaded rect per stall window', () => {
    const expected: Record<string, number> = { stall: 2 };
    for (const row of seededTimeline().rows) for (const e of row.events) expected[e.kind] = (expected[e.kind] ?? 0) + 1;
    assert.deepEqual(kinds(svg), expected);
    for (const k of TIMELINE_KINDS) assert.ok(expected[k] > 0, `the fixture exercises ${k}`);
  });

  test('every XID row has a tooltip listing each of its events with its modelled time', () => {
    const rows = [...svg.matchAll(/<g data-xid="([^"]+)" data-harm="([^"]+)"[^>]*><title>([^<]*)<\/title>([\s\S]*?)\n<\/g>/g)];
    assert.deepEqual(rows.map((r) => r[1]), AFFECTED_XIDS);
    for (const [, xid, harm, title, body] of rows) {
      const lines = title.split('\n');
      assert.equal(lines[0], `${xid} · scribbled and executed`, harm);
      assert.equal(lines.length - 1, 9);
      assert.equal((body.match(/<use /g) ?? []).length, 9, 'one mark per event');
      for (const line of lines.slice(1)) assert.match(line, /^\d+\.\d{3} s [a-z-]+/, line);
    }
    // 61.7 real ms at time scale 0.001 is 61.7 s of the seed's time.
    assert.ok(svg.includes('\n61.700 s timeout · minor timeout after timeo 60 s\n'));
    assert.ok(svg.includes('67.400 s late-transmit · duplicate sent from released buffer · at or after the scribble'));
  });

  test('one labelled row per affected XID; the axis is in modelled seconds', () => {
    for (const xid of AFFECTED_XIDS) assert.match(svg, new RegExp(`>${xid}</text>`));
    assert.match(svg, />0 s</);
    assert.match(svg, />60 s</);
    assert.match(svg, />70 s</);
    assert.match(svg, /real = modelled × 0\.001/);
  });

  test('the legend names every kind, both kinds of late transmission and every harm, without counting as a mark', () => {
    for (const k of TIMELINE_KINDS) assert.match(svg, new RegExp(`data-legend="${k}"`));
    assert.match(svg, /data-legend="late-transmit-harmless"[^>]*>.*?before the scribble \(harmless\)/);
    assert.match(svg, /data-legend="late-transmit"[^>]*>.*?after the scribble \(harmful\)/);
    for (const h of XID_HARMS) assert.match(svg, new RegExp(`data-legend="harm-${h}"`));
  });

  test('the same timeline at another time scale moves the axis, not the marks', () => {
    const real = timelineSvg(seededTimeline(), { timeScale: 1 });
    assert.deepEqual(kinds(real), kinds(svg));
    assert.match(real, />0\.07 s</); // 70 real ms of a real-time run
  });

  test('text from the record is escaped', () => {
    const tl: Timeline = { rows: [{ xid: '<x&y>', events: [{ t: 1, kind: 'reply', detail: '"quoted" <b>' }] }], stalls: [], end: 2 };
    const out = timelineSvg(tl, { timeScale: 1 });
    assert.doesNotMatch(out, /<x&y>|<b>/);
    assert.match(out, /&lt;x&amp;y&gt;/);
    assert.match(out, /&quot;quoted&quot; &lt;b&gt;/);
  });

  test('an empty timeline still renders, and says so', () => {
    const out = timelineSvg({ rows: [], stalls: [], end: 0 }, { timeScale: 0.001 });
    assert.match(out, /^<svg /);
    assert.match(out, /no affected XIDs/);
    assert.deepEqual(kinds(out), {});
  });

  // Issue 21: a harmless late transmission (it left before the caller scribbled) had the same red mark as a harmful one.
  test('a late transmission before the scribble is drawn as harmless, one after it as harmful', () => {
    const tl = seededTimeline();
    tl.rows.push(harmlessLateRow());
    const out = timelineSvg(tl, { timeScale: SCALE });
    const lates = [...out.matchAll(/<use href="#(tl\d+)" x="[\d.]+"(?: y="[-\d.]+")? data-harm="([a-z]+)"\/>/g)];
    assert.deepEqual(lates.map((m) => m[2]), ['harmful', 'harmful', 'harmful', 'harmless']);
    assert.notEqual(lates[3][1], lates[0][1], 'a different shape');
    assert.match(out, new RegExp(`id="${lates[3][1]}" data-shape="late-transmit-harmless"`));
    assert.match(out, /67\.200 s late-transmit · attempt 1 · before the scribble: harmless/);
    assert.equal(lateIsHarmless(harmlessLateRow().events[6], harmlessLateRow().events), true);
    assert.equal(lateIsHarmless(tl.rows[0].events[7], tl.rows[0].events), false);
  });

  test('rows are ordered most harmful first, older records by what their events show', () => {
    const tl = seededTimeline();
    const old = harmlessLateRow();
    delete old.harm; // a row stored before schema 3
    tl.rows.unshift(old, { xid: '0x00000001', events: [{ t: 1, kind: 'retransmit-queued' }] });
    tl.rows[2].harm = 'scribbled-on-wire';
    const order = [...timelineSvg(tl, { timeScale: SCALE }).matchAll(/<g data-xid="([^"]+)" data-harm="([^"]+)"/g)].map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(order, [
      `${AFFECTED_XIDS[1]} executed-scribbled`,
      `${AFFECTED_XIDS[2]} executed-scribbled`,
      `${AFFECTED_XIDS[0]} scribbled-on-wire`,
      `${HARMLESS_XID} late-before-scribble`,
      '0x00000001 retransmitted',
    ]);
  });

  // Issue 21: the overview axis ran to the run's end (2,500 s) where the events ended near 900 s.
  test('the overview range fits the events, not the end of the run', () => {
    const tl = seededTimeline();
    tl.end = 2500 * SCALE * 1000;
    tl.stalls.push({ start: 1000 * SCALE * 1000, end: 1065 * SCALE * 1000, direction: 'both' });
    const out = timelineSvg(tl, { timeScale: SCALE });
    const ticks = [...out.matchAll(/text-anchor="middle">([\d.]+) s</g)].map((m) => Number(m[1]));
    assert.equal(ticks[ticks.length - 1], 70, 'the last event is at 67.55 s');
    assert.equal(kinds(out).stall, 2, 'a stall after the last event is not drawn');
  });

  test('the parts share one width and one x scale, so the page can keep the axis in view', () => {
    const parts = timelineParts(seededTimeline(), { timeScale: SCALE });
    const widths = [parts.legend, parts.axis, parts.rows].map((p) => /^<svg [^>]*width="(\d+)"/.exec(p)?.[1]);
    assert.deepEqual(widths, ['1000', '1000', '1000']);
    const tickX = [...parts.axis.matchAll(/<text x="([\d.]+)" y="\d+" text-anchor="middle">/g)].map((m) => m[1]);
    const gridX = [...parts.rows.matchAll(/<line x1="([\d.]+)" y1="0" x2="\1"/g)].map((m) => m[1]);
    assert.deepEqual(gridX, tickX);
    assert.equal(kinds(parts.rows)['late-transmit'], 3);
    assert.deepEqual(kinds(parts.axis + parts.legend), {});
    assert.equal(parts.rowCount, 3);
  });

  test('a window keeps only what falls in it and clips the stalls; the zoom shows the late XIDs', () => {
    const w = lateBurstWindow(seededTimeline())!;
    // From the first XID's reply (67.000 s) to its duplicate executed (67.450 s), padded.
    assert.ok(w.start < 67 * SCALE * 1000 && w.start > 66.9 * SCALE * 1000);
    assert.ok(w.end > 67.45 * SCALE * 1000 && w.end < 67.6 * SCALE * 1000);
    const out = timelineSvg(seededTimeline(), { timeScale: SCALE, window: w, legend: false });
    assert.deepEqual(kinds(out), { reply: 3, complete: 3, scribble: 3, 'late-transmit': 3, 'server-exec': 3, stall: 2 });
    assert.doesNotMatch(out, /data-legend/);
    const tl = seededTimeline();
    tl.rows.push({ xid: '0x00000009', events: [{ t: at(67.1), kind: 'transmit' }] });
    assert.equal(timelineParts(tl, { timeScale: SCALE, window: w, focus: 'late-transmit' }).rowCount, 3, 'rows without a late transmission in the window are left out');
    assert.equal(lateBurstWindow({ rows: [{ xid: '0x1', events: [{ t: 1, kind: 'reply' }] }], stalls: [], end: 2 }), undefined);
  });

  test('ticks are 1-2-5 steps covering the range', () => {
    assert.deepEqual(niceTicks(0, 70), [0, 10, 20, 30, 40, 50, 60, 70]);
    assert.deepEqual(niceTicks(0, 0.912), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
    assert.deepEqual(niceTicks(66.95, 67.5), [66.9, 67, 67.1, 67.2, 67.3, 67.4, 67.5]);
  });
});

describe('dashboard routes (server.inject)', () => {
  let db: ResultsDb;
  let server: Server;
  const reproduced = makeRecord({ runId: 'run-zc-1', matrixId: 'mx', startedAt: '2026-11-21T10:00:00.000Z' });
  const clean = makeRecord(
    { runId: 'run-cor-1', matrixId: 'mx', verdict: 'not-reproduced', startedAt: '2026-11-21T10:01:00.000Z', timeline: { rows: [], stalls: [], end: 70 } },
    { policy: 'copy-on-retransmit' },
  );

  before(() => {
    db = openResults(':memory:');
    db.saveRun(reproduced);
    db.saveRun(clean);
    db.saveRun(makeRecord({ runId: 'solo', startedAt: '2026-11-21T09:00:00.000Z', verdict: 'error', error: { code: 'NETEM_UPSTREAM', message: 'netem: upstream refused' } }));
    server = createDashboard({ db });
  });
  after(async () => {
    await server.stop();
    db.close();
  });

  test('GET / lists the runs newest first, filterable', async () => {
    const res = await server.inject('/');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    const order = [...res.payload.matchAll(/<tr data-run="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(order, ['run-cor-1', 'run-zc-1', 'solo']);
    const filtered = await server.inject('/?verdict=error&policy=&drc=');
    assert.deepEqual([...filtered.payload.matchAll(/<tr data-run="([^"]+)"/g)].map((m) => m[1]), ['solo']);
    assert.doesNotMatch(res.payload, /<script|<link|https?:\/\/(?!www\.w3\.org)/, 'no scripts, no external assets');
  });

  test('GET /runs/{id} renders the run with its timeline and a zoom on the late burst', async () => {
    const res = await server.inject('/runs/run-zc-1');
    assert.equal(res.statusCode, 200);
    const [full, zoom] = res.payload.split('id="timeline-zoom"');
    assert.equal(kinds(full)['late-transmit'], 3);
    assert.equal(kinds(full).stall, 2);
    assert.equal(kinds(zoom)['late-transmit'], 3);
    assert.match(res.payload, /data-verdict="reproduced"/);
    assert.match(res.payload, /captures\/runs\/run-zc-1\/capture\.pcap/);
    assert.doesNotMatch(res.payload, /<script|<link|<img|https?:\/\/(?!www\.w3\.org\/2000\/svg)/, 'no scripts, no external assets');

    const none = await server.inject('/runs/run-cor-1');
    assert.equal(none.statusCode, 200);
    assert.match(none.payload, /no affected XIDs/);
    assert.doesNotMatch(none.payload, /timeline-zoom/);
  });

  test('GET /runs/{id}/timeline.svg is the SVG alone', async () => {
    const res = await server.inject('/runs/run-zc-1/timeline.svg');
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^image\/svg\+xml/);
    assert.equal(res.payload, timelineSvg(reproduced.timeline, { timeScale: SCALE, title: 'Timeline of run run-zc-1' }));
  });

  test('GET /matrix and /matrix/{id} show the matrix with cells coloured by verdict', async () => {
    const list = await server.inject('/matrix');
    assert.match(list.payload, /href="\/matrix\/mx"/);
    const res = await server.inject('/matrix/mx');
    assert.equal(res.statusCode, 200);
    const cells = [...res.payload.matchAll(/<td class="cell v-([a-z-]+)" data-verdict="([a-z-]+)"/g)].map((m) => [m[1], m[2]]);
    assert.deepEqual(cells, [
      ['reproduced', 'reproduced'],
      ['not-reproduced', 'not-reproduced'],
    ]);
  });

  test('JSON routes return the stored documents', async () => {
    const list = await server.inject('/api/runs?limit=2');
    assert.equal(list.statusCode, 200);
    const body = list.result as { runs: RunSummary[]; limit: number };
    assert.deepEqual(body.runs.map((r) => r.runId), ['run-cor-1', 'run-zc-1']);
    assert.equal(body.limit, 2);

    const one = await server.inject('/api/runs/run-zc-1');
    assert.deepEqual(JSON.parse(one.payload) as RunRecord, reproduced);

    const m = await server.inject('/api/matrix/mx');
    const summary = JSON.parse(m.payload) as MatrixSummary;
    assert.deepEqual(summary.cells.map((c) => [c.policy, c.verdict]), [
      ['linux-2008', 'reproduced'],
      ['copy-on-retransmit', 'not-reproduced'],
    ]);
    const ms = await server.inject('/api/matrix');
    assert.deepEqual((ms.result as { matrices: Array<{ matrixId: string }> }).matrices.map((x) => x.matrixId), ['mx']);
  });

  test('unknown ids answer 404 with a code, pages with an HTML page', async () => {
    for (const [url, code] of [['/api/runs/nope', 'RUN_NOT_FOUND'], ['/api/matrix/nope', 'MATRIX_NOT_FOUND'], ['/runs/nope/timeline.svg', 'RUN_NOT_FOUND']]) {
      const res = await server.inject(url);
      assert.equal(res.statusCode, 404, url);
      assert.equal((JSON.parse(res.payload) as { code: string }).code, code);
    }
    for (const url of ['/runs/nope', '/matrix/nope']) {
      const res = await server.inject(url);
      assert.equal(res.statusCode, 404, url);
      assert.match(String(res.headers['content-type']), /^text\/html/);
    }
  });

  // Issue 21: the run page was 1.8 MB because inspect's findings were dumped into it.
  test('the run page links the bulky parts of a run as JSON instead of embedding them', async () => {
    const findings = { differingDuplicates: Array.from({ length: 4000 }, (_, i) => ({ xid: i, transmissions: [{ sha256: 'ab'.repeat(32) }] })) };
    const big = makeRecord({ runId: 'run-big-findings', findings });
    db.saveRun(big);
    const res = await server.inject('/runs/run-big-findings');
    assert.equal(res.statusCode, 200);
    assert.ok(JSON.stringify(findings).length > 300_000 && res.payload.length < 60_000, `page ${res.payload.length} bytes`);
    assert.doesNotMatch(res.payload, /sha256/);
    for (const part of ['findings', 'netem-events', 'trace-summary', 'witnesses', 'timeline']) assert.match(res.payload, new RegExp(`href="/api/runs/run-big-findings/${part}"`));
    const part = await server.inject('/api/runs/run-big-findings/findings');
    assert.equal(part.statusCode, 200);
    assert.match(String(part.headers['content-type']), /^application\/json/);
    assert.deepEqual(JSON.parse(part.payload), findings);
    assert.deepEqual(JSON.parse((await server.inject('/api/runs/run-big-findings/netem-events')).payload), big.netemEvents);
    assert.equal((await server.inject('/api/runs/run-big-findings/nope')).statusCode, 400);
    assert.equal(JSON.parse((await server.inject('/api/runs/nope/findings')).payload).code, 'RUN_NOT_FOUND');
  });

  // Issue 21: matrix run ids held '/', so a typed URL 404ed (links needed %2F).
  test('a matrix run id is one URL segment; an old id with a slash still finds the run', async () => {
    const id = matrixRunId('mx-typed', 'stall-zero-copy-off-s1');
    db.saveRun(makeRecord({ runId: id, matrixId: 'mx-typed' }));
    assert.doesNotMatch(id, /\//);
    assert.equal((await server.inject(`/runs/${id}`)).statusCode, 200);
    assert.equal((await server.inject(`/api/runs/${id}`)).statusCode, 200);
    assert.equal((await server.inject(`/runs/${encodeURIComponent('mx-typed/stall-zero-copy-off-s1')}`)).statusCode, 200);
    assert.ok((await server.inject('/?matrix=mx-typed')).payload.includes(`href="/runs/${id}"`), 'the runs list links the id as typed');
  });

  test('bad query values are refused with 400 by joi', async () => {
    for (const url of ['/api/runs?limit=0', '/api/runs?limit=x', '/api/runs?verdict=maybe', '/?offset=-1', '/api/runs?unknown=1']) {
      const res = await server.inject(url);
      assert.equal(res.statusCode, 400, url);
    }
  });
});
