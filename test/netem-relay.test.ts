// The relay: bytes arrive exactly, in both directions, through random slicing and latency; half-close, reset and
// backpressure behave as TCP peers expect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { createProxy, type Proxy } from '../netem';
import { connect, hashUntilEnd, patternBlock, startEcho, startServer, writeStream } from './support/netem-streams';
import { until } from './support/until';

// The 1 GiB each way (about 7 s on 2 cores); NETEM_BYTE_EXACT_MIB=64 for a quick local run.
const MIB = Number(process.env.NETEM_BYTE_EXACT_MIB ?? 1024);


test(`${MIB} MiB each way through random slicing and latency arrive with the same sha256`, { timeout: 60_000 }, async (t) => {
  const blocks = [0, 1, 2, 3].map((i) => patternBlock(7, i, 1 << 20));
  const total = MIB * (1 << 20);
  let serverSide!: Promise<{ sent: string; got: { bytes: number; sha256: string } }>;
  const srv = await startServer((s) => {
    serverSide = Promise.all([writeStream(s, total, blocks.slice().reverse()), hashUntilEnd(s)]).then(([sent, got]) => ({ sent, got }));
  });
  t.after(() => srv.close());
  const proxy = await createProxy({
    upstream: { host: '127.0.0.1', port: srv.port },
    seed: 42,
    faults: [
      { kind: 'slicer', size: '16KiB', variation: '16KiB', probability: 0.5 },
      { kind: 'latency', delay: '1ms', jitter: '1ms', probability: 0.2 },
    ],
  });
  t.after(() => proxy.close());
  const c = await connect(proxy.address.port);
  const [sent, got] = await Promise.all([writeStream(c, total, blocks), hashUntilEnd(c)]);
  const s = await serverSide;
  assert.equal(s.got.bytes, total);
  assert.equal(s.got.sha256, sent, 'client -> server');
  assert.equal(got.bytes, total);
  assert.equal(got.sha256, s.sent, 'server -> client');
  const m = proxy.metrics();
  assert.equal(m.upstreamDir.bytesOut, total);
  assert.equal(m.downstreamDir.bytesOut, total);
  c.destroy();
});

test('half-close: the client FINs, the server keeps sending, then FINs', { timeout: 60_000 }, async (t) => {
  const srv = await startServer((s) => {
    s.resume();
    s.on('end', () => {
      s.write('after your FIN');
      s.end();
    });
  });
  t.after(() => srv.close());
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: srv.port } });
  t.after(() => proxy.close());
  const c = await connect(proxy.address.port);
  const got = hashUntilEnd(c);
  const chunks: Buffer[] = [];
  c.on('data', (d) => chunks.push(d));
  c.end('bye');
  await got;
  assert.equal(Buffer.concat(chunks).toString(), 'after your FIN');
});

test('a reset by the server reaches the client as a reset', { timeout: 60_000 }, async (t) => {
  const srv = await startServer((s) => s.once('data', () => s.resetAndDestroy()));
  t.after(() => srv.close());
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: srv.port } });
  t.after(() => proxy.close());
  const c = await connect(proxy.address.port);
  const err = new Promise<NodeJS.ErrnoException>((res) => c.once('error', res));
  c.write('x');
  assert.equal((await err).code, 'ECONNRESET');
});

test('resetConnection() resets both peers; reset fault resets on the first chunk', { timeout: 60_000 }, async (t) => {
  let serverSaw!: Promise<string>;
  const srv = await startServer((s) => {
    serverSaw = peerOutcome(s);
  });
  t.after(() => srv.close());
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: srv.port } });
  t.after(() => proxy.close());
  const c = await connect(proxy.address.port);
  const clientSaw = peerOutcome(c);
  c.write('hello');
  await until(() => proxy.connections()[0]?.upstreamFlow?.bytesOut === 5, 'hello relayed upstream');
  assert.equal(proxy.resetConnection(proxy.connections()[0].id), true);
  assert.equal(await clientSaw, 'ECONNRESET');
  assert.equal(await serverSaw, 'ECONNRESET');

  proxy.addFault({ kind: 'reset', direction: 'upstream' });
  const c2 = await connect(proxy.address.port);
  const c2Saw = peerOutcome(c2);
  c2.write('boom');
  assert.equal(await c2Saw, 'ECONNRESET');
  assert.ok(proxy.events.some((e) => e.event === 'reset' && e.source === 'reset-1'));
});

/** What a socket's peer did first: an error code (ECONNRESET for an RST), or FIN (the peer closed normally). */
function peerOutcome(s: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
    s.once('end', () => resolve('FIN'));
    s.once('close', () => resolve('closed'));
  });
}

test('backpressure: a server that does not read makes the proxy stop reading and the client back up', { timeout: 60_000 }, async (t) => {
  let serverSock!: net.Socket;
  const srv = await startServer((s) => {
    serverSock = s;
    s.pause();
  });
  t.after(() => srv.close());
  const highWater = 256 * 1024;
  const proxy: Proxy = await createProxy({ upstream: { host: '127.0.0.1', port: srv.port }, highWater });
  t.after(() => proxy.close());
  const c = await connect(proxy.address.port);
  const block = Buffer.alloc(1 << 20, 1);
  let accepted = 0;
  while (c.write(block)) accepted++;
  // Keep offering data until the client's own userspace queue grows: nothing drains end to end.
  for (let i = 0; i < 40; i++) {
    c.write(block);
    await new Promise((r) => setTimeout(r, 5));
  }
  const inProxy = () => proxy.metrics().upstreamDir.bytesIn - proxy.metrics().upstreamDir.bytesOut;
  assert.ok(c.writableLength > 8 * block.length, `client queue ${c.writableLength}`);
  // The proxy holds at most its high-water mark plus one read (Node reads at most 64 KiB at a time).
  assert.ok(inProxy() <= highWater + 65536, `proxy holds ${inProxy()}`);
  serverSock.resume();
  const drained = new Promise<void>((res) => c.once('drain', () => res()));
  await drained;
  c.destroy();
  void accepted;
});

test('an upstream that refuses makes the client connection close', { timeout: 60_000 }, async (t) => {
  const dead = await startEcho();
  const port = dead.port;
  await dead.close();
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port } });
  t.after(() => proxy.close());
  const c = net.connect(proxy.address.port, '127.0.0.1');
  c.on('error', () => undefined);
  await new Promise((res) => c.once('close', res));
  assert.equal(proxy.metrics().connections.total, 1);
});
