// Minimal classic-pcap reader for the xdr tests: Ethernet / IPv4 / TCP, one in-order byte stream per direction.
// Deliberately independent of captures/ (written separately) so the wire-layer proof does not depend on it.
// Good enough for clean loopback captures: overlaps are trimmed, a gap or a truncated frame is an error.
import fs from 'node:fs';

export interface TcpStream {
  /** "127.0.0.1:799>127.0.0.1:12049" */
  key: string;
  srcPort: number;
  dstPort: number;
  /** payload in sequence order, as chunks exactly as they were captured */
  chunks: Buffer[];
}

export function readTcpStreams(file: string): TcpStream[] {
  const buf = fs.readFileSync(file);
  const magic = buf.readUInt32LE(0);
  // pcap magic in file byte order: a1b2c3d4 (µs) or a1b23c4d (ns); big-endian files read swapped.
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  if (!le && magic !== 0xd4c3b2a1 && magic !== 0x4d3cb2a1) throw new Error(`${file}: not a classic pcap file`);
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20);
  if (linktype !== 1) throw new Error(`${file}: link type ${linktype} is not Ethernet`);

  const streams = new Map<string, TcpStream & { next?: number }>();
  let o = 24;
  while (o + 16 <= buf.length) {
    const incl = u32(o + 8);
    const orig = u32(o + 12);
    const frame = buf.subarray(o + 16, o + 16 + incl);
    o += 16 + incl;
    if (incl !== orig) throw new Error(`${file}: truncated frame (${incl} of ${orig} bytes captured)`);
    let eth = 12;
    let type = frame.readUInt16BE(eth);
    while (type === 0x8100) {
      eth += 4;
      type = frame.readUInt16BE(eth);
    }
    if (type !== 0x0800) continue;
    const ip = eth + 2;
    const ihl = (frame[ip] & 0x0f) * 4;
    const total = frame.readUInt16BE(ip + 2);
    if (frame[ip + 9] !== 6) continue;
    const src = `${frame[ip + 12]}.${frame[ip + 13]}.${frame[ip + 14]}.${frame[ip + 15]}`;
    const dst = `${frame[ip + 16]}.${frame[ip + 17]}.${frame[ip + 18]}.${frame[ip + 19]}`;
    const tcp = ip + ihl;
    const srcPort = frame.readUInt16BE(tcp);
    const dstPort = frame.readUInt16BE(tcp + 2);
    const seq = frame.readUInt32BE(tcp + 4);
    const flags = frame[tcp + 13];
    const dataOff = (frame[tcp + 12] >> 4) * 4;
    const payload = frame.subarray(tcp + dataOff, ip + total);
    const key = `${src}:${srcPort}>${dst}:${dstPort}`;
    let s = streams.get(key);
    if (!s) streams.set(key, (s = { key, srcPort, dstPort, chunks: [] }));
    if (flags & 0x02) {
      s.next = (seq + 1) >>> 0; // SYN consumes one sequence number
      continue;
    }
    if (payload.length === 0) continue;
    if (s.next === undefined) s.next = seq;
    const ahead = (seq - s.next) | 0;
    if (ahead > 0) throw new Error(`${file}: ${key} has a gap of ${ahead} bytes`);
    const fresh = payload.subarray(-ahead); // trim a retransmitted overlap
    if (fresh.length) s.chunks.push(fresh);
    s.next = (s.next + fresh.length) >>> 0;
  }
  return [...streams.values()].map(({ key, srcPort, dstPort, chunks }) => ({ key, srcPort, dstPort, chunks }));
}
