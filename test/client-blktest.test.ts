// blktest2 end to end: against our server and nfs-ganesha with no faults it writes, commits and verifies with zero
// corrupt blocks; through a stalled relay to a server without a DRC, no-cancel corrupts the file and
// copy-on-retransmit does not; the CLI keeps its exit codes and its one JSON document.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runBlktest, findCorrupt } from '../client/blktest';
import { silentLogger } from '../core/log';
import { startGanesha, ganeshaMissing } from '../lab/peers/ganesha';
import { fillPattern } from '../core/pattern';
import { type RunningServer } from '../server/index';
import { testServer } from '../testing/server-rpc';
import { startStallRelay } from './support/client-stall-relay';
import { CLI, runCliAsync } from './support/cli';
import { onRpcCallEvents, type RpcCallEvent } from '../client/rpc/trace';

let dir: string;
let server: RunningServer;
let cleanup: () => Promise<void>;

before(async () => {
  ({ server, dir, cleanup } = await testServer({ logger: silentLogger, journal: undefined }));
});
after(() => cleanup());

// The server runs in this process: the CLI must not block its event loop.
const cli = (args: string[], timeoutMs?: number) => runCliAsync(args, { timeoutMs });

/** Stops a fake server; fails (after destroying them) if its connections are still open 5 s later. */
async function closeServer(srv: net.Server, sockets: Set<net.Socket>): Promise<void> {
  const closed = new Promise<boolean>((r) => srv.close(() => r(true)));
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (t = setTimeout(() => r(false), 5000)));
  const ok = await Promise.race([closed, late]);
  clearTimeout(t);
  if (ok) return;
  const open = sockets.size;
  for (const s of sockets) s.destroy();
  await closed;
  assert.fail(`the fake server still had ${open} connection(s) open 5 s after the client exited`);
}

/** A fake peer on 127.0.0.1 that reads and drops what it is sent and answers each connection with `reply` then a
 * FIN. It reads because a paused socket holding unread bytes never emits 'end': a client that closes with a FIN
 * (it does when its end() races its reset, a timing matter) would leave the socket, and close(), waiting forever. */
async function fakePeer(reply: string) {
  const conns: number[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    conns.push(performance.now());
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.resume();
    s.end(reply);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { conns, port: (server.address() as net.AddressInfo).port, close: () => closeServer(server, sockets) };
}

test('blktest against our server writes, commits and verifies with zero corrupt blocks', async () => {
  const r = await runBlktest({ host: '127.0.0.1', port: server.address.port, exportPath: server.exportPath, file: 'plain.bin', count: 12, inflight: 3, blockSize: 256 << 10, wsize: 32 << 10, seed: 1 });
  assert.equal(r.writes, 12);
  assert.equal(r.writeCalls, 12 * 8);
  assert.equal(r.bytes, 12 * (256 << 10));
  assert.equal(r.fileBytesRead, r.bytes);
  assert.equal(r.committed, true);
  assert.equal(r.corruptBlocks, 0);
  assert.equal(r.lateTransmissions, 0);
  assert.deepEqual(fs.readFileSync(path.join(dir, 'plain.bin')), fillPattern(Buffer.alloc(r.bytes), 0));
});

test('blktest against nfs-ganesha verifies with zero corrupt blocks', { skip: ganeshaMissing() }, async () => {
  const g = await startGanesha();
  try {
    const r = await runBlktest({ host: g.host, port: g.port, mountPort: g.mountPort, exportPath: g.exportPath, file: 'ganesha.bin', count: 8, inflight: 2, wsize: 256 << 10, seed: 2, stable: 'file_sync' });
    assert.equal(r.writes, 8);
    assert.equal(r.corruptBlocks, 0);
    assert.equal(r.committed, false, 'FILE_SYNC writes need no COMMIT');
    assert.deepEqual(fs.readFileSync(path.join(g.exportDir, 'ganesha.bin')), fillPattern(Buffer.alloc(8 << 20), 0));
  } finally {
    await g.stop();
  }
});

// Seed 000 end to end: a server that executes every duplicate (DRC off) behind a 65 s stall.
for (const [policy, corrupts] of [['no-cancel', true], ['copy-on-retransmit', false]] as const) {
  test(`blktest through a 65 s stall to a DRC-less server: ${policy} ${corrupts ? 'corrupts the file' : 'keeps it intact'}`, async () => {
    const { server: s, cleanup: removeServer } = await testServer({ logger: silentLogger, journal: undefined, drc: { mode: 'off' } });
    const relay = await startStallRelay({ port: s.address.port });
    const scale = 0.002;
    const evs: RpcCallEvent[] = [];
    const stopEvents = onRpcCallEvents((e) => evs.push(e));
    try {
      const stalled = relay.stall({ afterBytes: 6 << 20, ms: 65_000 * scale, gapMs: 30 });
      const r = await runBlktest({
        host: '127.0.0.1', port: relay.port, exportPath: s.exportPath, file: 'stall.bin', count: 48, inflight: 32,
        blockSize: 1 << 20, wsize: 1 << 20, policy, timeScale: scale, seed: 3,
      });
      await stalled;
      // Each late XID's events, so a late transmission names its copy and path (attempt:kind:source).
      const lateTrace = r.lateXids.map((x) => `${x.toString(16)}: ${evs.filter((e) => e.xid === x).map((e) => [e.event, e.attempt, e.kind, e.source, e.path].filter((v) => v !== undefined).join(':')).join(' ')}`).join('; ');
      assert.equal(relay.stalls, 1);
      assert.ok(r.retransmissions + r.duplicatesCancelled > 0, 'the stall made the 60 s timer fire');
      if (corrupts) {
        assert.ok(r.lateTransmissions > 0);
        assert.ok(r.corruptBlocks > 0, 'late duplicates overwrote blocks');
        assert.ok(r.corrupt.every((c) => c.found !== 'zero'));
      } else {
        assert.equal(r.lateTransmissions, 0, lateTrace);
        assert.equal(r.corruptBlocks, 0);
      }
    } finally {
      stopEvents();
      await relay.close();
      await removeServer();
    }
  });
}

test('corrupt blocks are classified by what they hold: scribble, zero, other', () => {
  const B = 64;
  const data = fillPattern(Buffer.alloc(4 * B), 0);
  data.fill(Buffer.from([0xde, 0xad, 0xbe, 0xef]), B, 2 * B);
  data.fill(0, 2 * B + 8, 2 * B + 16);
  data.writeUInt32BE(7, 3 * B + 4);
  assert.deepEqual(findCorrupt(data, B, 0xdeadbeef).map((c) => [c.block, c.found, c.badWords]), [
    [1, 'scribble', 16],
    [2, 'zero', 2],
    [3, 'other', 1],
  ]);
  // clean blocks (compared whole) and a short last block (compared word by word) around a corrupt one
  const file = fillPattern(Buffer.alloc(5 * B + 12), 0);
  file.writeUInt32BE(0xdeadbeef, 4 * B + 60);
  file.writeUInt32BE(0, 5 * B + 8);
  assert.deepEqual(findCorrupt(file, B, 0xdeadbeef).map((c) => [c.block, c.found, c.badWords, c.firstBadOffset]), [
    [4, 'scribble', 1, 4 * B + 60],
    [5, 'zero', 1, 5 * B + 8],
  ]);
});

test('CLI: --json prints one document and exits 0 when the file verifies', async () => {
  const r = await cli(['blktest', '--server', `127.0.0.1:${server.address.port}`, '--export', server.exportPath, '--file', 'cli.bin', '--count', '4', '--block-size', '128KiB', '--seed', '5', '--json']);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out);
  for (const k of ['writes', 'bytes', 'retransmissions', 'lateTransmissions', 'corruptBlocks', 'policy', 'seed', 'durationMs']) assert.ok(k in doc, k);
  assert.equal(doc.writes, 4);
  assert.equal(doc.policy, 'linux-2008');
  assert.equal(doc.seed, 5);
});

test('CLI: a port that does not speak ONC RPC: reconnects back off, then exit 4 with RPC_NOT_RPC', async () => {
  // What blktest pointed at, e.g., sshd used to do: reconnect ~700 times a second forever.
  const banner = await fakePeer('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n');
  const conns = banner.conns;
  try {
    const port = banner.port;
    // Modelled backoff 3 s + 6 s at --time-scale 0.01 is 90 ms of waiting: 60 s is a bound, not an expectation.
    const r = await cli(['blktest', '--server', `127.0.0.1:${port}`, '--file', 'x.bin', '--time-scale', '0.01', '--json'], 60_000);
    assert.equal(r.signal, null, `blktest did not give up within 60 s (killed; ${conns.length} connections): ${r.err.slice(-2000)}`);
    assert.equal(r.code, 4, r.err);
    const doc = JSON.parse(r.out);
    assert.equal(doc.error.code, 'RPC_NOT_RPC');
    assert.match(doc.error.message, /does not speak ONC RPC/);
    assert.equal(conns.length, 3, 'three connections, then it gave up');
  } finally {
    await banner.close();
  }
});

test('CLI: a peer that accepts and closes at once: a hard mount reconnects forever, backing off, one --verbose line each', async () => {
  // Linux hard mount: xprt_disconnect wakes the call, call_status -> call_bind/call_connect, and xs_connect waits
  // reestablish_timeout, doubled by xprt_reconnect_backoff (3 s, 6 s, 12 s, ... 5 min); nothing ever gives up.
  const closer = await fakePeer('');
  const conns = closer.conns;
  const port = closer.port;
  const child = spawn(process.execPath, [CLI, 'blktest', '--server', `127.0.0.1:${port}`, '--file', 'x.bin', '--time-scale', '0.01', '--verbose', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let err = '';
  try {
    const delays = await new Promise<number[]>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`fewer than 3 reconnect lines within 30 s: ${err.slice(-2000)}`)), 30_000);
      child.stderr!.on('data', (d) => {
        err += d;
        const ds = [...err.matchAll(/reconnecting to 127\.0\.0\.1:\d+ .*delayModelMs=(\d+)/g)].map((m) => Number(m[1]));
        if (ds.length >= 3) {
          clearTimeout(t);
          resolve(ds.slice(0, 3));
        }
      });
      void exited.then((code) => reject(new Error(`blktest exited (${code}) instead of retrying: ${err.slice(-2000)}`)));
    });
    assert.deepEqual(delays, [3000, 6000, 12000]);
    assert.ok(conns.length >= 3, `${conns.length} connections`);
  } finally {
    process.kill(child.pid!, 'SIGKILL');
    await exited;
    await closer.close();
  }
});

test('CLI: a peer that accepts and closes at once: --soft fails with RPC_TIMEOUT once a reconnect takes longer than the connect timeout', async () => {
  // Linux 2.6.18 soft mount: after each lost connection the call sleeps in xprt_connect for at most XS_TCP_CONN_TO
  // (60 s) while xs_connect waits 3, 6, 12, 24, 48, then 96 s; on that last wait xprt_connect_status fails it (EIO).
  const closer = await fakePeer('');
  try {
    const r = await cli(['blktest', '--server', `127.0.0.1:${closer.port}`, '--file', 'x.bin', '--time-scale', '0.01', '--soft', '--json']);
    assert.equal(r.code, 1, r.err);
    const e = JSON.parse(r.out).error;
    assert.equal(e.code, 'RPC_TIMEOUT');
    assert.match(e.message, /no connection to 127\.0\.0\.1:\d+ within the connect timeout \(60 s/);
    assert.equal(closer.conns.length, 6, `accepted ${closer.conns.length} connections: the first and five reconnects`);
  } finally {
    await closer.close();
  }
});

test('CLI: an unreachable server exits 4, a bad option value exits 2', async () => {
  const down = await cli(['blktest', '--server', '127.0.0.1:1', '--file', 'x.bin', '--json']);
  assert.equal(down.code, 4);
  assert.equal(JSON.parse(down.out).error.code, 'RPC_CONNECT');
  const bad = await cli(['blktest', '--server', '127.0.0.1:1', '--file', 'x.bin', '--wsize', 'lots']);
  assert.equal(bad.code, 2);
});

// Issue 21: a missing export printed `mountstat3 2`; the RFC 1813 name says what went wrong.
test('CLI: an export the server does not have is named MNT3ERR_NOENT (exit 1)', async () => {
  const r = await cli(['blktest', '--server', `127.0.0.1:${server.address.port}`, '--export', '/no-such-export', '--file', 'x.bin', '--count', '1']);
  assert.equal(r.code, 1, r.err);
  assert.match(r.err, /MNT \/no-such-export on 127\.0\.0\.1: MNT3ERR_NOENT \(mountstat3 2\)/);
  const j = await cli(['blktest', '--server', `127.0.0.1:${server.address.port}`, '--export', '/no-such-export', '--file', 'x.bin', '--count', '1', '--json']);
  assert.deepEqual([j.code, JSON.parse(j.out).error.code, JSON.parse(j.out).error.details.statusName], [1, 'MNT_FAILED', 'MNT3ERR_NOENT']);
});
