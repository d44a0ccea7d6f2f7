// The proxy's capture holds both legs of every connection (issue 19): inspect recognises the legs, counts
// transmissions per leg, and by default counts the client leg (what the client sent); --leg server counts what the
// server received. The counts equal the client's own and tshark's on one leg alone, for the proxy's synthesized
// pcap and for a tcpdump capture of both legs of the same run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectFilesDetailed } from '../captures/inspect';
import { isRoot, missingTools } from '../lab/peers/tools';
import { createProxy } from '../netem';
import { startTcpdump, type TcpdumpCapture } from '../netem/capture/tcpdump';
import { NFSPROC3 } from '../xdr/nfs3/constants';
import { XdrWriter } from '../xdr/writer';
import { RpcTestClient, startEchoServer } from './support/netem-rpc';

/** RFC 1813 §3.3.7 WRITE3args with an 8-byte handle. */
function writeArgs(offset: bigint, data: Buffer): Buffer {
  return new XdrWriter().opaque(Buffer.alloc(8, 0xfe), 64).u64(offset).u32(data.length).u32(2).opaque(data).toBuffer();
}

const MAIN = path.join(__dirname, '..', 'cli', 'main.js');
const noTshark = missingTools(['tshark', 'tshark']);
const noTcpdump = missingTools(['tcpdump', 'tcpdump']) ?? (isRoot() ? undefined : 'needs root to capture on lo');

/** tshark's calls per XID on the connections to `dstPort` only. */
function tsharkCalls(file: string, ports: number[], dstPort: number): Map<number, number> {
  const args = ['-r', file, ...ports.flatMap((p) => ['-d', `tcp.port==${p},rpc`]), '-Y', `tcp.dstport == ${dstPort} && rpc.msgtyp == 0`, '-T', 'fields', '-e', 'rpc.xid'];
  const r = spawnSync('tshark', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<number, number>();
  for (const x of r.stdout.split(/[\n,]/).filter(Boolean)) out.set(Number(x), (out.get(Number(x)) ?? 0) + 1);
  return out;
}

function perXid(ts: Array<{ xid: number }>): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of ts) out.set(t.xid, (out.get(t.xid) ?? 0) + 1);
  return out;
}

const sorted = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);

test('both legs of the proxy: legs recognised, counts per leg equal the client\'s, tshark\'s, and a tcpdump capture\'s', { skip: noTshark, timeout: 60_000 }, async (t) => {
  const server = await startEchoServer();
  t.after(() => server.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-legs-'));
  t.after(() => { if (!process.env.KEEP) fs.rmSync(dir, { recursive: true, force: true }); });
  const synth = path.join(dir, 'proxy.pcap');
  const real = path.join(dir, 'tcpdump.pcap');
  // Replies are late (the client retransmits), and the 3rd WRITE reaches the server twice (duplicate-call).
  const proxy = await createProxy({
    upstream: { host: '127.0.0.1', port: server.port },
    capture: synth,
    faults: [
      { kind: 'latency', delay: '120ms', direction: 'downstream' },
      { kind: 'duplicate-call', call: { proc: 'WRITE', nth: 3 } },
    ],
  });
  let dump: TcpdumpCapture | undefined;
  if (!noTcpdump) dump = await startTcpdump(real, [proxy.address.port, server.port]);
  const client = await RpcTestClient.connect(proxy.address.port);
  const sent = new Map<number, number>();
  for (let i = 0; i < 6; i++) {
    const r = await client.call(NFSPROC3.WRITE, writeArgs(BigInt(i) * 4096n, Buffer.alloc(2000 + i, i)), { timeoutMs: i % 2 ? 50 : 1000 });
    sent.set(r.xid, r.transmissions);
  }
  client.close();
  await dump?.stop();
  await proxy.close();
  assert.ok([...sent.values()].some((n) => n > 1), 'the client retransmitted');
  const ports = [proxy.address.port, server.port];

  for (const file of dump ? [synth, real] : [synth]) {
    const res = await inspectFilesDetailed([file]);
    const r = res.report;
    assert.equal(r.legs.detected, true, file);
    assert.equal(r.legs.pairs.length, 1, file);
    assert.equal(r.legs.view, 'client');
    const client = perXid(res.transmissions.filter((x) => x.leg === 'client'));
    const toServer = perXid(res.transmissions.filter((x) => x.leg === 'server'));
    assert.deepEqual(sorted(client), sorted(sent), `${file}: client leg = what the client sent`);
    assert.deepEqual(sorted(client), sorted(tsharkCalls(file, ports, proxy.address.port)), `${file}: client leg = tshark on the client leg`);
    assert.deepEqual(sorted(toServer), sorted(tsharkCalls(file, ports, server.port)), `${file}: server leg = tshark on the server leg`);
    // The default view: duplicated XIDs are the client's retransmissions, one connection each, leg 'client'.
    const dupXids = [...sent].filter(([, n]) => n > 1).map(([x]) => x).sort((a, b) => a - b);
    const dups = [...r.differingDuplicates, ...r.identicalDuplicates];
    assert.deepEqual(dups.map((d) => parseInt(d.xid, 16)).sort((a, b) => a - b), dupXids, file);
    for (const d of dups) {
      assert.equal(d.leg, 'client');
      assert.equal(d.connections, 1);
      assert.equal(d.transmissions.length, sent.get(parseInt(d.xid, 16)));
    }
    // --leg server: what the server received, the duplicated call included.
    const s = (await inspectFilesDetailed([file], { leg: 'server' })).report;
    const serverDups = [...s.differingDuplicates, ...s.identicalDuplicates];
    assert.deepEqual(
      serverDups.map((d) => [parseInt(d.xid, 16), d.transmissions.length]).sort((a, b) => a[0] - b[0]),
      [...toServer].filter(([, n]) => n > 1).sort((a, b) => a[0] - b[0]),
    );
    assert.ok(serverDups.every((d) => d.leg === 'server'));
    // --leg all: each leg's copies in a row of their own.
    const all = (await inspectFilesDetailed([file], { leg: 'all' })).report;
    assert.equal(all.identicalDuplicates.length + all.differingDuplicates.length, dups.length + serverDups.length);
  }
  // The CLI shows the leg column and refuses an unknown leg.
  const text = spawnSync(process.execPath, [MAIN, 'inspect', synth], { encoding: 'utf8' });
  assert.match(text.stdout, /^leg +xid/m);
  assert.match(text.stdout, /relay legs: 1 connection pair/);
  assert.equal(spawnSync(process.execPath, [MAIN, 'inspect', synth, '--leg', 'middle']).status, 2);
});
