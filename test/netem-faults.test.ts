// Seeded decisions repeat, schedules run their timeline in order, blackhole discards then closes, bandwidth and
// latency keep bytes exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { applySchedule, createProxy, loadSchedule, type FaultSpec } from '../netem';
import { FAULT_KEYS } from '../netem/faults';
import { NFSPROC3 } from '../xdr/nfs3/constants';
import { RpcTestClient, startEchoServer } from './support/netem-rpc';
import { connect, hashUntilEnd, patternBlock, startServer, writeStream } from './support/netem-streams';

async function droppedXids(t: { after(fn: () => unknown): void }, seed: number): Promise<number[]> {
  const server = await startEchoServer();
  t.after(() => server.close());
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: server.port }, seed, faults: [{ kind: 'drop-reply', call: { proc: 'WRITE' }, probability: 0.4 }] });
  t.after(() => proxy.close());
  const client = await RpcTestClient.connect(proxy.address.port);
  t.after(() => client.close());
  // Each reply is one seeded draw, so the client retransmits exactly when a reply was dropped: a wall-clock timer
  // would also retransmit when a reply is merely late (a loaded machine), and the extra reply would shift every
  // later draw.
  t.after(proxy.onEvent((e) => e.event === 'drop-reply' && client.retransmit(e.xid as number)));
  for (let i = 0; i < 12; i++) await client.call(NFSPROC3.WRITE, Buffer.alloc(32, i), { xid: 100 + i, maxTransmissions: 20 });
  return proxy.events.filter((e) => e.event === 'drop-reply').map((e) => e.xid as number);
}

test('same seed, same config: the same replies are dropped', async (t) => {
  const a = await droppedXids(t, 11);
  const b = await droppedXids(t, 11);
  assert.deepEqual(a, b);
  assert.ok(a.length > 0);
});

test('a schedule file installs faults and runs its timeline in order', async (t) => {
  const server = await startEchoServer();
  t.after(() => server.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-sched-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'schedule.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      seed: 4,
      timeScale: 0.001,
      faults: [{ kind: 'latency', id: 'lat', delay: '2s' }],
      timeline: [
        { at: '10s', add: { kind: 'drop-reply', id: 'drop', xids: [1] } },
        { at: '20s', remove: 'lat' },
        { at: '30s', stall: '5s', resume: 'backoff' },
      ],
    }),
  );
  const s = loadSchedule(file);
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: server.port }, seed: s.seed, timeScale: s.timeScale });
  t.after(() => proxy.close());
  applySchedule(proxy, s);
  await proxy.waitForEvent('stall-end');
  const seq = proxy.events.filter((e) => e.source !== 'proxy').map((e) => `${e.source}:${e.event}`);
  // No traffic: neither sender lost a segment, so both directions flow at the end (in either order).
  assert.deepEqual(seq.slice(0, 4), ['lat:fault-added', 'drop:fault-added', 'lat:fault-removed', 'api:stall-start']);
  assert.deepEqual(seq.slice(4, 6).sort(), ['api:release-downstream', 'api:release-upstream']);
  assert.equal(seq[6], 'api:stall-end');
  const start = proxy.events.find((e) => e.event === 'stall-start')!;
  assert.equal(start.modelDurationMs, 5000);
  assert.equal(start.resume, 'backoff');
});

test('bad schedules are ConfigErrors with a code', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-sched-'));
  try {
    const f = path.join(dir, 's.json');
    for (const doc of ['{"faults": {}}', '{"timeline": [{"add": {}}]}', '{"timeline": [{"at": "1s"}]}', '{"bogus": 1}', 'not json']) {
      fs.writeFileSync(f, doc);
      assert.throws(() => loadSchedule(f), { code: 'NETEM_SCHEDULE' });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('blackhole reads and discards, then closes the connection', async (t) => {
  let received = 0;
  const srv = await startServer((s) => s.on('data', (d) => (received += d.length)));
  t.after(() => srv.close());
  // The blackhole starts on the connection's first chunk, not when installed: a 100 ms (wall) window opened at
  // install could close before a loaded machine even accepts the connection, and the bytes would pass.
  const faults: FaultSpec[] = [{ kind: 'blackhole', duration: '10s', direction: 'upstream', every: 1, unit: 'chunks', count: 1 }];
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: srv.port }, timeScale: 0.01, faults });
  t.after(() => proxy.close());
  const c = await connect(proxy.address.port);
  const ended = new Promise((res) => c.once('end', res));
  c.resume();
  c.write(Buffer.alloc(300_000, 1));
  const end = await proxy.waitForEvent('blackhole-end');
  await ended;
  assert.equal(received, 0);
  // every byte read while the blackhole was open was discarded; how many the proxy read in its 100 ms is speed
  const dropped = end.droppedBytes as number;
  assert.ok(dropped > 0 && dropped <= 300_000, `dropped ${dropped}`);
  assert.ok(proxy.metrics().upstreamDir.bytesIn >= dropped);
  assert.deepEqual(proxy.events.filter((e) => e.source === 'blackhole-1').map((e) => e.event), ['fault-added', 'blackhole-start', 'blackhole-end']);
});

test('bandwidth, latency and slicer together keep both directions byte-exact', async (t) => {
  let serverSide!: Promise<{ bytes: number; sha256: string }>;
  const back = [patternBlock(2, 0, 100_000)];
  let serverSent!: Promise<string>;
  const srv = await startServer((s) => {
    serverSide = hashUntilEnd(s);
    serverSent = writeStream(s, 3_000_000, back);
  });
  t.after(() => srv.close());
  const faults: FaultSpec[] = [
    { kind: 'bandwidth', rate: '100MiB' },
    { kind: 'latency', delay: '1ms', jitter: '1ms' },
    { kind: 'slicer', size: 700, variation: 699, delay: '10us', direction: 'downstream' },
  ];
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: srv.port }, seed: 8, faults });
  t.after(() => proxy.close());
  const c = await connect(proxy.address.port);
  const [sent, got] = await Promise.all([writeStream(c, 2_000_000, [patternBlock(1, 0, 65_536)]), hashUntilEnd(c)]);
  assert.equal((await serverSide).sha256, sent);
  assert.equal(got.sha256, await serverSent);
  c.destroy();
});

// Regression (issue 15 item 9): `slicer:bytes=100` said `size: cannot parse size "undefined"`. Every kind now
// refuses a key it does not read and names a missing required key (FAULT_KEYS in netem/faults/index.ts).
test('fault keys: every kind refuses an unknown key and names a missing required one', async (t) => {
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: 9 } });
  t.after(() => proxy.close());
  for (const [kind, keys] of Object.entries(FAULT_KEYS)) {
    const valid: Record<string, unknown> = { kind, ...(kind === 'drop-reply' || kind === 'duplicate-call' ? { xids: [1] } : {}) };
    for (const k of keys.required) valid[k] = k === 'rate' || k === 'size' ? '1KiB' : '1s';
    const added = proxy.addFault(valid as unknown as FaultSpec);
    proxy.removeFault(added.id);
    assert.throws(() => proxy.addFault({ ...valid, bogus: 1 } as unknown as FaultSpec), (e: any) => e.code === 'NETEM_FAULT_KEY' && e.details.key === 'bogus', kind);
    for (const k of keys.required) {
      const missing = { ...valid, [k]: undefined };
      assert.throws(() => proxy.addFault(missing as unknown as FaultSpec), (e: any) => e.code === 'NETEM_FAULT_KEY' && e.details.key === k, `${kind} without ${k}`);
    }
  }
});
