// The RPC client transport: XIDs, reply matching, Linux timer semantics at a small time scale, soft/hard major
// timeouts, reconnect-and-replay with the same XIDs, and the lifecycle trace.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { RpcTransport } from '../client/rpc/transport';
import { onRpcCallEvents, TapPrinter, type RpcCallEvent } from '../client/rpc/trace';
import { xidStart } from '../client/rpc/xid';
import { memoryLogger } from '../core/log';
import { RpcError } from '../core/errors';
import { startResponder, BLOB_NULL, BLOB_PUT, type Responder } from './support/client-responder';
import { startStallRelay, type StallRelay } from './support/client-stall-relay';

// 65 s of model time become 130 ms: the seed's stall against the default timeo of 60 s.
const SCALE = 0.002;
const STALL_MS = 65_000 * SCALE;

let responder: Responder;
let relay: StallRelay;
const transports: RpcTransport[] = [];

before(async () => {
  responder = await startResponder();
  relay = await startStallRelay({ port: responder.port });
});
after(async () => {
  for (const t of transports) await t.close();
  await relay.close();
  await responder.close();
});

async function open(opts: Partial<ConstructorParameters<typeof RpcTransport>[0]> = {}): Promise<RpcTransport> {
  const t = new RpcTransport({ host: '127.0.0.1', port: relay.port, timeScale: SCALE, seed: 1, ...opts });
  transports.push(t);
  await t.connect();
  return t;
}

function eventsOf(xid: number, fn: () => Promise<unknown>): Promise<RpcCallEvent[]> {
  const seen: RpcCallEvent[] = [];
  const stop = onRpcCallEvents((e) => {
    if (e.xid === xid) seen.push(e);
  });
  return fn().then(
    () => (stop(), seen),
    (e) => {
      stop();
      throw e;
    },
  );
}

test('XIDs start from the seed and increase by one per call (RFC 5531 §9 xid)', async () => {
  const a = await open({ seed: 7 });
  const first = (await a.callInfo(BLOB_NULL, undefined)).xid;
  const second = (await a.callInfo(BLOB_NULL, undefined)).xid;
  assert.equal(first, xidStart(7));
  assert.equal(second, (first + 1) >>> 0);
  assert.notEqual(xidStart(7), xidStart(8));
});

test('replies are matched by XID and decoded with the procedure codec', async () => {
  const t = await open({ seed: 2 });
  const bufs = [Buffer.alloc(1000, 1), Buffer.alloc(3000, 2), Buffer.alloc(10, 3)];
  const counts = await Promise.all(bufs.map((data, i) => t.call(BLOB_PUT, { offset: BigInt(i * 4096), data }, { borrowed: [data] })));
  assert.deepEqual(counts, [1000, 3000, 10]);
  assert.equal(t.stats.transmissions, 3);
  assert.equal(t.stats.retransmissions, 0);
});

test('a 65 s stall with timeo 60 s causes exactly one retransmission of the same XID', async () => {
  const t = await open({ seed: 3, timeo: 60_000, retrans: 2 });
  for (let round = 1; round <= 2; round++) {
    const xidNext = xidStart(3) + round - 1;
    const stalled = relay.stall({ ms: STALL_MS, gapMs: 5, afterXid: xidNext });
    const ev = await eventsOf(xidNext, () => t.call(BLOB_NULL, undefined));
    await stalled;
    const names = ev.map((e) => e.event);
    assert.deepEqual(names.filter((n) => n === 'timeout'), ['timeout'], names.join(','));
    assert.equal(ev.find((e) => e.event === 'timeout')!.kind, 'minor');
    assert.equal(names.filter((n) => n === 'retransmit-queued').length, 1);
    assert.ok(names.indexOf('complete') > names.indexOf('retransmit-queued'));
    assert.equal(t.stats.retransmissions, round);
    assert.equal(t.stats.perXid.get(xidNext)?.retransmissions, 1);
    // the original's reply completed the call; the retransmission is still on its way to the responder
    await responder.waitForCalls(xidNext, 2);
  }
});

test('a soft call fails with RPC_TIMEOUT at its major timeout (timeo 60 s, retrans 2: minor at 60 s, major at 180 s)', async () => {
  const t = await open({ seed: 4, soft: true, timeo: 60_000, retrans: 2 });
  responder.silent = true;
  try {
    await assert.rejects(t.call(BLOB_NULL, undefined), (e: unknown) => e instanceof RpcError && e.code === 'RPC_TIMEOUT');
  } finally {
    responder.silent = false;
  }
  assert.equal(t.stats.timeoutsMinor, 1);
  assert.equal(t.stats.timeoutsMajor, 1);
  assert.equal(t.stats.retransmissions, 1);
});

test('a hard call logs "not responding, still trying" at the major timeout and completes when the server answers', async () => {
  const logger = memoryLogger();
  const t = await open({ seed: 5, soft: false, timeo: 60_000, retrans: 1, logger });
  // timeo 60 s, retrans 1: minor at 60 s; rq_majortimeo is 120 s, so the next expiry (60 + 120 = 180 s) is major. The major timer is armed when the minor one
  // fires, so a late minor expiry (a loaded machine) moves it: a fixed 200 s stall could end first. The stall ends
  // 20 s after the major timeout instead (as a 200 s stall would), however late that came.
  let major!: () => void;
  const majorSeen = new Promise<void>((resolve) => (major = resolve));
  const stop = onRpcCallEvents((e) => e.xid === xidStart(5) && e.event === 'timeout' && e.kind === 'major' && major());
  const stalled = relay.stall({ ms: 20_000 * SCALE, gapMs: 5, afterXid: xidStart(5), until: majorSeen });
  await t.call(BLOB_NULL, undefined);
  await stalled;
  stop();
  assert.equal(t.stats.timeoutsMajor, 1);
  assert.ok(logger.lines.some((l) => l.includes('not responding, still trying')), logger.lines.join('\n'));
  assert.ok(logger.lines.some((l) => l.includes('OK')));
  // the original's reply completed the call: let its retransmissions land before the next test sets dropAfter
  await responder.waitForCalls(xidStart(5), 1 + t.stats.retransmissions);
});

test('a lost connection reconnects and replays the in-flight call with the same XID', async () => {
  // Not time-compressed: at SCALE, timeo (60 s) is 120 ms of wall-clock time, which a loaded machine can spend
  // reconnecting; the timeout's retransmission is then what the new connection carries, not a replay.
  const t = new RpcTransport({ host: '127.0.0.1', port: responder.port, timeScale: 1, seed: 6 });
  transports.push(t);
  await t.connect();
  responder.dropAfter = 1;
  const data = Buffer.alloc(2048, 9);
  const info = await t.callInfo(BLOB_PUT, { offset: 0n, data }, { borrowed: [data] });
  assert.equal(info.res, 2048);
  const mine = responder.connections.filter((xids) => xids.includes(info.xid));
  assert.equal(mine.length, 2);
  assert.deepEqual(mine[0], [info.xid]);
  assert.deepEqual(mine[1], [info.xid]);
  assert.equal(t.stats.reconnects, 1);
  assert.equal(t.stats.replays, 1);
});

test('connecting to a closed port is RPC_CONNECT', async () => {
  const t = new RpcTransport({ host: '127.0.0.1', port: 1, timeScale: SCALE });
  await assert.rejects(t.connect(), (e: unknown) => e instanceof RpcError && e.code === 'RPC_CONNECT');
  await t.close();
});

test('the lifecycle trace prints one tap block per XID in the seed format', async () => {
  // A call that completes without a timeout: at SCALE the default timeo (60 s) is 120 ms of wall-clock time, which
  // a loaded machine can spend before the reply is read, adding a timeout and a retransmission to the trace. Time
  // is not compressed here (timeo is the real 60 s), as a real client's is.
  const t = await open({ seed: 8, timeScale: 1 });
  const lines: string[] = [];
  const printer = new TapPrinter((l) => lines.push(l));
  const stop = onRpcCallEvents((e) => printer.handle(e));
  const data = Buffer.alloc(4096, 1);
  await t.call(BLOB_PUT, { offset: 0n, data }, { borrowed: [data] });
  await t.idle();
  stop();
  const mine = lines.filter((l) => l.includes(`xid=0x${xidStart(8).toString(16).padStart(8, '0')}`));
  const names = mine.map((l) => /"([^"]+)"/.exec(l)![1]);
  assert.deepEqual(names, ['init', 'encode', 'queued', 'transmit-start', 'transmit-done', 'reply', 'complete', 'released']);
  assert.match(mine[0], /^tap: 0\/8 at \d+\.\d{3}s \(model \d+\.\d{3}s\) "init" xid=0x[0-9a-f]{8} rpc PUT/);
});
