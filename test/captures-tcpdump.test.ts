// A real loopback capture by tcpdump: a tiny raw-RPC sender sends the same WRITE XID twice with different data
// (the second copy refilled with 0xdeadbeef after the first was answered, as in seeds/000), once more after a
// reconnect; inspect finds both duplicates from the capture alone. Skips without tcpdump or root.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { inspectFiles } from '../captures/inspect';
import { parseTcpdumpStats, startTcpdump, type TcpdumpCapture } from '../netem/capture/tcpdump';
import { missingTools, isRoot } from '../lab/peers/tools';
import { record, writeCall, writeReply, counter, fill32 } from '../testing/captures-builder';
import { until } from './support/until';

const skip = missingTools(['tcpdump', 'tcpdump']) ?? (isRoot() ? undefined : 'needs root to capture on lo');

/** A sink that answers every complete record with a WRITE reply for its XID (no record parsing beyond the mark). */
function startSink(): Promise<net.Server> {
  const server = net.createServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 4) {
        const len = buf.readUInt32BE(0) & 0x7fffffff;
        if (buf.length < 4 + len) break;
        const xid = buf.readUInt32BE(4);
        buf = buf.subarray(4 + len);
        sock.write(record(writeReply(xid, 16384)));
      }
    });
    sock.on('error', () => {});
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function exchange(port: number, messages: Buffer[], localPort?: number): Promise<void> {
  const sock = net.connect({ host: '127.0.0.1', port, ...(localPort ? { localPort } : {}) });
  await once(sock, 'connect');
  let replies = 0;
  sock.on('data', (d) => (replies += d.length > 0 ? 1 : 0));
  for (const m of messages) {
    let before = replies;
    sock.write(m);
    await until(() => replies > before, 'a reply');
    before = replies;
  }
  sock.end();
  await once(sock, 'close');
}

test('tcpdump on lo: duplicated XIDs with differing payloads are found in a real capture', { skip, timeout: 30_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-tcpdump-'));
  const file = path.join(dir, 'lo.pcap');
  const server = await startSink();
  const port = (server.address() as net.AddressInfo).port;
  let dump: TcpdumpCapture | null = null;
  try {
    // startTcpdump uses --immediate-mode and, on stop, waits for the file to settle before SIGTERM.
    dump = await startTcpdump(file, [port]);
    const good = counter(16384, 0x1000);
    const bad = Buffer.concat([good.subarray(0, 8192), fill32(8192, 0xdeadbeef)]);
    // Same connection: the copy sent after the reply carries the refilled buffer.
    await exchange(port, [record(writeCall(0x5eed0001, 0n, good)), record(writeCall(0x5eed0001, 0n, bad))]);
    // Reconnect, then retransmit the XID of the first connection's other call with different data.
    await exchange(port, [record(writeCall(0x5eed0002, 16384n, good))]);
    await exchange(port, [record(writeCall(0x5eed0002, 16384n, fill32(16384, 0)))]);
    const stats = await dump.stop();
    dump = null;
    const r = await inspectFiles([file]);
    // tcpdump's own counts, read from its exit lines: what it wrote is what the file holds
    assert.ok(stats, 'tcpdump printed its counts');
    assert.equal(stats.captured, r.files[0].packets);
    assert.equal(stats.droppedByKernel, 0);
    assert.ok(stats.receivedByFilter >= stats.captured);
    assert.equal(r.writeCalls, 4);
    assert.equal(r.corrupted, true);
    const byXid = new Map(r.differingDuplicates.map((d) => [d.xid, d]));
    const one = byXid.get('0x5eed0001')!;
    assert.equal(one.client, '127.0.0.1');
    assert.equal(one.firstDiffOffset, 8192);
    assert.equal(one.pattern, 'fill32 0xdeadbeef (DEADBEEF)');
    assert.equal(one.connections, 1);
    assert.ok(one.replyToLaterCopy !== null && one.replyToLaterCopy >= 0);
    const two = byXid.get('0x5eed0002')!;
    assert.equal(two.connections, 2);
    assert.equal(two.patternDetail?.kind, 'zero');
    assert.deepEqual(two.answered, [1, 2]);
  } finally {
    await dump?.stop();
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("tcpdump's exit counts are parsed from its last lines, singular or plural; anything else is not a count", () => {
  const out = 'tcpdump: listening on lo, link-type EN10MB (Ethernet), snapshot length 262144 bytes\n1 packet captured\n12 packets received by filter\n11 packets dropped by kernel\n';
  assert.deepEqual(parseTcpdumpStats(out), { captured: 1, receivedByFilter: 12, droppedByKernel: 11 });
  assert.equal(parseTcpdumpStats('1 packet captured\n12 packets received by filter\n'), undefined);
  assert.equal(parseTcpdumpStats('tcpdump: pcap_loop: The interface disappeared\n'), undefined);
});
