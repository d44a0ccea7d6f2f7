// RPC-aware netem: calls and replies are counted by procedure, triggers fire on the right call, drop-reply makes
// the client retransmit and the server replay from its cache, duplicate-call injects a second copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProxy } from '../netem';
import { NFSPROC3 } from '../xdr/nfs3/constants';
import { RpcTestClient, startEchoServer } from './support/netem-rpc';
import { until } from './support/until';

async function rig(t: { after(fn: () => unknown): void }, opts: Partial<Parameters<typeof createProxy>[0]> = {}) {
  const server = await startEchoServer();
  t.after(() => server.close());
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: server.port }, ...opts });
  t.after(() => proxy.close());
  const client = await RpcTestClient.connect(proxy.address.port);
  t.after(() => client.close());
  return { server, proxy, client };
}

test('calls and replies are counted by procedure on both legs, bytes untouched', async (t) => {
  const { proxy, client } = await rig(t);
  const args = Buffer.from('payload-1234');
  for (const p of [NFSPROC3.WRITE, NFSPROC3.WRITE, NFSPROC3.GETATTR, NFSPROC3.WRITE, NFSPROC3.COMMIT]) {
    const r = await client.call(p, args);
    assert.deepEqual(r.body, args);
  }
  const m = proxy.metrics();
  assert.deepEqual(m.upstreamDir.calls, { WRITE: 3, GETATTR: 1, COMMIT: 1 });
  assert.deepEqual(m.downstreamDir.replies, { WRITE: 3, GETATTR: 1, COMMIT: 1 });
  assert.equal(m.upstreamDir.records, 5);
});

test('a stall triggered on the 3rd WRITE with phase=before holds that very call', async (t) => {
  const { server, proxy, client } = await rig(t, {
    timeScale: 0.01,
    faults: [{ kind: 'stall', duration: '10s', call: { proc: 'WRITE', nth: 3 }, phase: 'before' }],
  });
  let writesAtStart = -1;
  proxy.onEvent((e) => {
    if (e.event === 'stall-start') writesAtStart = server.calls.filter((c) => c.proc === NFSPROC3.WRITE).length;
  });
  await client.call(NFSPROC3.GETATTR, Buffer.alloc(4));
  const xids: number[] = [];
  for (let i = 0; i < 4; i++) xids.push((await client.call(NFSPROC3.WRITE, Buffer.alloc(100, i))).xid);
  const start = proxy.events.find((e) => e.event === 'stall-start')!;
  assert.equal(start.xid, xids[2]);
  assert.equal(writesAtStart, 2, 'the 3rd WRITE had not reached the server when the stall began');
  assert.equal(proxy.metrics().stalls, 1);
});

test('drop-reply on the 2nd WRITE: the client retransmits and the server replays from its cache', async (t) => {
  const { server, proxy, client } = await rig(t, {
    timeScale: 0.001,
    faults: [{ kind: 'drop-reply', call: { proc: 'WRITE', nth: 2 } }],
  });
  // A retransmission timer well above what a loaded machine takes to answer: only the dropped reply retransmits.
  const r1 = await client.call(NFSPROC3.WRITE, Buffer.alloc(2000, 1), { timeoutMs: 1000 });
  const r2 = await client.call(NFSPROC3.WRITE, Buffer.alloc(2000, 2), { timeoutMs: 1000 });
  assert.equal(r1.transmissions, 1);
  assert.equal(r2.transmissions, 2);
  assert.deepEqual(r2.body, Buffer.alloc(2000, 2));
  assert.equal(server.arrivals.get(r2.xid), 2);
  assert.equal(server.executed, 2);
  assert.equal(server.replayed, 1);
  const drops = proxy.events.filter((e) => e.event === 'drop-reply');
  assert.equal(drops.length, 1);
  assert.equal(drops[0].xid, r2.xid);
  assert.equal(drops[0].callNumber, 2);
  // exactly one reply record was removed from the downstream byte stream
  const m = proxy.metrics();
  assert.equal(m.downstreamDir.bytesIn - m.downstreamDir.bytesOut, drops[0].bytes);
});

test('drop-reply by xid, with a count limit', async (t) => {
  const { server, client } = await rig(t, { faults: [{ kind: 'drop-reply', xids: [0xbeef], count: 2 }] });
  const r = await client.call(NFSPROC3.READ, Buffer.alloc(8), { xid: 0xbeef, timeoutMs: 1000 });
  assert.equal(r.transmissions, 3);
  assert.equal(server.replayed, 2);
});

test('duplicate-call injects a second copy of the matching call', async (t) => {
  const { server, proxy, client } = await rig(t, { faults: [{ kind: 'duplicate-call', call: { proc: 'COMMIT' } }] });
  await client.call(NFSPROC3.WRITE, Buffer.alloc(10));
  const r = await client.call(NFSPROC3.COMMIT, Buffer.alloc(10));
  assert.equal(r.transmissions, 1);
  await until(() => client.lateReplies >= 1, 'the reply to the injected copy');
  assert.equal(server.arrivals.get(r.xid), 2);
  assert.equal(server.replayed, 1);
  assert.deepEqual(proxy.metrics().upstreamDir.calls, { WRITE: 1, COMMIT: 1 }, 'the proxy counts what it read');
});

test('record-level faults keep large calls byte-exact across a slicer', async (t) => {
  const { server, client } = await rig(t, {
    seed: 9,
    faults: [
      { kind: 'slicer', size: 3000, variation: 2900, direction: 'upstream' },
      { kind: 'drop-reply', xids: [1] },
    ],
  });
  for (let i = 0; i < 20; i++) {
    const args = Buffer.alloc(10_000 + i * 3001, i);
    const r = await client.call(NFSPROC3.WRITE, args);
    assert.deepEqual(r.body, args);
  }
  assert.equal(server.executed, 20);
});
