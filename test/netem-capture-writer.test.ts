// The proxy's pcap writer (issue 20): headers and the relay's own bytes go out in one synchronous writev per call,
// no payload copy. Its bytes are identical to the copying writer it replaced, and a file that cannot keep up
// slows the relay down without losing a packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectFilesDetailed } from '../captures/inspect';
import { createProxy } from '../netem';
import { ConnectionCapture, PcapSink } from '../netem/capture/sink';
import { NFSPROC3 } from '../xdr/nfs3/constants';
import { XdrWriter } from '../xdr/writer';
import { RpcTestClient, startEchoServer } from './support/netem-rpc';

/**
 * sha256 of the file the copying, thread-pool writer (netem/capture/sink.ts at 86554d1) wrote for this sequence,
 * its clock made deterministic (performance.timeOrigin 1.7e12 ms, performance.now() stepping 0.25 ms).
 */
const GOLDEN = { sha256: '96189ea5248f5801d74f65a6833d94416bc64bea432bdcecac77991cc2e01568', bytes: 2374566 };

test('pcap bytes are identical, byte for byte, to the copying writer for the same relayed traffic', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-writer-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'seq.pcap');
  const sink = new PcapSink(file);
  let tick = 1_700_000_000_000_000;
  const cap = new ConnectionCapture(sink, { address: '127.0.0.1', port: 40000 }, { address: '127.0.0.1', port: 2049 }, 12345, () => (tick += 250));
  const pay = (n: number, k: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 7 + k) & 0xff;
    return b;
  };
  cap.serverConnected({ address: '127.0.0.1', port: 50000 }, { address: '127.0.0.1', port: 20049 }, 777);
  [1, 1448, 65495, 65496, 1 << 20, 3000].forEach((n, k) => {
    const b = pay(n, k);
    cap.fromClient(b);
    cap.toServer(b);
    b.fill(0xee); // the relay reads into its slab again as soon as the tap returned
    const r = pay(140, k + 50);
    cap.fromServer(r);
    cap.toClient(r);
  });
  cap.fin('client', true);
  cap.fin('server', true);
  cap.fin('server', false);
  cap.fin('client', false);
  cap.rst('client', true);
  await sink.close();
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.length, GOLDEN.bytes);
  assert.equal(crypto.createHash('sha256').update(bytes).digest('hex'), GOLDEN.sha256);
});

/** RFC 1813 §3.3.7 WRITE3args with an 8-byte handle. */
function writeArgs(offset: bigint, data: Buffer): Buffer {
  return new XdrWriter().opaque(Buffer.alloc(8, 0xfe), 64).u64(offset).u32(data.length).u32(2).opaque(data).toBuffer();
}

test('a capture file that stalls slows the relay and loses no packet', { skip: spawnSync('mkfifo', ['--version']).status === 0 ? undefined : 'needs mkfifo (coreutils)', timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-writer-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The "disk": a FIFO drained by another process at about 4 MB/s in 64 KiB reads, with a 300 ms stall first.
  const fifo = path.join(dir, 'slow.pcap');
  const copy = path.join(dir, 'copy.pcap');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const reader = spawn(process.execPath, ['-e', `
    const fs = require('fs');
    const fd = fs.openSync(process.argv[1], 'r'), out = fs.openSync(process.argv[2], 'w');
    const b = Buffer.alloc(65536);
    const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    sleep(300);
    for (;;) { const n = fs.readSync(fd, b, 0, b.length, null); if (n === 0) break; fs.writeSync(out, b, 0, n); sleep(15); }
    fs.closeSync(out);`, fifo, copy], { stdio: 'ignore' });
  const readerDone = new Promise<number | null>((res) => reader.on('close', res));
  t.after(() => {
    if (reader.exitCode === null) reader.kill();
  });
  const server = await startEchoServer();
  t.after(() => server.close());
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: server.port }, capture: fifo });
  const client = await RpcTestClient.connect(proxy.address.port);
  const n = 40;
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await client.call(NFSPROC3.WRITE, writeArgs(BigInt(i) * 65536n, Buffer.alloc(60_000, i)));
  const ms = Date.now() - t0;
  client.close();
  await proxy.close();
  assert.equal(await readerDone, 0);
  // 40 calls of 60 kB relayed twice (both legs) and echoed back: ~9.6 MB through a ~4 MB/s file.
  t.diagnostic(`${n} calls took ${ms} ms through a capture file that drains at ~4 MB/s`);
  const res = await inspectFilesDetailed([copy], { leg: 'all' });
  assert.equal(res.report.rpcCalls, 2 * n, 'every call on both legs');
  assert.equal(res.report.rpcReplies, 2 * n);
  assert.equal(res.report.damagedCalls.count, 0);
  assert.deepEqual(res.report.files[0].trailing, null);
  assert.equal(res.report.streamFindings.counts['gap-resync'] + res.report.streamFindings.counts['record-lost'], 0);
});
