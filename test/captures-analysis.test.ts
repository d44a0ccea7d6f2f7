// Constructed captures (testing/captures-builder.ts, independent of captures/): duplicated XIDs across
// connections, several RPCs per segment, out-of-order and overlapping segments, gaps, link types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { inspectBytes } from '../captures/inspect';
import { DEFAULT_PAYLOAD_HASH, payloadHash } from '../core/payload-hash';
import { diffPayloads } from '../captures/analysis/diff';
import {
  TcpConv, pcapFile, pcapngFile, timed, LT, ethernet, sll, sll2, bsdNull, ipv4, ipv6, udp,
  writeCall, writeReply, record, counter, fill32, FramePkt, rpcCall, rpcReply,
} from '../testing/captures-builder';

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');
const XID = 0x0000abcd;

// hashAll: these tests check every call's SHA-1, which the inspector otherwise computes for duplicated XIDs only.
function inspect(frames: Buffer[], linktype: number = LT.ETHERNET, chunkSize?: number) {
  return inspectBytes([pcapFile(timed(frames), { linktype })], { chunkSize, hashAll: true });
}

/** The seed's blktest: a counter written, the buffer refilled with 0xdeadbeef before the retransmission left. */
function seedPayloads(len = 8192): { good: Buffer; bad: Buffer } {
  const good = counter(len, 512);
  const bad = Buffer.concat([good.subarray(0, len / 2), fill32(len / 2, 0xdeadbeef)]);
  return { good, bad };
}

test('same XID on the same connection with different data: found, diffed and classified as a 0xdeadbeef fill', () => {
  const { good, bad } = seedPayloads();
  const c = new TcpConv();
  const frames = [
    ...c.handshake(),
    ...c.clientSegments(record(writeCall(XID, 4096n, good)), 1448), // frames 4..9
    c.fromServer(record(writeReply(XID, good.length))), // frame 10: the reply to the first copy
    ...c.clientSegments(record(writeCall(XID, 4096n, bad)), 1448), // frames 11..16: the late retransmission
    c.fromServer(record(writeReply(XID, bad.length))),
  ];
  const { report } = inspect(frames);
  assert.equal(report.rpcCalls, 2);
  assert.equal(report.writeCalls, 2);
  assert.equal(report.duplicatedXids, 1);
  assert.equal(report.corrupted, true);
  assert.equal(report.differingDuplicates.length, 1);
  const d = report.differingDuplicates[0];
  assert.equal(d.xid, '0x0000abcd');
  assert.equal(d.client, '10.0.0.1');
  assert.equal(d.offset, '4096');
  assert.equal(d.count, 8192);
  assert.equal(d.transmissions.length, 2);
  assert.equal(d.firstDiffOffset, 4096);
  let differing = 0;
  for (let i = 0; i < good.length; i++) if (good[i] !== bad[i]) differing++;
  assert.equal(d.diffBytes, differing); // a few counter bytes happen to equal 0xef
  assert.ok(differing > 4000);
  assert.equal(d.pattern, 'fill32 0xdeadbeef (DEADBEEF)');
  assert.deepEqual(d.patternDetail, { kind: 'fill32', word: '0xdeadbeef', name: 'DEADBEEF', in: 'later' });
  assert.equal(d.transmissions[0].payloadSha1, sha1(good));
  assert.equal(d.transmissions[1].payloadSha1, sha1(bad));
  assert.deepEqual(d.transmissions[0].frames, { first: 4, last: 9, packets: 6 });
  assert.deepEqual(d.transmissions[1].frames, { first: 11, last: 16, packets: 6 });
  // Each reply is paired with the latest earlier copy on its connection.
  assert.deepEqual(d.answered, [1, 2]);
  // timed(): frame k (1-based) is at (k - 1) ms; reply frame 10, later copy starts at frame 11.
  assert.equal(d.replyToLaterCopy, 0.001);
  assert.equal(d.connections, 1);
});

// A partial duplicate: the socket took the record up to some byte before the buffer was refilled, the rest after
// (lab/repro's partialDuplicates). The cut is at any byte, so the first differing byte is seldom word-aligned; the
// refilled bytes still sit at their word phase in the caller's buffer. CI once counted such a copy as 'other'.
test('a later copy refilled from an unaligned byte on is still a 0xdeadbeef fill', () => {
  const good = counter(8192, 512);
  const fill = fill32(8192, 0xdeadbeef);
  for (let cut = 4093; cut <= 4100; cut++) {
    const bad = Buffer.concat([good.subarray(0, cut), fill.subarray(cut)]);
    const d = diffPayloads(good, bad);
    assert.deepEqual(d.pattern, { kind: 'fill32', word: '0xdeadbeef', name: 'DEADBEEF', in: 'later' }, `cut at ${cut}`);
    assert.ok(d.firstDiffOffset! >= cut && d.firstDiffOffset! < cut + 4, `cut at ${cut}`);
  }
  // and a counter refilled for another block from an unaligned byte is not a fill
  const other = Buffer.concat([good.subarray(0, 4097), counter(8192, 1 << 20).subarray(4097)]);
  assert.equal(diffPayloads(good, other).pattern?.kind, 'other');
});

test('same XID from a new port on a new connection counts as a duplicate (retransmission after reconnect)', () => {
  const { good, bad } = seedPayloads(4096);
  const a = new TcpConv({ cport: 800 });
  const b = new TcpConv({ cport: 801, cisn: 77777 });
  const frames = [...a.handshake(), a.fromClient(record(writeCall(XID, 0n, good))), ...b.handshake(), b.fromClient(record(writeCall(XID, 0n, bad))), b.fromServer(record(writeReply(XID, 4096)))];
  const { report } = inspect(frames);
  assert.equal(report.differingDuplicates.length, 1);
  const d = report.differingDuplicates[0];
  assert.equal(d.connections, 2);
  assert.deepEqual(d.transmissions.map((t) => t.clientPort), [800, 801]);
  assert.deepEqual(d.answered, [2]);
  assert.equal(report.unansweredCalls.count, 0);
});

test('same port, new SYN: a new connection generation, and the duplicate is found across generations', () => {
  const { good, bad } = seedPayloads(4096);
  const a = new TcpConv({ cport: 800, cisn: 1000 });
  const b = new TcpConv({ cport: 800, cisn: 900000 });
  const frames = [...a.handshake(), a.fromClient(record(writeCall(XID, 0n, good))), ...b.handshake(), b.fromClient(record(writeCall(XID, 0n, bad)))];
  const { report } = inspect(frames);
  assert.equal(report.tcpConnections, 2);
  const d = report.differingDuplicates[0];
  assert.ok(d, 'duplicate across generations');
  assert.deepEqual(d.transmissions.map((t) => t.connection), ['tcp 10.0.0.1:800 -> 10.0.0.2:2049', 'tcp 10.0.0.1:800 -> 10.0.0.2:2049 #2']);
  assert.equal(report.unansweredCalls.count, 1);
});

test('identical duplicates are reported separately and do not fail the check', () => {
  const data = counter(2048);
  const c = new TcpConv();
  const frames = [...c.handshake(), c.fromClient(record(writeCall(XID, 0n, data))), c.fromClient(record(writeCall(XID, 0n, data))), c.fromServer(record(writeReply(XID, 2048)))];
  const { report } = inspect(frames);
  assert.equal(report.corrupted, false);
  assert.equal(report.duplicatedXids, 1);
  assert.equal(report.identicalDuplicates.length, 1);
  assert.equal(report.identicalDuplicates[0].equal, true);
  assert.match(report.verdict, /^OK/);
});

test('several RPC messages in one segment, and one record split over many segments', () => {
  const c = new TcpConv();
  const calls = [1, 2, 3].map((i) => record(writeCall(0x100 + i, BigInt(i * 1000), counter(100 * i, i))));
  const replies = [1, 2, 3].map((i) => record(writeReply(0x100 + i, 100 * i)));
  const big = counter(64 * 1024, 9);
  const frames = [
    ...c.handshake(),
    c.fromClient(Buffer.concat(calls)),
    c.fromServer(Buffer.concat(replies)),
    ...c.clientSegments(record(writeCall(0x200, 0n, big), 10000), 1000), // multi-fragment record in 1000-byte segments
    c.fromServer(record(writeReply(0x200, big.length))),
  ];
  for (const chunkSize of [7, 100, 1 << 20]) {
    const { report, transmissions } = inspect(frames, LT.ETHERNET, chunkSize);
    assert.equal(report.rpcCalls, 4);
    assert.equal(report.rpcReplies, 4);
    assert.equal(report.unansweredCalls.count, 0);
    assert.equal(transmissions[3].payloadSha1, sha1(big));
    assert.deepEqual(transmissions.slice(0, 3).map((t) => t.write!.count), [100, 200, 300]);
  }
});

test('out-of-order segments are put back in order', () => {
  const c = new TcpConv();
  const data = counter(6000, 3);
  const hs = c.handshake();
  const segs = c.clientSegments(record(writeCall(XID, 0n, data)), 1448);
  const frames = [...hs, segs[0], segs[2], segs[1], segs[4], segs[3]];
  const { report, transmissions } = inspect(frames);
  assert.equal(report.writeCalls, 1);
  assert.equal(transmissions[0].payloadSha1, sha1(data));
  assert.equal(report.tcpRetransmissionDiffs.length, 0);
  assert.equal(report.streamFindings.counts['gap-resync'], 0);
});

test('a retransmitted segment with equal bytes is not a finding; with different bytes it is, and the first copy is kept', () => {
  const data = counter(4000, 5);
  for (const differ of [false, true]) {
    const c = new TcpConv();
    const hs = c.handshake();
    const start = c.cseq;
    const rec = record(writeCall(XID, 0n, data));
    const segs = c.clientSegments(rec, 1000);
    const again = Buffer.from(rec.subarray(1000, 2000));
    if (differ) again.fill(0xee, 10, 30);
    const frames = [...hs, ...segs.slice(0, 3), c.fromClient(again, start + 1000), ...segs.slice(3)];
    const { report, transmissions } = inspect(frames);
    assert.equal(report.rpcCalls, 1);
    assert.equal(transmissions[0].payloadSha1, sha1(data));
    assert.equal(report.tcpRetransmissionDiffs.length, differ ? 1 : 0);
    assert.equal(report.corrupted, differ);
    if (differ) {
      const t = report.tcpRetransmissionDiffs[0];
      assert.equal(t.streamOffset, 1000);
      let n = 0;
      for (let i = 0; i < 1000; i++) if (again[i] !== rec[1000 + i]) n++;
      assert.equal(t.differingBytes, n);
      assert.equal(t.frame, 7);
      assert.equal(t.originalFrame, 5);
    }
  }
});

test('overlapping out-of-order segments: the first copy wins and a difference is reported', () => {
  const c = new TcpConv();
  const hs = c.handshake();
  const start = c.cseq;
  const data = counter(3000, 11);
  const rec = record(writeCall(XID, 0n, data));
  const s0 = c.fromClient(rec.subarray(0, 1000), start);
  const s2 = c.fromClient(rec.subarray(2000), start + 2000);
  const changed = Buffer.from(rec.subarray(1500));
  changed[700] ^= 0xff; // stream offset 2200, inside s2's range
  const s1b = c.fromClient(changed, start + 1500); // overlaps the queued s2
  const s1 = c.fromClient(rec.subarray(1000, 2000), start + 1000);
  const { report, transmissions } = inspect([...hs, s0, s2, s1b, s1]);
  assert.equal(transmissions[0].payloadSha1, sha1(data));
  assert.equal(report.tcpRetransmissionDiffs.length, 1);
  assert.equal(report.tcpRetransmissionDiffs[0].differingBytes, 1);
});

test('a capture gap inside a payload keeps the framing (damaged call); a gap over a record mark resynchronises', () => {
  const c = new TcpConv();
  const hs = c.handshake();
  const one = c.clientSegments(record(writeCall(1, 0n, counter(5000))), 1000);
  const two = c.clientSegments(record(writeCall(2, 8192n, counter(5000))), 1000);
  const three = c.clientSegments(record(writeCall(3, 16384n, counter(5000, 7))), 1000);
  // Lose one middle segment of call 1 and the first segment (record mark + header) of call 2; the server's
  // ACK covering everything tells the reassembler those bytes exist.
  const frames = [...hs, one[0], one[1], one[3], one[4], one[5], two[1], two[2], two[3], two[4], two[5], c.serverAck(), ...three];
  const { report, transmissions } = inspect(frames);
  assert.deepEqual(transmissions.map((t) => [t.xid, t.damaged]), [[1, true], [3, false]]);
  assert.equal(transmissions[0].payloadSha1, null);
  assert.equal(transmissions[1].payloadSha1, sha1(counter(5000, 7)));
  assert.equal(report.streamFindings.counts['gap-resync'], 1);
});

test('a stream on an unknown port is found from its first bytes; a non-RPC stream is ignored', () => {
  const c = new TcpConv({ sport: 12049 });
  const web = new TcpConv({ sport: 443, cport: 5555 });
  const frames = [...c.handshake(), ...web.handshake(), web.fromClient(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(10))), c.fromClient(record(writeCall(XID, 0n, counter(512)))), c.fromServer(record(writeReply(XID, 512)))];
  const { report } = inspect(frames);
  assert.equal(report.writeCalls, 1);
  assert.equal(report.rpcReplies, 1);
  assert.equal(report.connections, 1);
});

const LINKS: Array<[string, number, (ip: Buffer) => Buffer, boolean]> = [
  ['Ethernet + 802.1Q', LT.ETHERNET, (ip) => ethernet(ip, 42), false],
  ['Linux cooked (SLL)', LT.SLL, sll, false],
  ['Linux cooked v2 (SLL2)', LT.SLL2, sll2, false],
  ['raw IP (101)', LT.RAW, (ip) => ip, false],
  ['raw IPv4 (228)', LT.IPV4, (ip) => ip, false],
  ['BSD loopback (0)', LT.NULL, bsdNull, false],
  ['raw IPv6 (229)', LT.IPV6, (ip) => ip, true],
  ['Ethernet IPv6', LT.ETHERNET, (ip) => ethernet(ip), true],
  ['SLL2 IPv6', LT.SLL2, sll2, true],
];

for (const [name, lt, link, v6] of LINKS) {
  test(`link type ${name}: the WRITE call is extracted`, () => {
    const data = counter(3000, 1);
    const c = new TcpConv({ link, ...(v6 ? { client: 'fd00::1', server: 'fd00::2' } : {}) });
    const frames = [...c.handshake(), ...c.clientSegments(record(writeCall(XID, 0n, data)), 1400), c.fromServer(record(writeReply(XID, 3000)))];
    const { report, transmissions } = inspect(frames, lt);
    assert.equal(report.writeCalls, 1);
    assert.equal(report.rpcReplies, 1);
    assert.equal(transmissions[0].payloadSha1, sha1(data));
    assert.equal(transmissions[0].client, v6 ? 'fd00::1' : '10.0.0.1');
  });
}

test('IPv6 extension headers (hop-by-hop, destination options) are walked', () => {
  const data = counter(500);
  const seg = Buffer.concat([Buffer.from([0x03, 0x20, 0x08, 0x01]), Buffer.alloc(8), Buffer.from([0x50, 0x18, 0xff, 0xff, 0, 0, 0, 0])]);
  seg.writeUInt32BE(1, 4);
  const frames = [ethernet(ipv6('fd00::1', 'fd00::2', 6, Buffer.concat([seg, record(writeCall(XID, 0n, data))]), { ext: true }))];
  const { report, transmissions } = inspect(frames);
  assert.equal(report.writeCalls, 1);
  assert.equal(transmissions[0].payloadSha1, sha1(data));
});

test('UDP: the same XID twice with different data, and the reply pairing', () => {
  const good = counter(1024, 1);
  const bad = fill32(1024, 0);
  const frames = [
    ethernet(ipv4('10.0.0.1', '10.0.0.2', 17, udp(700, 2049, writeCall(XID, 0n, good)))),
    ethernet(ipv4('10.0.0.1', '10.0.0.2', 17, udp(700, 2049, writeCall(XID, 0n, bad)))),
    ethernet(ipv4('10.0.0.2', '10.0.0.1', 17, udp(2049, 700, writeReply(XID, 1024)))),
  ];
  const { report } = inspect(frames);
  const d = report.differingDuplicates[0];
  assert.equal(d.pattern, 'zero');
  assert.equal(d.firstDiffOffset, 3); // the counter's first word is 0x00000001
  assert.deepEqual(d.answered, [2]);
  assert.equal(d.transmissions[0].transport, 'udp');
});

test('snaplen-cut frames are flagged and the affected call is marked damaged, not compared', () => {
  const data = counter(3000);
  const c = new TcpConv();
  const frames = [...c.handshake(), ...c.clientSegments(record(writeCall(XID, 0n, data)), 1400)];
  const pkts: FramePkt[] = timed(frames).map((p, i) => (i === 4 ? { ...p, data: p.data.subarray(0, 200), origLen: p.data.length } : p));
  const { report, transmissions } = inspectBytes([pcapFile(pkts, { linktype: LT.ETHERNET, snaplen: 200 })], { hashAll: true });
  assert.equal(report.truncatedPackets, 1);
  assert.equal(transmissions.length, 1);
  assert.equal(transmissions[0].damaged, true);
  assert.equal(report.corrupted, false);
});

test('pcapng (nanosecond, big-endian) and pcap give the same transmissions', () => {
  const { good, bad } = seedPayloads(2048);
  const c = new TcpConv();
  const frames = [...c.handshake(), c.fromClient(record(writeCall(XID, 0n, good))), c.fromClient(record(writeCall(XID, 0n, bad)))];
  const a = inspectBytes([pcapFile(timed(frames), { linktype: LT.ETHERNET, nano: true })]).report;
  const b = inspectBytes([pcapngFile(timed(frames), { ifaces: [{ linktype: LT.ETHERNET, tsresol: 9 }], bigEndian: true, unknownBlocks: true })]).report;
  assert.deepEqual(b.differingDuplicates, a.differingDuplicates);
  assert.equal(a.differingDuplicates.length, 1);
});

test('ports: a PORTMAP GETPORT reply teaches the NFS port, so a stream there is resynchronised instead of ignored', () => {
  const getportArgs = Buffer.alloc(16);
  getportArgs.writeUInt32BE(100003, 0);
  getportArgs.writeUInt32BE(3, 4);
  getportArgs.writeUInt32BE(6, 8); // IPPROTO_TCP
  const port = Buffer.alloc(4);
  port.writeUInt32BE(12049);
  const pm = new TcpConv({ sport: 111, cport: 700 });
  const nfs = new TcpConv({ sport: 12049, cport: 701 });
  // The NFS stream starts with bytes that are no record mark (say, a capture that begins mid-stream after a SYN
  // we did see): on an unknown port that stream is given up; on a known one we search for the next record.
  const junk = Buffer.alloc(300, 0x41);
  const nfsFrames = [...nfs.handshake(), nfs.fromClient(Buffer.concat([junk, record(writeCall(XID, 0n, counter(700)))]))];
  const withPortmap = inspect([...pm.handshake(), pm.fromClient(record(rpcCall(0x77, 100000, 2, 3, getportArgs))), pm.fromServer(record(rpcReply(0x77, port))), ...nfsFrames]).report;
  assert.deepEqual(withPortmap.ports.detected, [12049]);
  assert.equal(withPortmap.writeCalls, 1);
  assert.equal(withPortmap.streamFindings.counts['gap-resync'], 1);
  const without = inspect(nfsFrames).report;
  assert.equal(without.writeCalls, 0);
  const given = inspectBytes([pcapFile(timed(nfsFrames), { linktype: LT.ETHERNET })], { ports: [12049] }).report;
  assert.equal(given.writeCalls, 1);
});

test('IPv6 fragments are reassembled (UDP WRITE over a fragment header)', () => {
  const msg = udp(700, 2049, writeCall(XID, 0n, counter(3000, 4)));
  const frag = (off: number, more: boolean, part: Buffer) => {
    const h = Buffer.alloc(8);
    h[0] = 17;
    h.writeUInt16BE(off | (more ? 1 : 0), 2);
    h.writeUInt32BE(0xabcdef, 4);
    const p = ipv6('fd00::1', 'fd00::2', 44, Buffer.concat([h, part]));
    return ethernet(p);
  };
  const frames = [frag(1448, false, msg.subarray(1448)), frag(0, true, msg.subarray(0, 1448))];
  const { report, transmissions } = inspect(frames);
  assert.equal(report.ip.reassembled, 1);
  assert.equal(report.writeCalls, 1);
  assert.equal(transmissions[0].payloadSha1, sha1(counter(3000, 4)));
});

test('random damage to packet bytes never throws: every packet is decoded or skipped', () => {
  const { good, bad } = seedPayloads(4096);
  const c = new TcpConv();
  const frames = [...c.handshake(), ...c.clientSegments(record(writeCall(XID, 0n, good)), 700), c.fromServer(record(writeReply(XID, 4096))), ...c.clientSegments(record(writeCall(XID, 0n, bad)), 700)];
  let x = 12345;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
  for (let round = 0; round < 200; round++) {
    const damaged = frames.map((f) => {
      const g = Buffer.from(f);
      const n = Math.floor(rnd() * 4);
      for (let i = 0; i < n; i++) g[Math.floor(rnd() * g.length)] = Math.floor(rnd() * 256);
      return rnd() < 0.1 ? g.subarray(0, Math.floor(rnd() * g.length)) : g;
    });
    const { report } = inspect(damaged);
    assert.ok(report.packets === frames.length);
  }
});

test('a TCP keep-alive probe carrying a garbage byte is not reported as a differing retransmission', () => {
  const c = new TcpConv();
  const frames = [...c.handshake(), c.fromClient(record(writeCall(XID, 0n, counter(100))))];
  frames.push(c.fromClient(Buffer.from([0xff]), (c.cseq - 1) >>> 0));
  const { report } = inspect(frames);
  assert.equal(report.tcpRetransmissionDiffCount, 0);
  assert.equal(report.writeCalls, 1);
});

test('without the handshake, the end on a server port is the client\'s peer (reply first in the capture)', () => {
  const c = new TcpConv({ cport: 800 });
  c.handshake(); // not captured
  const call = c.fromClient(record(writeCall(XID, 0n, counter(64))));
  const reply = c.fromServer(record(writeReply(XID, 64)));
  const ack = c.serverAck();
  // The server's ACK of an earlier exchange is the first packet of this connection in the capture.
  const { transmissions } = inspect([ack, call, reply]);
  assert.equal(transmissions[0].connection, 'tcp 10.0.0.1:800 -> 10.0.0.2:2049');
  assert.equal(transmissions[0].replies.length, 1);
});

test('SHA-1 only where the report prints it: none for a single call, its own for every copy of a duplicated XID (issue 20)', () => {
  const a = counter(5000, 1);
  const b = counter(5000, 2);
  const c = new TcpConv();
  const frames = [
    ...c.handshake(),
    ...c.clientSegments(record(writeCall(0x1001, 0n, a)), 1400),
    ...c.clientSegments(record(writeCall(0x1002, 0n, a)), 1400),
    ...c.clientSegments(record(writeCall(0x1002, 0n, a)), 1400),
    ...c.clientSegments(record(writeCall(0x1003, 8192n, a)), 1400),
    ...c.clientSegments(record(writeCall(0x1003, 8192n, b)), 1400),
  ];
  const capture = pcapFile(timed(frames), { linktype: LT.ETHERNET });
  const plain = inspectBytes([capture]);
  const all = inspectBytes([capture], { hashAll: true });
  const of = (xid: number) => plain.transmissions.filter((t) => t.xid === xid);
  assert.equal(of(0x1001)[0].payloadSha1, null);
  assert.equal(of(0x1001)[0].payloadFingerprint, payloadHash(DEFAULT_PAYLOAD_HASH, a));
  // The first copy of 0x1002 learns its hash from the second (same fingerprint); 0x1003's differ: the second pass.
  assert.deepEqual(of(0x1002).map((t) => t.payloadSha1), [sha1(a), sha1(a)]);
  assert.deepEqual(of(0x1003).map((t) => t.payloadSha1), [sha1(a), sha1(b)]);
  assert.deepEqual(all.transmissions.map((t) => t.payloadSha1), [sha1(a), sha1(a), sha1(a), sha1(a), sha1(b)]);
  assert.deepEqual(plain.report, all.report);
});

test('an XID whose later copies are all damaged: its first copy gets its SHA-1 from the second pass', () => {
  const a = counter(3000, 5);
  const c = new TcpConv();
  const frames = [...c.handshake(), ...c.clientSegments(record(writeCall(0x2001, 0n, a)), 1400), ...c.clientSegments(record(writeCall(0x2001, 0n, a)), 1400)];
  const cutAt = frames.length - 2; // a middle segment of the second copy
  const pkts: FramePkt[] = timed(frames).map((p, i) => (i === cutAt ? { ...p, data: p.data.subarray(0, 200), origLen: p.data.length } : p));
  const { transmissions, report } = inspectBytes([pcapFile(pkts, { linktype: LT.ETHERNET, snaplen: 200 })]);
  const ts = transmissions.filter((t) => t.xid === 0x2001);
  assert.deepEqual(ts.map((t) => t.damaged), [false, true]);
  assert.equal(ts[0].payloadSha1, sha1(a));
  assert.equal(report.identicalDuplicates[0]?.transmissions[0].payloadSha1 ?? report.differingDuplicates[0]?.transmissions[0].payloadSha1, sha1(a));
});
