// Transport limits (server/rpc/limits.ts): many connections held at once, a connection flood refused beyond
// --max-connections without starving an established client, idle and half-open connections closed, a slowloris
// (a record trickling in a byte at a time) closed by the record timeout, an oversize record refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../core/errors';
import { NFS3 } from '../xdr/nfs3/procs';
import { encodeRecord } from '../xdr/record';
import { NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { transportLimits, DEFAULT_LIMITS } from '../server/rpc/limits';
import { TimeScale } from '../core/units';
import { RawRpc, mountRoot, createFile, testServer, sleep } from '../testing/server-rpc';
import { closeAll, openMany } from './support/reliability-conns';
import { until } from './support/until';
import { runCli } from './support/cli';

test('1000 concurrent connections each do GETATTR, all answered, none refused', async () => {
  const t = await testServer();
  const conns = await openMany(t.server.address.port, 1000);
  try {
    const first = await RawRpc.connect(t.server.address.port);
    const root = await mountRoot(first);
    first.close();
    assert.equal(conns.filter((c) => c === null).length, 0);
    const results = await Promise.all(conns.map((c) => c!.call(NFS3.GETATTR, { object: root })));
    assert.equal(results.filter((r) => r.status === NFSSTAT3.NFS3_OK).length, 1000);
    const st = t.server.stats().connections;
    assert.ok(st.open >= 1000, `open ${st.open}`);
    assert.equal(st.refused, 0);
  } finally {
    closeAll(conns);
    await t.cleanup();
  }
});

test('a connection flood beyond --max-connections is refused; the established client is still served', async () => {
  const t = await testServer({ limits: { maxConnections: 50 } });
  const est = await RawRpc.connect(t.server.address.port);
  const root = await mountRoot(est);
  let flood: Array<RawRpc | null> = [];
  try {
    // 600 connections at once, each also pushing garbage: at most 49 more are accepted, the rest closed at once.
    const opening = openMany(t.server.address.port, 600, 200);
    const during = est.call(NFS3.GETATTR, { object: root });
    flood = await opening;
    for (const c of flood) c?.sendRaw(Buffer.alloc(64, 0x5a));
    assert.equal((await during).status, NFSSTAT3.NFS3_OK);
    assert.equal((await est.call(NFS3.GETATTR, { object: root })).status, NFSSTAT3.NFS3_OK);
    // Every flood connection was either accepted (the garbage then closed it: RM_OVERSIZE, freeing its slot) or
    // refused on accept; never more than 50 at once.
    await until(() => { const c = t.server.stats().connections; return c.total - 1 + c.refused === 600; }, 'every flood connection accepted or refused');
    const st = t.server.stats().connections;
    assert.ok(st.open <= 50, `open ${st.open}`);
    assert.ok(st.refused > 0, JSON.stringify(st));
    assert.ok(t.logLines.some((l) => l.includes('too many connections')));
  } finally {
    closeAll(flood);
  }
  try {
    // The budget comes back when the flood goes away.
    await until(() => t.server.stats().connections.open === 1, 'flood connections to close');
    const again = await RawRpc.connect(t.server.address.port);
    assert.equal((await again.call(NFS3.GETATTR, { object: root })).status, NFSSTAT3.NFS3_OK);
    again.close();
  } finally {
    est.close();
    await t.cleanup();
  }
});

test('a connection that never speaks (or whose peer vanished) is closed after the idle timeout', async () => {
  const t = await testServer({ limits: { idleTimeout: '300ms' } });
  try {
    const silent = await RawRpc.connect(t.server.address.port);
    await silent.waitClosed(30_000);
    assert.ok(t.logLines.some((l) => l.includes('idle timeout')));
  } finally {
    await t.cleanup();
  }
});

test('slowloris: a record sent one byte at a time is closed by the record timeout; steady whole calls are not', async () => {
  // Modelled 60 s at time scale 0.01 = 600 ms real; the idle timeout (6 min modelled) never fires here.
  const t = await testServer({ timeScale: 0.01, limits: { recordTimeout: '60s' } });
  try {
    const slow = await RawRpc.connect(t.server.address.port);
    const steady = await RawRpc.connect(t.server.address.port);
    const msg = Buffer.concat(encodeRecord([RawRpc.message(NFS3.NULL, undefined, 1)]));
    let sentBytes = 0;
    let steadyCalls = 0;
    // Every 50 ms: one more byte of the slow record, one whole NULL call on the steady connection.
    while (!slow.closed && sentBytes < msg.length - 1) {
      slow.sendRaw(msg.subarray(sentBytes, sentBytes + 1));
      sentBytes++;
      await steady.call(NFS3.NULL, undefined);
      steadyCalls++;
      await sleep(50);
    }
    await slow.waitClosed(30_000);
    assert.ok(sentBytes < msg.length - 1, 'closed before the record completed');
    assert.equal(slow.replies.length, 0);
    assert.ok(t.logLines.some((l) => l.includes('record timeout')));
    // The steady client kept completing records through the same period and is still connected.
    assert.equal(steady.closed, false);
    await steady.call(NFS3.NULL, undefined);
    assert.ok(steadyCalls > 0);
    steady.close();
  } finally {
    await t.cleanup();
  }
});

test('a record larger than --max-record-size closes the connection; one within it is served', async () => {
  const t = await testServer({ limits: { maxRecordSize: '64KiB' } });
  try {
    const rpc = await RawRpc.connect(t.server.address.port);
    const root = await mountRoot(rpc);
    const fh = await createFile(rpc, root, 'big.bin');
    const ok = await rpc.call(NFS3.WRITE, { file: fh, offset: 0n, count: 32768, stable: STABLE_HOW.FILE_SYNC, data: Buffer.alloc(32768, 1) });
    assert.equal(ok.status, NFSSTAT3.NFS3_OK);
    rpc.send(RawRpc.message(NFS3.WRITE, { file: fh, offset: 0n, count: 100_000, stable: STABLE_HOW.FILE_SYNC, data: Buffer.alloc(100_000, 2) }, rpc.xid()));
    await rpc.waitClosed(30_000);
    assert.ok(t.logLines.some((l) => l.includes('RM_OVERSIZE')));
    assert.equal(t.server.limits.maxRecordSize, 65536);
  } finally {
    await t.cleanup();
  }
});

test('limits: safe defaults, durations obey the time scale, bad values are ConfigError (CLI exit 2)', () => {
  const d = transportLimits();
  assert.deepEqual([d.maxConnections, d.maxInFlight, d.idleTimeoutMs, d.recordTimeoutMs], [1024, 64, 360_000, 120_000]);
  assert.equal(DEFAULT_LIMITS.maxRecordSize, d.maxRecordSize);
  assert.equal(transportLimits({ idleTimeout: '2m' }, new TimeScale(0.5)).idleTimeoutMs, 60_000);
  for (const bad of [{ maxConnections: 0 }, { maxInFlight: 'many' }, { idleTimeout: '0s' }, { maxRecordSize: '1' }, { recordTimeout: 'soon' }]) {
    assert.throws(() => transportLimits(bad), (e: unknown) => e instanceof ConfigError);
  }
  const r = runCli(['server', '--export', '/tmp', '--max-connections', '0']);
  assert.equal(r.code, 2, r.err);
});
