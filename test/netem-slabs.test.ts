// The relay's fast path reads into a few pooled slabs and reuses them as soon as a write completed; nothing that
// sees a chunk (the passive record framer, the pcap sink) may keep it, and bytes still arrive exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createProxy } from '../netem';
import { MAX_SEGMENT } from '../netem/capture/pcap';
import { ConnectionCapture, PcapSink } from '../netem/capture/sink';
import { RpcFramer, type FramerHooks } from '../netem/rpc-framer';
import { connect, hashUntilEnd, patternBlock, startServer, writeStream } from './support/netem-streams';
import { RpcTestClient } from './support/netem-rpc';

const hooks = (): FramerHooks => ({
  onCall: (xid, prog, vers, proc) => ({ prog, vers, proc, procName: String(proc) }),
  onReply: () => undefined,
});

test('with no fault, 256 MiB each way arrive with the same sha256 and the reads reuse a handful of slabs', { timeout: 60_000 }, async (t) => {
  const total = 256 * (1 << 20);
  const blocks = [0, 1, 2].map((i) => patternBlock(11, i, 1 << 20));
  let serverSide!: Promise<{ sent: string; got: { bytes: number; sha256: string } }>;
  const srv = await startServer((s) => {
    serverSide = Promise.all([writeStream(s, total, blocks.slice().reverse()), hashUntilEnd(s)]).then(([sent, got]) => ({ sent, got }));
  });
  t.after(() => srv.close());
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: srv.port } });
  t.after(() => proxy.close());
  const c = await connect(proxy.address.port);
  const [sent, got] = await Promise.all([writeStream(c, total, blocks), hashUntilEnd(c)]);
  const s = await serverSide;
  assert.deepEqual(s.got, { bytes: total, sha256: sent }, 'client -> server');
  assert.deepEqual(got, { bytes: total, sha256: s.sent }, 'server -> client');
  const m = proxy.metrics();
  assert.ok(m.upstreamDir.chunks + m.downstreamDir.chunks > 100, 'many reads');
  assert.ok(m.upstreamDir.bytesIn / m.upstreamDir.chunks > 64 * 1024, 'bulk reads grow past 64 KiB');
  // Per direction: the slab being read into, one whose write the kernel has not finished, one more in passing.
  assert.ok(proxy.readPool.allocations <= 12, `slabs allocated: ${proxy.readPool.allocations}`);
  c.destroy();
});

test('while a fault is installed reads stay at 64 KiB, so counting triggers keep their granularity', { timeout: 60_000 }, async (t) => {
  const total = 32 * (1 << 20);
  let got!: Promise<{ bytes: number; sha256: string }>;
  const srv = await startServer((s) => {
    got = hashUntilEnd(s);
  });
  t.after(() => srv.close());
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: srv.port }, faults: [{ kind: 'stall', duration: '1s', every: 1e9 }] });
  t.after(() => proxy.close());
  const c = await connect(proxy.address.port);
  const sent = await writeStream(c, total, [patternBlock(3, 0, 1 << 20)]);
  assert.deepEqual(await got, { bytes: total, sha256: sent });
  const m = proxy.metrics().upstreamDir;
  assert.ok(m.bytesIn / m.chunks <= 64 * 1024, `average read ${m.bytesIn / m.chunks}`);
  c.destroy();
});

test('passive framing keeps nothing of a chunk: overwriting every chunk after push changes no record and no byte', () => {
  const calls = [1, 2, 3].map((xid) => RpcTestClient.encodeCall(xid, 7, Buffer.alloc(300 * xid, xid)));
  const bytes = Buffer.concat(calls);
  for (const step of [1, 5, 24, 29, 64, 1000]) {
    const f = new RpcFramer(hooks());
    const out: Buffer[] = [];
    const xids: number[] = [];
    for (let o = 0; o < bytes.length; o += step) {
      const chunk = Buffer.from(bytes.subarray(o, o + step)); // a reused read buffer, in effect
      for (const u of f.push(chunk)) {
        out.push(Buffer.from(u.bytes));
        xids.push(...u.records.map((r) => r.xid));
      }
      chunk.fill(0xff);
    }
    assert.deepEqual(Buffer.concat(out), bytes, `step ${step}`);
    assert.deepEqual(xids, [1, 2, 3], `step ${step}`);
  }
});

test('leaving record mode mid-record forwards the bytes held so far, then the rest passes through', () => {
  const rec = RpcTestClient.encodeCall(9, 7, Buffer.alloc(100, 9));
  const f = new RpcFramer(hooks());
  f.setRecordMode(true);
  assert.deepEqual(f.push(rec.subarray(0, 40)), []); // held towards the record
  const flushed = f.setRecordMode(false);
  const rest = f.push(rec.subarray(40));
  assert.deepEqual(Buffer.concat([...flushed, ...rest].map((u) => u.bytes)), rec);
  assert.deepEqual(rest.flatMap((u) => u.records.map((r) => r.xid)), [9]);
});

test('the pcap sink writes what it is given before returning (the slab may be refilled at once), every packet', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-slabs-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'sink.pcap');
  const sink = new PcapSink(file);
  const cap = new ConnectionCapture(sink, { address: '127.0.0.1', port: 1000 }, { address: '127.0.0.1', port: 2000 }, 1);
  const chunk = Buffer.alloc(1 << 20);
  let written = 0;
  // 48 MiB offered without yielding, the buffer refilled after each call.
  for (let i = 0; i < 48; i++) {
    chunk.fill(i);
    cap.fromClient(chunk);
    written += chunk.length;
  }
  await sink.close();
  const pcap = fs.readFileSync(file);
  // global header, 3 handshake packets, then each MiB in segments of at most MAX_SEGMENT, each with a 16+54 byte
  // pcap record + Ethernet/IPv4/TCP header
  const perMiB = Math.ceil(chunk.length / MAX_SEGMENT) * 70 + chunk.length;
  assert.equal(pcap.length, 24 + 3 * 70 + (written / chunk.length) * perMiB);
  for (let i = 0; i < 48; i++) {
    const first = 24 + 3 * 70 + i * perMiB + 70;
    assert.equal(pcap[first], i, `payload of MiB ${i} is what was given, not what the buffer held later`);
  }
});
