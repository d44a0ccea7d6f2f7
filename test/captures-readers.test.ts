// Capture file readers: classic pcap (µs and ns, both byte orders) and pcapng readers
// (SHB byte orders, IDB if_tsresol, EPB/SPB, unknown blocks), split-chunk delivery, truncation, bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CaptureError } from '../core/errors';
import { readerFor } from '../captures/readers/open';
import type { CapturedPacket, TrailingData } from '../captures/readers/packet';
import { inspectFiles } from '../captures/inspect';
import { missingTools } from '../lab/peers/tools';
import { pcapFile, pcapngFile, FramePkt, LT } from '../testing/captures-builder';
import { CLI } from './support/cli';

const PKTS: FramePkt[] = [
  { sec: 1700000000, nsec: 123456789, data: Buffer.from('first packet bytes') },
  { sec: 1700000001, nsec: 999999999, data: Buffer.alloc(3000, 0x5a) },
  { sec: 1700000002, nsec: 1000, data: Buffer.from('cut'), origLen: 1500 },
];

function readAll(file: Buffer, chunk = file.length): { packets: CapturedPacket[]; trailing: TrailingData | null } {
  const r = readerFor(file);
  const packets: CapturedPacket[] = [];
  for (let o = 0; o < file.length; o += chunk) r.push(file.subarray(o, o + chunk), (p) => packets.push(p));
  return { packets, trailing: r.end() };
}

function expectPackets(got: CapturedPacket[], linktype: number, nsecPrecision: 'ns' | 'us') {
  assert.equal(got.length, PKTS.length);
  got.forEach((p, i) => {
    const want = PKTS[i];
    assert.equal(p.frame, i + 1);
    assert.equal(p.linktype, linktype);
    assert.equal(p.tsSec, want.sec);
    assert.equal(p.tsNsec, nsecPrecision === 'ns' ? want.nsec : Math.floor(want.nsec! / 1000) * 1000);
    assert.ok(p.data.equals(want.data));
    assert.equal(p.origLen, want.origLen ?? want.data.length);
  });
}

const FILES: Array<[string, Buffer, number, 'ns' | 'us']> = [
  ['pcap µs little-endian', pcapFile(PKTS, { linktype: LT.ETHERNET }), LT.ETHERNET, 'us'],
  ['pcap µs big-endian', pcapFile(PKTS, { linktype: LT.SLL, bigEndian: true }), LT.SLL, 'us'],
  ['pcap ns (a1b23c4d) little-endian', pcapFile(PKTS, { linktype: LT.RAW, nano: true }), LT.RAW, 'ns'],
  ['pcap ns big-endian', pcapFile(PKTS, { linktype: LT.SLL2, nano: true, bigEndian: true }), LT.SLL2, 'ns'],
  ['pcapng little-endian, default µs resolution', pcapngFile(PKTS, { ifaces: [{ linktype: LT.ETHERNET }] }), LT.ETHERNET, 'us'],
  ['pcapng big-endian, if_tsresol 9 (ns), unknown blocks', pcapngFile(PKTS, { ifaces: [{ linktype: LT.IPV4, tsresol: 9 }], bigEndian: true, unknownBlocks: true }), LT.IPV4, 'ns'],
];

for (const [name, file, lt, prec] of FILES) {
  test(`${name}: packets, timestamps and lengths, whatever the chunking`, () => {
    for (const chunk of [1, 3, 7, 16, 17, 24, 25, 100, 1000, file.length]) {
      const { packets, trailing } = readAll(file, chunk);
      expectPackets(packets, lt, prec);
      assert.equal(trailing, null);
    }
  });
}

test('pcap: a packet inside one pushed chunk is a view of it, a packet split across pushes a Buffer of its own', () => {
  const file = pcapFile(PKTS, { linktype: LT.ETHERNET });
  // Cut inside the second packet's body: the first stays a view, the second is assembled.
  const cut = 24 + 16 + PKTS[0].data.length + 16 + 100;
  const r = readerFor(file);
  const got: CapturedPacket[] = [];
  r.push(file.subarray(0, cut), (p) => got.push(p));
  r.push(file.subarray(cut), (p) => got.push(p));
  assert.equal(r.end(), null);
  expectPackets(got, LT.ETHERNET, 'us');
  // Overwriting the pushed bytes shows which packets are views of them.
  file.fill(0);
  assert.ok(got[0].data.equals(Buffer.alloc(PKTS[0].data.length)), 'the first packet is a view of the chunk');
  assert.ok(got[1].data.equals(PKTS[1].data), 'the split packet is a copy of its own');
});

test('pcapng: per-interface link types and simple packet blocks', () => {
  const two = pcapngFile(
    PKTS.map((p, i) => ({ ...p, iface: i % 2 })),
    { ifaces: [{ linktype: LT.ETHERNET, tsresol: 6 }, { linktype: LT.SLL2, tsresol: 9 }] },
  );
  const { packets } = readAll(two);
  assert.deepEqual(packets.map((p) => p.linktype), [LT.ETHERNET, LT.SLL2, LT.ETHERNET]);
  assert.equal(packets[1].tsNsec, 999999999);
  const spb = readAll(pcapngFile(PKTS.slice(0, 2), { ifaces: [{ linktype: LT.RAW, snaplen: 1000 }], simple: true })).packets;
  assert.equal(spb.length, 2);
  assert.equal(spb[1].data.length, 1000); // SPB: captured length = min(original length, snaplen)
  assert.equal(spb[1].origLen, 3000);
});

test('a truncated last packet is reported, not silently dropped', () => {
  for (const make of [(p: FramePkt[]) => pcapFile(p, { linktype: 1 }), (p: FramePkt[]) => pcapngFile(p, { ifaces: [{ linktype: 1 }] })]) {
    const full = make(PKTS.slice(0, 2));
    const body = readAll(full.subarray(0, full.length - 100));
    assert.equal(body.packets.length, 1);
    assert.equal(body.trailing?.cut, 'body');
    assert.equal(body.trailing?.frame, 2);
    const one = make(PKTS.slice(0, 1)).length;
    const header = readAll(full.subarray(0, one + 6));
    assert.equal(header.packets.length, 1);
    assert.deepEqual(header.trailing, { bytes: 6, frame: 2, cut: 'header' });
  }
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CaptureError, `not a CaptureError: ${err}`);
    return err.code;
  }
  return 'no error';
}

/** Seeded xorshift32, so the random-bytes case is reproducible. */
function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

test('bad input: random bytes, wrong magic, truncated header give coded errors', () => {
  for (let seed = 1; seed <= 50; seed++) assert.equal(codeOf(() => readAll(randomBytes(4096, seed))), 'CAPTURE_MAGIC');
  assert.equal(codeOf(() => readAll(Buffer.from('this is not a capture file at all'))), 'CAPTURE_MAGIC');
  const header = pcapFile([], { linktype: 1 });
  assert.equal(codeOf(() => readAll(header.subarray(0, 10))), 'CAPTURE_SHORT_HEADER');
  assert.equal(codeOf(() => readAll(header.subarray(0, 2))), 'CAPTURE_SHORT_HEADER');
  const wrongVersion = Buffer.from(header);
  wrongVersion.writeUInt16LE(3, 4);
  assert.equal(codeOf(() => readAll(wrongVersion)), 'CAPTURE_VERSION');
  // pcap magic followed by garbage records: a huge caplen is refused before buffering
  assert.equal(codeOf(() => readAll(Buffer.concat([header, randomBytes(4096, 7)]))), 'CAPTURE_CAPLEN');
  const ng = pcapngFile([], { ifaces: [{ linktype: 1 }] });
  const badBom = Buffer.from(ng);
  badBom.writeUInt32LE(0x12345678, 8);
  assert.equal(codeOf(() => readAll(badBom)), 'CAPTURE_MAGIC');
});

test('a 4 GB captured-length field is a CaptureError, not an allocation', () => {
  const pcap = pcapFile([{ sec: 1, data: Buffer.alloc(16) }], { linktype: 1 });
  pcap.writeUInt32LE(0xffffffff, 24 + 8);
  const before = process.memoryUsage().arrayBuffers;
  assert.equal(codeOf(() => readAll(pcap)), 'CAPTURE_CAPLEN');
  assert.equal(codeOf(() => readAll(pcap, 1)), 'CAPTURE_CAPLEN');
  const ng = pcapngFile([{ sec: 1, data: Buffer.alloc(16) }], { ifaces: [{ linktype: 1 }] });
  const epbAt = ng.length - 48;
  const blk = Buffer.from(ng);
  blk.writeUInt32LE(0xfffffffc, epbAt + 4); // block total length
  assert.equal(codeOf(() => readAll(blk)), 'CAPTURE_BLOCK');
  const cap = Buffer.from(ng);
  cap.writeUInt32LE(0xffffffff, epbAt + 20); // EPB captured length
  assert.equal(codeOf(() => readAll(cap)), 'CAPTURE_CAPLEN');
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
});

test('files: plain, bzip2 and gzip are read; an unreadable or bad file rejects with a code', { skip: missingTools(['bzip2', 'bzip2']) }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-cap-'));
  try {
    const file = path.join(dir, 'a.pcap');
    fs.writeFileSync(file, pcapFile(PKTS, { linktype: 1 }));
    const plain = await inspectFiles([file]);
    assert.equal(plain.packets, 3);
    assert.equal(spawnSync('bzip2', ['-k', file]).status, 0);
    const bz = await inspectFiles([`${file}.bz2`]);
    assert.equal(bz.packets, 3);
    assert.equal(bz.files[0].compression, 'bzip2');
    fs.writeFileSync(path.join(dir, 'b.pcap.gz'), require('node:zlib').gzipSync(fs.readFileSync(file)));
    assert.equal((await inspectFiles([path.join(dir, 'b.pcap.gz')])).files[0].compression, 'gzip');
    fs.writeFileSync(path.join(dir, 'junk'), randomBytes(10000, 3));
    await assert.rejects(inspectFiles([path.join(dir, 'junk')]), (e: CaptureError) => e.code === 'CAPTURE_MAGIC');
    await assert.rejects(inspectFiles([path.join(dir, 'missing.pcap')]), (e: CaptureError) => e.code === 'CAPTURE_IO');
    // a pipe (bash's <(...)) is refused by name, not with ESPIPE's stack: inspect reads a capture twice
    const piped = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" inspect --json <(cat "$1")`, 'bash', file], { encoding: 'utf8' });
    assert.equal(piped.status, 1, piped.stderr);
    const doc = JSON.parse(piped.stdout);
    assert.equal(doc.ok, false);
    assert.equal(doc.error.code, 'CAPTURE_IO');
    assert.match(doc.error.message, /is not a regular file .*save it to a file first/);
    assert.doesNotMatch(piped.stderr, /ESPIPE|at async/);
    fs.writeFileSync(path.join(dir, 'bad.bz2'), Buffer.concat([Buffer.from('BZh9'), randomBytes(1000, 5)]));
    await assert.rejects(inspectFiles([path.join(dir, 'bad.bz2')]), (e: CaptureError) => e.code === 'CAPTURE_BZIP2' || e.code === 'CAPTURE_SHORT_HEADER');
    const truncated = fs.readFileSync(file).subarray(0, 100);
    fs.writeFileSync(path.join(dir, 'cut.pcap'), truncated);
    const cut = await inspectFiles([path.join(dir, 'cut.pcap')]);
    assert.equal(cut.files[0].trailing?.cut, 'body');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
