// The proxy's own pcap of both legs opens in tshark with no malformed packets and decodes NFSv3 WRITE calls with
// xid, offset, count and data; the fault events land in the JSON-lines sidecar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectFiles } from '../captures/inspect';
import { createProxy, sidecarPath } from '../netem';
import { missingTools } from '../lab/peers/tools';
import { ganeshaMissing, startGanesha } from '../lab/peers/ganesha';
import { NFSPROC3, NFSSTAT3 } from '../xdr/nfs3/constants';
import { XdrWriter } from '../xdr/writer';
import { RpcTestClient, startEchoServer } from './support/netem-rpc';
import { until } from './support/until';

const noTshark = missingTools(['tshark', 'tshark']);

function tshark(file: string, ports: number[], fields: string[], filter: string): string[][] {
  const args = ['-r', file, ...ports.flatMap((p) => ['-d', `tcp.port==${p},rpc`]), '-Y', filter, '-T', 'fields', '-E', 'separator=|', ...fields.flatMap((f) => ['-e', f])];
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr + args.join(' '));
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => l.split('|'));
}

/** RFC 1813 §3.3.7 WRITE3args with an 8-byte handle. */
function writeArgs(offset: bigint, data: Buffer): Buffer {
  return new XdrWriter().opaque(Buffer.alloc(8, 0xfe), 64).u64(offset).u32(data.length).u32(2).opaque(data).toBuffer();
}

test('tshark decodes WRITE calls on both legs of the synthesized pcap, nothing malformed', { skip: noTshark }, async (t) => {
  // WRITE3resfail: NFS3ERR_IO and empty wcc_data, so replies decode too.
  const server = await startEchoServer(() => new XdrWriter().u32(NFSSTAT3.NFS3ERR_IO).u32(0).u32(0).toBuffer());
  t.after(() => server.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-cap-'));
  t.after(() => { if (!process.env.KEEP) fs.rmSync(dir, { recursive: true, force: true }); });
  const file = path.join(dir, 'both-legs.pcap');
  const proxy = await createProxy({
    upstream: { host: '127.0.0.1', port: server.port },
    capture: file,
    timeScale: 0.001,
    faults: [{ kind: 'duplicate-call', call: { proc: 'WRITE', nth: 2 } }],
  });
  const client = await RpcTestClient.connect(proxy.address.port);
  const sent: Array<{ xid: number; offset: number; data: Buffer }> = [];
  for (let i = 0; i < 4; i++) {
    // 200 KiB payloads: each record spans several <= 64 KiB segments
    const data = Buffer.alloc(200 * 1024 + i, 0x30 + i);
    const offset = i * 300_000;
    const r = await client.call(NFSPROC3.WRITE, writeArgs(BigInt(offset), data));
    sent.push({ xid: r.xid, offset, data });
  }
  await until(() => client.lateReplies >= 1, 'a reply to a duplicate');
  client.close();
  await proxy.close();

  const ports = [proxy.address.port, server.port];
  const malformed = tshark(file, ports, ['frame.number'], '_ws.malformed || _ws.expert.severity >= "error"');
  assert.deepEqual(malformed, []);
  const calls = tshark(file, ports, ['tcp.srcport', 'tcp.dstport', 'rpc.xid', 'nfs.offset3', 'nfs.count3', 'nfs.data'], 'nfs.procedure_v3 == 7 && rpc.msgtyp == 0');
  const legClient = calls.filter((c) => Number(c[1]) === proxy.address.port);
  const legServer = calls.filter((c) => Number(c[1]) === server.port);
  // the client leg carries 4 WRITEs; the server leg 5 (the duplicated 2nd call)
  assert.deepEqual(legClient.map((c) => Number(c[2])), sent.map((s) => s.xid));
  assert.deepEqual(legServer.map((c) => Number(c[2])), [sent[0], sent[1], sent[1], sent[2], sent[3]].map((s) => s.xid));
  for (const [i, c] of legClient.entries()) {
    assert.equal(Number(c[3]), sent[i].offset);
    assert.equal(Number(c[4]), sent[i].data.length);
    assert.equal(c[5].replace(/:/g, ''), sent[i].data.toString('hex'));
  }
  // One line per packet: replies that shared a segment come as comma-separated values on one line.
  const replies = tshark(file, ports, ['rpc.xid'], 'rpc.msgtyp == 1 && nfs.status == 5').flatMap((r) => r[0].split(','));
  // the server answered the duplicate too, and the client leg carries that late reply as well
  assert.equal(replies.length, 5 + 5);
  const events = fs.readFileSync(sidecarPath(file), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const dup = events.find((e) => e.event === 'duplicate-call');
  assert.equal(dup.xid, sent[1].xid);
});

test('tshark reads the pcap of nfs-cp writing to nfs-ganesha through the proxy', { skip: ganeshaMissing() ?? missingTools(['nfs-cp', 'libnfs-utils'], ['tshark', 'tshark']) }, async (t) => {
  const g = await startGanesha();
  t.after(() => g.stop());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-cap-'));
  t.after(() => { if (!process.env.KEEP) fs.rmSync(dir, { recursive: true, force: true }); });
  const file = path.join(dir, 'ganesha.pcap');
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: g.port }, capture: file });
  const src = path.join(dir, 'src.bin');
  const data = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32BE(i / 4, i);
  fs.writeFileSync(src, data);
  const url = `nfs://127.0.0.1${g.exportPath}/via-netem.bin?nfsport=${proxy.address.port}&mountport=${g.mountPort}&version=3`;
  const r = await new Promise<{ status: number | null; stderr: string }>((res) => {
    const { spawn } = require('node:child_process') as typeof import('node:child_process');
    const p = spawn('nfs-cp', [src, url], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d));
    p.on('close', (status) => res({ status, stderr }));
  });
  assert.equal(r.status, 0, r.stderr);
  await proxy.close();
  assert.deepEqual(fs.readFileSync(path.join(g.exportDir, 'via-netem.bin')), data);
  const ports = [proxy.address.port, g.port];
  assert.deepEqual(tshark(file, ports, ['frame.number'], '_ws.malformed'), []);
  const writes = tshark(file, ports, ['tcp.dstport', 'rpc.xid', 'nfs.offset3', 'nfs.count3'], 'nfs.procedure_v3 == 7 && rpc.msgtyp == 0');
  const leg = (port: number) => writes.filter((w) => Number(w[0]) === port);
  assert.ok(leg(proxy.address.port).length >= 3);
  assert.deepEqual(leg(g.port).map((w) => w.slice(1)), leg(proxy.address.port).map((w) => w.slice(1)), 'same WRITEs on both legs');
  const covered = leg(g.port).reduce((n, w) => n + Number(w[3]), 0);
  assert.equal(covered, data.length);
});

test('captureWith tcpdump records the real loopback traffic of both legs', { skip: missingTools(['tcpdump', 'tcpdump'], ['tshark', 'tshark']) ?? (process.getuid?.() === 0 ? undefined : 'needs root for tcpdump') }, async (t) => {
  const server = await startEchoServer(() => new XdrWriter().u32(NFSSTAT3.NFS3ERR_IO).u32(0).u32(0).toBuffer());
  t.after(() => server.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-cap-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'real.pcap');
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: server.port }, capture: file, captureWith: 'tcpdump' });
  const client = await RpcTestClient.connect(proxy.address.port);
  const r = await client.call(NFSPROC3.WRITE, writeArgs(4096n, Buffer.alloc(5000, 7)));
  client.close();
  await proxy.close();
  const calls = tshark(file, [proxy.address.port, server.port], ['tcp.dstport', 'rpc.xid', 'nfs.offset3'], 'nfs.procedure_v3 == 7 && rpc.msgtyp == 0');
  assert.deepEqual(calls.map((c) => Number(c[0])).sort(), [proxy.address.port, server.port].sort());
  for (const c of calls) assert.deepEqual([Number(c[1]), Number(c[2])], [r.xid, 4096]);
  // tcpdump's own counts close the event log beside the capture, and inspect reports its drops from there
  const last = JSON.parse(fs.readFileSync(sidecarPath(file), 'utf8').trim().split('\n').pop()!) as Record<string, unknown>;
  assert.equal(last.event, 'tcpdump-stats');
  assert.equal(last.droppedByKernel, 0);
  const report = await inspectFiles([file]);
  assert.equal(last.captured, report.files[0].packets);
  assert.equal(report.files[0].captureDrops, 0);
});
