// Linux's timers and reconnects, pinned against a scripted peer: when the reply timer starts (2.6.18
// xprt_transmit), how minor and major timeouts follow the clock (xprt_adjust_timeout with the two ways NFS fills
// struct rpc_timeout), that retransmissions go before queued first transmissions (__xprt_lock_write_next), which
// source port a reconnect uses (xs_tcp_reuse_connection / transport->srcport), how reconnects back off
// (xs_connect + xprt_reconnect_backoff), when a soft call stops waiting for a new connection (2.6.18 xprt_connect /
// xprt_connect_status), and that a peer that does not speak RPC ends in RPC_NOT_RPC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RpcTransport, REEST_INIT_MS, CONNECT_TIMEOUT_MS } from '../client/rpc/transport';
import { onRpcCallEvents, type RpcCallEvent } from '../client/rpc/trace';
import { xidStart } from '../client/rpc/xid';
import { linuxTimeouts } from '../client/rpc/timeout';
import { RpcError } from '../core/errors';
import { BLOB_NULL, BLOB_PUT } from './support/client-responder';
import { startScriptedPeer, type ScriptedPeer } from './support/scripted-peer';
import { until } from './support/until';

async function withPeer<T>(fn: (peer: ScriptedPeer, open: (o?: Partial<ConstructorParameters<typeof RpcTransport>[0]>) => RpcTransport) => Promise<T>, peerOpts?: Parameters<typeof startScriptedPeer>[0]): Promise<T> {
  const peer = await startScriptedPeer(peerOpts);
  const ts: RpcTransport[] = [];
  try {
    return await fn(peer, (o = {}) => {
      const t = new RpcTransport({ host: '127.0.0.1', port: peer.port, seed: 21, ...o });
      ts.push(t);
      return t;
    });
  } finally {
    for (const t of ts) await t.close();
    await peer.close();
  }
}

function record(t: RpcTransport): { events: RpcCallEvent[]; stop: () => void } {
  const events: RpcCallEvent[] = [];
  const stop = onRpcCallEvents((e) => {
    if (e.transportId === t.id) events.push(e);
  });
  return { events, stop };
}

test('struct rpc_timeout as NFS fills it: linear 60/120/180 s (nfs_init_timeout_values), exponential up to 600 s (2.6.18)', () => {
  assert.deepEqual(linuxTimeouts(60_000, 2, 'linear'), { timeo: 60_000, retrans: 2, backoff: 'linear', max: 180_000 });
  assert.deepEqual(linuxTimeouts(600_000, 2, 'linear'), { timeo: 600_000, retrans: 2, backoff: 'linear', max: 600_000 });
  assert.deepEqual(linuxTimeouts(60_000, 2, 'exponential'), { timeo: 60_000, retrans: 2, backoff: 'exponential', max: 600_000 });
});

test('the reply timer starts when a call is handed to the socket, never while it waits in the queue; a retransmission goes before queued first transmissions', async () => {
  await withPeer(async (peer, open) => {
    const scale = 0.01;
    const t = open({ timeScale: scale });
    await t.connect();
    const { events, stop } = record(t);
    const a = xidStart(21);
    peer.pauseAfter = a; // A's first copy is read, then the peer stops reading
    const big = Buffer.alloc(24 << 20, 1);
    const pa = t.call(BLOB_PUT, { offset: 0n, data: big });
    // A's timer fires 60 s after A was handed to the socket; its retransmission then fills and blocks the socket.
    await new Promise<void>((resolve) => {
      const tick = () => (events.some((e) => e.xid === a && e.event === 'transmit-start' && e.kind === 'retransmit') ? resolve() : setTimeout(tick, 5));
      tick();
    });
    const pb = t.call(BLOB_NULL, undefined); // B waits in the transmit queue behind A's retransmission
    // Hold the socket blocked for 2.5 of B's would-be timeouts (150 s modelled).
    await new Promise((r) => setTimeout(r, 150_000 * scale));
    const bQueuedOnly = events.filter((e) => e.xid === a + 1).map((e) => e.event);
    peer.autoReply = true;
    peer.resume();
    await Promise.all([pa, pb]);
    await t.idle();
    stop();
    assert.ok(!bQueuedOnly.includes('transmit-start'), `precondition: B was still queued (${bQueuedOnly.join(',')})`);
    assert.ok(!bQueuedOnly.includes('timeout'), 'no reply timer runs for a call that is only queued');
    assert.ok(events.some((e) => e.xid === a && e.event === 'timeout'), "A's timer ran from A's transmission");
    // 2.6.18 __xprt_lock_write_next: xprt->resend (A's retransmissions, even one queued after B) is woken before
    // xprt->sending (B).
    // Only the order up to B's first transmission is pinned: what follows depends on how fast a loaded machine drains
    // the 24 MiB records after resume() (B's own timer, 600 ms real at this scale, expired first in one run
    // under contention and sent `1:retransmit`, which is Linux's behaviour too).
    const order = events.filter((e) => e.event === 'transmit-start').map((e) => `${e.xid - a}:${e.kind}`);
    assert.match(order.join(' '), /^0:first( 0:retransmit)+ 1:first( |$)/);
  });
});

for (const [backoff, kinds, majorAtS] of [
  ['linear', ['minor', 'major'], 180],
  ['exponential', ['minor', 'minor', 'major'], 420],
] as const) {
  test(`a soft call's major timeout comes from the clock (${backoff}): ${kinds.join(', ')}, major at ${majorAtS} s`, async () => {
    await withPeer(async (_peer, open) => {
      const scale = 0.005;
      const t = open({ timeScale: scale, soft: true, backoff });
      await t.connect();
      const { events, stop } = record(t);
      await assert.rejects(t.call(BLOB_NULL, undefined), (e: unknown) => e instanceof RpcError && e.code === 'RPC_TIMEOUT');
      stop();
      const first = events.find((e) => e.event === 'transmit-start')!;
      const timeouts = events.filter((e) => e.event === 'timeout');
      assert.deepEqual(timeouts.map((e) => e.kind), kinds);
      // Timers never fire early; a count of `retrans` minor timeouts would have put the major at 360 s (linear).
      const majorModelS = (timeouts[timeouts.length - 1].t - first.t) / scale / 1000;
      assert.ok(majorModelS >= majorAtS - 1 && majorModelS < majorAtS + 60, `major at ${majorModelS.toFixed(1)} s modelled`);
      assert.equal(t.stats.retransmissions, kinds.length - 1);
    });
  });
}

test('after a major timeout a hard call starts again from timeo (xprt_adjust_timeout resets rq_timeout and rq_majortimeo)', async () => {
  await withPeer(async (peer, open) => {
    const scale = 0.005;
    const t = open({ timeScale: scale, backoff: 'linear' });
    await t.connect();
    const { events, stop } = record(t);
    const done = t.call(BLOB_NULL, undefined);
    await new Promise<void>((resolve) => {
      const tick = () => (events.filter((e) => e.event === 'timeout').length >= 3 ? resolve() : setTimeout(tick, 5));
      tick();
    });
    peer.autoReply = true;
    peer.reply(xidStart(21));
    await done;
    stop();
    const timeouts = events.filter((e) => e.event === 'timeout').slice(0, 3);
    assert.deepEqual(timeouts.map((e) => [e.kind, e.nextTimeoutModelMs]), [
      ['minor', 120_000],
      ['major', 60_000],
      ['minor', 120_000],
    ]);
  });
});

test('after the peer closes, the reconnect waits XS_TCP_INIT_REEST_TO, comes from the same source port (or, when another socket holds it, any) and replays the call', async () => {
  await withPeer(async (peer, open) => {
    const scale = 0.01;
    const t = open({ timeScale: scale });
    await t.connect();
    const xid = xidStart(21);
    peer.autoReply = false;
    const done = t.callInfo(BLOB_NULL, undefined);
    await peer.until(() => peer.records.length === 1);
    peer.conns[0].socket.destroy(); // the server drops the connection without answering
    await peer.until(() => peer.conns.length === 2 && peer.records.length === 2);
    peer.reply(xid);
    const info = await done;
    assert.equal(info.xid, xid);
    assert.deepEqual(peer.records.map((r) => [r.xid, r.conn]), [[xid, 0], [xid, 1]]);
    assertPortsFollowed(peer.conns.map((c) => c.remotePort), t.stats);
    assert.equal(t.sourcePort, peer.conns[1].remotePort);
    assert.equal(t.stats.reconnects, 1);
    assert.equal(t.stats.replays, 1);
    const gapModelMs = (peer.conns[1].acceptedAt - peer.conns[0].acceptedAt) / scale;
    assert.ok(gapModelMs >= REEST_INIT_MS, `reconnected after ${gapModelMs.toFixed(0)} ms modelled`);
  });
});

test('a peer that does not speak ONC RPC: reconnects back off 3 s, 6 s (xprt_reconnect_backoff), then RPC_NOT_RPC', async () => {
  await withPeer(
    async (peer, open) => {
      const scale = 0.01;
      const t = open({ timeScale: scale });
      await t.connect();
      await assert.rejects(t.call(BLOB_NULL, undefined), (e: unknown) => e instanceof RpcError && e.code === 'RPC_NOT_RPC' && /does not speak ONC RPC/.test(e.message));
      assert.equal(peer.conns.length, 3);
      const gaps = [1, 2].map((i) => (peer.conns[i].acceptedAt - peer.conns[i - 1].acceptedAt) / scale);
      assert.ok(gaps[0] >= 3_000 && gaps[1] >= 6_000, `gaps ${gaps.map((g) => g.toFixed(0)).join(', ')} ms modelled`);
      assertPortsFollowed(peer.conns.map((c) => c.remotePort), t.stats);
      // Later calls fail at once rather than reconnecting again.
      await assert.rejects(t.call(BLOB_NULL, undefined), (e: unknown) => e instanceof RpcError && e.code === 'RPC_NOT_RPC');
      assert.equal(peer.conns.length, 3);
    },
    { onConnect: (s) => s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n') },
  );
});

/**
 * Each reconnect comes from the previous connection's source port (xs_tcp_setup_socket binds transport->srcport),
 * unless another socket of this host holds that port: then xs_bind -> xs_next_srcport binds any port in the same
 * attempt. A full suite leaves thousands of TIME_WAIT sockets that connect() may share a port with, so either can
 * happen here; test/client-policies forces the second (a listener on the port) and pins it.
 */
function assertPortsFollowed(ports: number[], stats: { portReused: number; portChanged: number }): void {
  const same = ports.slice(1).filter((p, i) => p === ports[i]).length;
  const why = `ports ${ports.join(',')}, reused ${stats.portReused}, changed ${stats.portChanged}`;
  assert.deepEqual([stats.portReused, stats.portChanged], [same, ports.length - 1 - same], why);
}

/** A real peer that accepts every connection and closes it at once, without a byte; `accepts` holds performance.now() of each. */
async function acceptAndClose(): Promise<{ port: number; accepts: number[]; close(): Promise<void> }> {
  const accepts: number[] = [];
  const server = net.createServer((s) => {
    accepts.push(performance.now());
    s.on('error', () => {});
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, accepts, close: () => new Promise((r) => server.close(() => r())) };
}

test('soft, against a peer that accepts and closes: the call fails RPC_TIMEOUT when a reconnect is not up within XS_TCP_CONN_TO (2.6.18 xprt_connect_status); hard keeps going', async () => {
  const peer = await acceptAndClose();
  const scale = 0.01;
  const soft = new RpcTransport({ host: '127.0.0.1', port: peer.port, seed: 21, soft: true, timeScale: scale });
  try {
    await soft.connect();
    const t0 = performance.now();
    await assert.rejects(soft.call(BLOB_NULL, undefined), (e: unknown) => e instanceof RpcError && e.code === 'RPC_TIMEOUT' && /within the connect timeout/.test(e.message));
    const failedAt = performance.now();
    // Reconnects after 3, 6, 12, 24 and 48 s (each shorter than the 60 s connect timeout) were up in time; the
    // sixth wait, 96 s, was not: the call failed 60 s into it, with no reply timer ever expiring (none was armed
    // long enough to).
    assert.equal(peer.accepts.length, 6, `accepted ${peer.accepts.length}`);
    assert.equal(soft.stats.reconnects, 5);
    assert.equal(soft.stats.timeoutsMinor + soft.stats.timeoutsMajor, 0);
    const waitedModelMs = (failedAt - peer.accepts[5]) / scale;
    assert.ok(waitedModelMs >= CONNECT_TIMEOUT_MS - 1_000, `failed ${waitedModelMs.toFixed(0)} ms modelled after the last connection`);
    assert.ok((failedAt - t0) / scale >= 3_000 + 6_000 + 12_000 + 24_000 + 48_000 + CONNECT_TIMEOUT_MS - 5_000);
  } finally {
    await soft.close();
  }
  // The same peer, hard: still reconnecting after the point where the soft call failed.
  const before = peer.accepts.length;
  const hard = new RpcTransport({ host: '127.0.0.1', port: peer.port, seed: 22, timeScale: scale });
  try {
    await hard.connect();
    let settled = false;
    hard.call(BLOB_NULL, undefined).then(() => (settled = true), () => (settled = true));
    // The seventh connection comes after the 96 s wait in which the soft call failed: waited for, not slept for, so
    // a lagging event loop only makes it later.
    await until(() => peer.accepts.length - before >= 7, 'the hard call reconnecting after the 96 s wait');
    assert.equal(settled, false, 'a hard call never gives up');
    assert.ok(peer.accepts.length - before >= 6, `hard: ${peer.accepts.length - before} connections`);
  } finally {
    await hard.close();
    await peer.close();
  }
});

test('soft: a reconnect that is refused fails the waiting call at once with RPC_CONNECT (2.6.18 xprt_connect_status)', async () => {
  const peer = await acceptAndClose();
  const scale = 0.01;
  const t = new RpcTransport({ host: '127.0.0.1', port: peer.port, seed: 23, soft: true, timeScale: scale });
  try {
    await t.connect();
    await peer.close(); // nothing listens any more: the reconnect 3 s later is refused
    const t0 = performance.now();
    await assert.rejects(t.call(BLOB_NULL, undefined), (e: unknown) => e instanceof RpcError && e.code === 'RPC_CONNECT' && /failed \(soft: xprt_connect_status\)/.test(e.message));
    const modelMs = (performance.now() - t0) / scale;
    assert.ok(modelMs >= REEST_INIT_MS && modelMs < CONNECT_TIMEOUT_MS, `failed after ${modelMs.toFixed(0)} ms modelled`);
    assert.equal(t.stats.reconnects, 1);
  } finally {
    await t.close();
  }
});
