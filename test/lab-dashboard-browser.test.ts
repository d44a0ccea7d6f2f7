// The dashboard in a real browser: headless Debian Chromium driven by playwright-core loads a known run's page,
// the server-rendered timeline has the expected marks and stall windows, and a screenshot is kept as an artifact.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import type { Server } from '@hapi/hapi';
import { createDashboard } from '../api/dashboard/server';
import { openResults } from '../lab/results-db';
import type { ResultsDb } from '../lab/results-db';
import { AXIS_ORDER } from '../lab/results-db';
import { TIMELINE_KINDS } from '../lab/run-record';
import { AFFECTED_XIDS, makeRecord } from './support/lab-records';

const CHROMIUM = '/usr/bin/chromium';
const skip = fs.existsSync(CHROMIUM) ? false : `needs ${CHROMIUM} (Debian chromium); .ci/run installs it`;
const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');

let db: ResultsDb;
let server: Server;
let context: BrowserContext;
let profile: string;

before(async () => {
  if (skip) return;
  db = openResults(':memory:');
  db.saveRun(makeRecord({ runId: 'seed-000-zero-copy' }));
  // A full policy x DRC table for the stall scenario, one repeat per cell, shaped as the issue expects.
  for (const policy of AXIS_ORDER.policy) {
    for (const drc of AXIS_ORDER.drc) {
      const corrupts = policy === 'zero-copy' && (drc === 'off' || drc === 'checksum-256');
      const rec = makeRecord({ runId: `m-${policy}-${drc}`, matrixId: 'm-browser', verdict: corrupts ? 'reproduced' : 'not-reproduced' }, { policy, drc });
      if (policy === 'zero-copy' && !corrupts) {
        // The scribbled duplicates still cross the wire; the DRC keeps them off the disk.
        rec.counters.lateTransmissions = 3;
        rec.counters.scribbledOnWire = 3;
      }
      db.saveRun(rec);
    }
  }
  server = createDashboard({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-testbed-chromium-'));
  const { chromium } = await import('playwright-core');
  // A fresh profile and no background networking: this machine's network is closed (.library env notes).
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
  });
});

after(async () => {
  if (skip) return;
  await context?.close();
  await server?.stop();
  db?.close();
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
});

test('the run page shows the timeline of a known run in Chromium', { skip, timeout: 60_000 }, async (t) => {
  const page = await context.newPage();
  const res = await page.goto(`${server.info.uri}/runs/seed-000-zero-copy`);
  assert.equal(res?.status(), 200);
  assert.match(await page.title(), /seed-000-zero-copy/);

  const svg = page.locator('#timeline svg');
  await svg.waitFor();
  // One mark per event: each of the three rows holds every kind once, server-exec twice (original + duplicate).
  for (const kind of TIMELINE_KINDS) {
    assert.equal(await svg.locator(`[data-kind="${kind}"]`).count(), kind === 'server-exec' ? 6 : 3, kind);
  }
  assert.equal(await svg.locator('[data-kind="stall"]').count(), 2);
  assert.deepEqual(await svg.locator('[data-kind="stall"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-direction'))), ['both', 'upstream']);
  for (const xid of AFFECTED_XIDS) assert.equal(await svg.locator(`[data-kind="late-transmit"][data-xid="${xid}"]`).count(), 1);
  // The mark's tooltip names the modelled and the real time.
  const tip = await svg.locator(`[data-kind="timeout"][data-xid="${AFFECTED_XIDS[0]}"] > title`).textContent();
  assert.match(tip ?? '', /t = 61\.700 s modelled/);
  assert.match(tip ?? '', /real 61\.700 ms/);
  // The plot is laid out, not just present: the stall window spans most of the plot width.
  const stallBox = await svg.locator('[data-kind="stall"][data-direction="both"]').boundingBox();
  const svgBox = await svg.boundingBox();
  assert.ok(stallBox && svgBox && stallBox.width > svgBox.width / 2, 'the 65 s stall covers most of a 70 s run');
  await page.getByText('REPRODUCED').first().waitFor();

  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const shot = path.join(ARTIFACTS, 'lab-dashboard-run.png');
  await page.screenshot({ path: shot, fullPage: true });
  assert.ok(fs.statSync(shot).size > 10_000);
  t.diagnostic(`screenshot: ${shot}`);
  await page.close();
});

test('the matrix page colours cells by verdict in Chromium', { skip, timeout: 60_000 }, async (t) => {
  const page = await context.newPage();
  await page.goto(`${server.info.uri}/matrix/m-browser`);
  const cells = page.locator('td.cell[data-verdict]');
  assert.equal(await cells.count(), AXIS_ORDER.policy.length * AXIS_ORDER.drc.length);
  // Runs in the page (this project compiles without DOM types, hence the cast).
  const colours = await cells.evaluateAll((els) =>
    els.map((e) => [e.getAttribute('data-verdict'), (globalThis as unknown as { getComputedStyle(el: unknown): { backgroundColor: string } }).getComputedStyle(e).backgroundColor]),
  );
  const byVerdict = new Map<string, Set<string>>();
  for (const [v, c] of colours) byVerdict.set(v!, (byVerdict.get(v!) ?? new Set()).add(c!));
  assert.deepEqual(
    [...byVerdict].map(([v, cs]) => [v, [...cs]]).sort(),
    [
      ['not-reproduced', ['rgb(220, 252, 231)']],
      ['reproduced', ['rgb(254, 226, 226)']],
    ],
  );
  // Row zero-copy, columns off .. checksum-all.
  assert.deepEqual(colours.slice(0, 4).map(([v]) => v), ['reproduced', 'not-reproduced', 'reproduced', 'not-reproduced']);
  const shot = path.join(ARTIFACTS, 'lab-dashboard-matrix.png');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
  await page.close();
});

test('the runs list links each run to its page in Chromium', { skip, timeout: 60_000 }, async (t) => {
  const page = await context.newPage();
  await page.goto(`${server.info.uri}/?limit=8`);
  assert.equal(await page.locator('table.runs tbody tr').count(), 8);
  await page.locator('a', { hasText: 'seed-000-zero-copy' }).click();
  await page.waitForURL(/\/runs\/seed-000-zero-copy$/);
  await page.goBack();
  const shot = path.join(ARTIFACTS, 'lab-dashboard-runs.png');
  await page.screenshot({ path: shot, fullPage: true });
  t.diagnostic(`screenshot: ${shot}`);
  await page.close();
});
