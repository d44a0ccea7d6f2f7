// `nfs-testbed inspect` as a user runs it: the built CLI spawned on capture files; exit codes, --json document,
// --hexdiff, --export-payloads, errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TcpConv, pcapFile, timed, LT, writeCall, writeReply, record, counter, fill32 } from '../testing/captures-builder';
import { runCli } from './support/cli';

let dir = '';
let corrupt = '';
let clean = '';

const cli = (...args: string[]) => runCli(['inspect', ...args]);

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-inspect-'));
  const good = counter(8192, 1);
  const bad = Buffer.concat([good.subarray(0, 1024), fill32(8192 - 1024, 0xdeadbeef)]);
  const c = new TcpConv({ sport: 20049 });
  corrupt = path.join(dir, 'corrupt.pcap');
  fs.writeFileSync(
    corrupt,
    pcapFile(
      timed([
        ...c.handshake(),
        ...c.clientSegments(record(writeCall(0xfeed0001, 65536n, good)), 1448),
        c.fromServer(record(writeReply(0xfeed0001, 8192))),
        ...c.clientSegments(record(writeCall(0xfeed0001, 65536n, bad)), 1448),
        ...c.clientSegments(record(writeCall(0xfeed0002, 0n, good)), 1448),
        c.fromServer(record(writeReply(0xfeed0002, 8192))),
      ]),
      { linktype: LT.ETHERNET },
    ),
  );
  const d = new TcpConv();
  clean = path.join(dir, 'clean.pcap');
  fs.writeFileSync(clean, pcapFile(timed([...d.handshake(), d.fromClient(record(writeCall(7, 0n, good))), d.fromServer(record(writeReply(7, 8192)))]), { linktype: LT.ETHERNET }));
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('differing duplicates: exit 3 and one JSON document with the documented fields', () => {
  const r = cli(corrupt, '--json', '--port', '20049');
  assert.equal(r.code, 3, r.err);
  const doc = JSON.parse(r.out);
  for (const k of ['packets', 'connections', 'rpcCalls', 'writeCalls', 'duplicatedXids', 'differingDuplicates']) assert.ok(k in doc, k);
  assert.equal(doc.rpcCalls, 3);
  assert.equal(doc.writeCalls, 3);
  assert.equal(doc.duplicatedXids, 1);
  assert.equal(doc.connections, 1);
  const d = doc.differingDuplicates[0];
  assert.equal(d.xid, '0xfeed0001');
  assert.equal(d.client, '10.0.0.1');
  assert.equal(d.offset, '65536');
  assert.equal(d.count, 8192);
  assert.equal(d.transmissions.length, 2);
  assert.equal(d.firstDiffOffset, 1024);
  assert.equal(d.pattern, 'fill32 0xdeadbeef (DEADBEEF)');
  assert.equal(typeof d.diffBytes, 'number');
  assert.deepEqual(d.answered, [1]);
});

test('readable output ends with a one-line verdict; a clean capture exits 0', () => {
  const r = cli(corrupt);
  assert.equal(r.code, 3);
  assert.match(r.out.trimEnd().split('\n').pop()!, /^DIFFERING DUPLICATES: 1 duplicated XID carried different payloads/);
  assert.match(r.out, /0xfeed0001/);
  const ok = cli(clean);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out.trimEnd().split('\n').pop()!, /^OK: /);
});

test('--hexdiff shows the differing rows; --export-payloads writes each transmission', () => {
  const r = cli(corrupt, '--hexdiff', '0xfeed0001');
  assert.equal(r.code, 3);
  assert.match(r.out, /00000400 {2}#1 /);
  assert.match(r.out, /de ad be ef/);
  const out = path.join(dir, 'payloads');
  const e = cli(corrupt, '--export-payloads', out, '--json');
  assert.equal(e.code, 3);
  const files = fs.readdirSync(out).sort();
  assert.equal(files.length, 2);
  assert.equal(fs.readFileSync(path.join(out, files[0])).length, 8192);
  assert.equal(fs.readFileSync(path.join(out, files[1])).readUInt32BE(4096), 0xdeadbeef);
});

test('a capture without RPC is no clean result: exit 5, a verdict that says so and suggests --port', () => {
  const c = new TcpConv({ sport: 8080 });
  const http = path.join(dir, 'http.pcap');
  const req = Buffer.from('GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n'.repeat(4));
  fs.writeFileSync(http, pcapFile(timed([...c.handshake(), c.fromClient(req), c.fromServer(Buffer.from('HTTP/1.1 200 OK\r\n\r\nhello'))]), { linktype: LT.ETHERNET }));
  const r = cli(http);
  assert.equal(r.code, 5, r.err);
  assert.match(r.out.trimEnd().split('\n').pop()!, /^NO RPC: .*try --port 8080/);
  const j = cli(http, '--json');
  assert.equal(j.code, 5);
  assert.equal(JSON.parse(j.out).tcpServerPorts[0].port, 8080);
});

test('--hexdiff takes hex or decimal, prints only the diff, and an absent XID exits 6', () => {
  const dec = cli(corrupt, '--hexdiff', String(0xfeed0001));
  assert.equal(dec.code, 3);
  assert.match(dec.out, /de ad be ef/);
  assert.doesNotMatch(dec.out, /DIFFERING DUPLICATES/, 'no report after the diff');
  assert.equal(cli(corrupt, '--hexdiff', 'feed0001').out, dec.out);
  const none = cli(corrupt, '--hexdiff', '0x12345678');
  assert.equal(none.code, 6);
  assert.match(none.out, /no call with xid 0x12345678/);
  const j = cli(corrupt, '--hexdiff', '0x12345678', '--json');
  assert.equal(j.code, 6);
  assert.equal(JSON.parse(j.out).found, false);
});

test('times are seconds since the first packet; with the run\'s time scale (netem\'s event log beside the capture) also modelled seconds', () => {
  const doc = JSON.parse(cli(corrupt, '--json').out);
  const t = doc.differingDuplicates[0].transmissions;
  assert.equal(doc.time.timeScale, null);
  assert.ok(t[0].firstTime >= 0 && t[0].firstTime < 1, String(t[0].firstTime));
  assert.equal(t[0].modelTime, null);
  const scaled = path.join(dir, 'scaled.pcap');
  fs.copyFileSync(corrupt, scaled);
  fs.writeFileSync(path.join(dir, 'scaled.events.jsonl'), JSON.stringify({ t: '2026-01-01T00:00:00.000Z', ms: 0, modelMs: 0, event: 'listen', kind: 'proxy', timeScale: 0.001 }) + '\n');
  const s = JSON.parse(cli(scaled, '--json').out);
  assert.equal(s.time.timeScale, 0.001);
  const d = s.differingDuplicates[0];
  assert.equal(d.transmissions[1].modelTime, Math.round((d.transmissions[1].firstTime / 0.001) * 1000) / 1000);
  assert.equal(d.replyToLaterCopyModel, Math.round((d.replyToLaterCopy / 0.001) * 1000) / 1000);
  assert.equal(JSON.parse(cli(corrupt, '--json', '--time-scale', '0.01').out).time.timeScale, 0.01);
});

test('a tcpdump capture says how lossy it is: the drop count netem logged beside it, in the file line and the JSON', () => {
  assert.equal(JSON.parse(cli(corrupt, '--json').out).files[0].captureDrops, null, 'no event log: not known');
  const lossy = path.join(dir, 'lossy.pcap');
  fs.copyFileSync(corrupt, lossy);
  // the proxy's log of a --capture-with tcpdump run ends with tcpdump's own counts (netem/proxy.ts close)
  const events = [
    { t: '2026-01-01T00:00:00.000Z', ms: 0, modelMs: 0, proxy: 'p', source: 'proxy', kind: 'proxy', event: 'listen', timeScale: 1 },
    { t: '2026-01-01T00:00:01.000Z', ms: 1000, modelMs: 1000, proxy: 'p', source: 'proxy', kind: 'proxy', event: 'closed' },
    { t: '2026-01-01T00:00:01.000Z', ms: 1000, modelMs: 1000, proxy: 'p', source: 'proxy', kind: 'capture', event: 'tcpdump-stats', captured: 9, receivedByFilter: 16, droppedByKernel: 7 },
  ];
  fs.writeFileSync(path.join(dir, 'lossy.events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  assert.equal(JSON.parse(cli(lossy, '--json').out).files[0].captureDrops, 7);
  assert.match(cli(lossy).out, /lossy\.pcap: pcap, \d+ packets; LOSSY: tcpdump dropped 7 packets \(its own count\)/);
  events[2].droppedByKernel = 0;
  fs.writeFileSync(path.join(dir, 'lossy.events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
  assert.match(cli(lossy).out, /packets; tcpdump dropped none/);
});

test('errors: a bad file is exit 1 with a coded JSON error; bad options are exit 2', () => {
  const junk = path.join(dir, 'junk.pcap');
  fs.writeFileSync(junk, 'not a capture, just text that is long enough');
  const r = cli(junk, '--json');
  assert.equal(r.code, 1);
  assert.equal(JSON.parse(r.out).error.code, 'CAPTURE_MAGIC');
  assert.equal(cli(clean, '--port', 'http').code, 2);
  assert.equal(cli(clean, '--hexdiff', 'zz').code, 2);
  assert.equal(cli().code, 2);
});
