// The annotated pcapng (issue 19): `inspect --annotate OUT.pcapng` and `netem --capture x.pcapng` write a copy in
// which tshark finds exactly the scribbled copies with `frame.comment contains "differing"`, the fault events with
// `frame.comment contains "stall"`, one interface per relay leg, and no malformed packet.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectFiles } from '../captures';
import { missingTools } from '../lab/peers/tools';
import { createProxy } from '../netem';
import { NFSPROC3 } from '../xdr/nfs3/constants';
import { XdrWriter } from '../xdr/writer';
import { TcpConv, pcapFile, timed, LT, writeCall, writeReply, record, counter, fill32 } from '../testing/captures-builder';
import { RpcTestClient, startEchoServer } from './support/netem-rpc';

const MAIN = path.join(__dirname, '..', 'cli', 'main.js');
const skip = missingTools(['tshark', 'tshark']);

function tshark(file: string, filter: string, fields: string[], ports: number[] = []): string[][] {
  const args = ['-r', file, ...ports.flatMap((p) => ['-d', `tcp.port==${p},rpc`]), '-Y', filter, '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])];
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => l.split('|'));
}

test('inspect --annotate: tshark lists exactly the differing copies inspect reported, nothing malformed', { skip }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-annotate-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const good = counter(8192, 1);
  const bad = Buffer.concat([good.subarray(0, 1024), fill32(8192 - 1024, 0xdeadbeef)]);
  const c = new TcpConv();
  const frames = [
    ...c.handshake(),
    ...c.clientSegments(record(writeCall(0xfeed0001, 65536n, good)), 1448),
    c.fromServer(record(writeReply(0xfeed0001, 8192))),
    ...c.clientSegments(record(writeCall(0xfeed0001, 65536n, bad)), 1448),
    ...c.clientSegments(record(writeCall(0xfeed0001, 65536n, good)), 1448),
    ...c.clientSegments(record(writeCall(0xfeed0002, 0n, good)), 1448),
    c.fromServer(record(writeReply(0xfeed0002, 8192))),
  ];
  const file = path.join(dir, 'in.pcap');
  fs.writeFileSync(file, pcapFile(timed(frames), { linktype: LT.ETHERNET }));
  const out = path.join(dir, 'out.pcapng');
  const r = spawnSync(process.execPath, [MAIN, 'inspect', file, '--annotate', out, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 3, r.stderr);
  const doc = JSON.parse(r.stdout);
  const scribbled = doc.differingDuplicates.flatMap((d: { transmissions: Array<{ equalToFirst: boolean; frames: { first: number } }> }) => d.transmissions.filter((x) => x.equalToFirst === false).map((x) => String(x.frames.first)));
  assert.equal(scribbled.length, 1);
  const found = tshark(out, 'frame.comment contains "differing"', ['frame.number', 'frame.comment']);
  assert.deepEqual(found.map((f) => f[0]), scribbled);
  assert.match(found[0][1], /copy 2 of 3: differing from copy 1 at offset 1024, \d+ bytes, fill32 0xdeadbeef/);
  assert.equal(tshark(out, 'frame.comment contains "equal to copy 1"', ['frame.number']).length, 1);
  assert.deepEqual(tshark(out, '_ws.malformed || _ws.expert.severity >= "error"', ['frame.number']), []);
  assert.equal(tshark(out, 'frame', ['frame.number']).length, frames.length);
  assert.equal(doc.annotated.differingFrames.length, 1);
});

/** RFC 1813 §3.3.7 WRITE3args with an 8-byte handle. */
function writeArgs(offset: bigint, data: Buffer): Buffer {
  return new XdrWriter().opaque(Buffer.alloc(8, 0xfe), 64).u64(offset).u32(data.length).u32(2).opaque(data).toBuffer();
}

test('netem --capture x.pcapng: legs as interfaces, scribbled copies and stall events as comments', { skip, timeout: 60_000 }, async (t) => {
  const server = await startEchoServer();
  t.after(() => server.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-annotate-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'run.pcapng');
  const proxy = await createProxy({
    upstream: { host: '127.0.0.1', port: server.port },
    capture: file,
    timeScale: 0.01,
    faults: [{ kind: 'stall', duration: '2s', every: 2, unit: 'records', direction: 'upstream' }],
  });
  const client = await RpcTestClient.connect(proxy.address.port);
  const good = counter(6000, 3);
  await client.call(NFSPROC3.WRITE, writeArgs(0n, good), { xid: 0x5000 });
  // The same XID again, its buffer scribbled (the seed's late duplicate), then two more calls.
  await client.call(NFSPROC3.WRITE, writeArgs(0n, fill32(6000, 0xdeadbeef)), { xid: 0x5000 });
  await client.call(NFSPROC3.WRITE, writeArgs(8192n, good), { xid: 0x5001 });
  await client.call(NFSPROC3.WRITE, writeArgs(16384n, good), { xid: 0x5002 });
  client.close();
  await proxy.close();
  assert.ok(fs.existsSync(file));
  assert.equal(fs.existsSync(`${file}.raw.pcap`), false, 'the raw pcap is removed');
  const ports = [proxy.address.port, server.port];
  assert.deepEqual(tshark(file, '_ws.malformed || _ws.expert.severity >= "error"', ['frame.number'], ports), []);
  const differing = tshark(file, 'frame.comment contains "differing"', ['frame.interface_name', 'rpc.xid'], ports);
  assert.deepEqual(differing.map((d) => d[0]).sort(), ['client leg', 'server leg']);
  assert.ok(differing.every((d) => d[1] === '0x00005000'));
  assert.ok(tshark(file, 'frame.comment contains "stall"', ['frame.number']).length >= 2, 'stall start and end');
  const ifaces = new Set(tshark(file, 'frame', ['frame.interface_name']).map((f) => f[0]));
  assert.deepEqual([...ifaces].sort(), ['client leg', 'server leg']);
  // inspect reads the pcapng's own leg names and its time scale.
  const r = await inspectFiles([file]);
  assert.equal(r.legs.named, true);
  assert.equal(r.time.timeScale, 0.01);
  assert.equal(r.differingDuplicates.length, 1);
  assert.equal(r.differingDuplicates[0].leg, 'client');
});
