// The real Linux NFS client (Debian's 6.1 cloud kernel under QEMU TCG) against our server through our netem
// proxy. Skipped with the reason when QEMU, busybox-static, gcc or the kernel package are missing, and the tap
// test when not root. After each test no guest and no namespace of this run is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testServer } from '../testing/server-rpc';
import { silentLogger } from '../core/log';
import { runLinuxClient, USER_NETWORK_CAVEAT } from '../lab/linux/client';
import { linuxGuestMissing, linuxTapMissing } from '../lab/linux/requirements';
import { assertNothingLeft } from './support/linux';
import { DEFAULTS, runRepro } from '../lab/repro';
import { openResults } from '../lab/results-db';

const skip = linuxGuestMissing();
const skipTap = skip ?? linuxTapMissing();

async function withServer(t: { after: (fn: () => Promise<void>) => void }) {
  const { server, dir, cleanup } = await testServer({ logger: silentLogger, journal: undefined, drc: { mode: 'off' } });
  t.after(cleanup);
  return { server, dir, out: `${dir}-run` };
}

test('QEMU smoke: the kernel client mounts our server, writes and verifies 4 MiB O_DIRECT (user networking)', { skip }, async (t) => {
  const { server, dir, out } = await withServer(t);
  t.after(() => fs.rmSync(out, { recursive: true, force: true }));
  const r = await runLinuxClient({ server: server.address, exportPath: '/export', count: 4, network: 'user', outDir: out });
  t.diagnostic(`boot to mounted ${r.bootToMountedMs} ms wall, guest uptime ${r.guestMountedS} s, run ${r.wallMs} ms, ${r.mibPerSec} MiB/s`);
  await assertNothingLeft([r.guestPid]);
  assert.equal(r.rc, 0);
  assert.equal(r.network, 'user');
  assert.equal(r.blktest.writes.length, 4);
  assert.equal(r.corruptBlocks, 0);
  assert.equal(r.mountstats.ops.WRITE?.ops, 4, 'the kernel sent each 1 MiB write() as one WRITE');
  assert.equal(r.verdictCaveat, USER_NETWORK_CAVEAT, 'user networking marks the verdict');
  // The file on our server's disk is the counter pattern the guest wrote.
  const file = fs.readFileSync(path.join(dir, 'blktest2.dat'));
  assert.equal(file.length, 4 << 20);
  for (const o of [0, 1 << 20, (4 << 20) - 4]) assert.equal(file.readUInt32BE(o), o / 4);
});

test("the seed's condition on the real client (tap): write() returns while its retransmission waits in the socket; 6.1 sends the caller's bytes, not the scribble", { skip: skipTap }, async (t) => {
  const { server, out } = await withServer(t);
  t.after(() => fs.rmSync(out, { recursive: true, force: true }));
  // Event-driven (lab/linux/seed-order.ts): each step waits for the guest's own timers, whatever the load.
  const r = await runLinuxClient({ server: server.address, exportPath: '/export', count: 4, timeo: 10, retrans: 2, network: 'tap', seedOrder: true, outDir: out });
  t.diagnostic(`held ${JSON.stringify(r.held)}; seed order ${JSON.stringify(r.seedOrder)}; trace ${JSON.stringify(r.traceCounts)}`);
  await assertNothingLeft([r.guestPid]);
  assert.equal(r.network, 'tap');
  assert.ok(r.netns, 'ran in its own namespace');
  assert.ok(r.seedOrder, 'every step of the seed order happened');
  const h = r.held.find((w) => w.i === 1);
  assert.ok(h, 'the second write() returned while the socket held unacknowledged bytes');
  assert.ok(h.txq > 0 && h.xid !== null);
  assert.ok(h.laterCopies >= 1, 'a later copy of that XID reached the proxy after the scribble');
  assert.equal(h.equal, true, 'inspect: the copies are byte-identical (6.1 copies on resend)');
  assert.equal(r.corruptBlocks, 0);
  assert.equal(r.differingDuplicates, 0);
  assert.ok((r.mountstats.ops.WRITE?.transmissions ?? 0) > (r.mountstats.ops.WRITE?.ops ?? 0), 'mountstats counts the retransmission');
  assert.ok((r.traceCounts.xprt_retransmit ?? 0) >= 1, 'the sunrpc tracepoints saw it');
});

test('repro --client linux: the kernel client under the scenario, stored in the results DB as policy linux with its mountstats and trace', { skip }, async (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'linux-repro-'));
  t.after(() => fs.rmSync(out, { recursive: true, force: true }));
  // 2 MiB: one seed stall at 1/20 of real time (3.25 s), long enough for the kernel's own timers to mean it.
  const { record } = await runRepro({ ...DEFAULTS, client: 'linux', timeScale: 0.05, count: 2, outDir: out });
  const lc = record.witnesses?.linuxClient as { guestPid: number; mountstats: { ops: Record<string, { ops: number }> }; network: string };
  await assertNothingLeft([lc.guestPid]);
  assert.equal(record.error, undefined, JSON.stringify(record.error));
  assert.equal(record.config.policy, 'linux');
  assert.equal(record.counters.writes, 2);
  assert.equal(lc.mountstats.ops.WRITE.ops, 2);
  assert.equal(record.counters.corruptBlocks, 0, 'the disk witness read our server\'s copy of the file');
  const db = openResults(':memory:');
  try {
    db.saveRun(record);
    assert.deepEqual(db.listRuns({ policy: 'linux' }).map((r) => r.policy), ['linux']);
    const back = db.getRun(record.runId)!;
    assert.ok((back.traceSummary as { mountstats?: unknown }).mountstats, "the kernel's mountstats stored where our client's trace summary goes");
  } finally {
    db.close();
  }
});
