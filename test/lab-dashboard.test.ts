// The dashboard's routes through server.inject, and the timeline SVG as a pure function of RunRecord.timeline.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from '@hapi/hapi';
import { createDashboard } from '../api/dashboard/server';
import { lateBurstWindow, niceTicks, timelineSvg } from '../api/dashboard/timeline-svg';
import { openResults } from '../lab/results-db';
import type { MatrixSummary, ResultsDb, RunSummary } from '../lab/results-db';
import { TIMELINE_KINDS } from '../lab/run-record';
import type { RunRecord, Timeline } from '../lab/run-record';
import { AFFECTED_XIDS, makeRecord, SCALE, seededTimeline } from './support/lab-records';

/** data-kind values of the event marks and stall windows in an SVG/HTML string, counted. */
function kinds(markup: string): Record<string, number> {
  const n: Record<string, number> = {};
  for (const m of markup.matchAll(/data-kind="([^"]+)"/g)) n[m[1]] = (n[m[1]] ?? 0) + 1;
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

  test('every mark has a tooltip with XID, modelled time and real time', () => {
    const marks = [...svg.matchAll(/<g data-kind="([^"]+)" data-xid="([^"]+)"[^>]*><title>([^<]*)<\/title>/g)];
    assert.equal(marks.length, seededTimeline().rows.reduce((a, r) => a + r.events.length, 0));
    for (const [, kind, xid, title] of marks) {
      assert.ok(title.startsWith(`${kind} · ${xid}`), title);
      assert.match(title, /t = \d+\.\d{3} s modelled\nreal \d+\.\d{3} ms/);
    }
    // 61.7 real ms at time scale 0.001 is 61.7 s of the seed's time.
    assert.match(svg, /timeout · 0x5f3a1c01\nt = 61\.700 s modelled\nreal 61\.700 ms/);
  });

  test('one labelled row per affected XID; the axis is in modelled seconds', () => {
    for (const xid of AFFECTED_XIDS) assert.match(svg, new RegExp(`>${xid}</text>`));
    assert.match(svg, />0 s</);
    assert.match(svg, />60 s</);
    assert.match(svg, />70 s</);
    assert.match(svg, /time scale 0\.001/);
  });

  test('the legend names every kind without counting as a mark', () => {
    for (const k of TIMELINE_KINDS) assert.match(svg, new RegExp(`data-legend="${k}"`));
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

  test('a window keeps only what falls in it and clips the stalls', () => {
    const w = lateBurstWindow(seededTimeline())!;
    // From the first reply (67.000 s) to the last duplicate executed (67.452 s), padded.
    assert.ok(w.start < 67 * SCALE * 1000 && w.start > 66.9 * SCALE * 1000);
    assert.ok(w.end > 67.452 * SCALE * 1000 && w.end < 67.6 * SCALE * 1000);
    const out = timelineSvg(seededTimeline(), { timeScale: SCALE, window: w, legend: false });
    assert.deepEqual(kinds(out), { reply: 3, complete: 3, scribble: 3, 'late-transmit': 3, 'server-exec': 3, stall: 2 });
    assert.doesNotMatch(out, /data-legend/);
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
      ['zero-copy', 'reproduced'],
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

  test('bad query values are refused with 400 by joi', async () => {
    for (const url of ['/api/runs?limit=0', '/api/runs?limit=x', '/api/runs?verdict=maybe', '/?offset=-1', '/api/runs?unknown=1']) {
      const res = await server.inject(url);
      assert.equal(res.statusCode, 400, url);
    }
  });
});
