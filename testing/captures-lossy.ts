// Makes a lossy capture out of a real one, as a busy capturing host would have: data segments of one (or both)
// directions dropped, ACKs kept. Written independently of captures/ (its own pcap, Ethernet/IPv4/TCP and RPC
// record walking), so the truth it reports — which calls and replies survive and how many payload bytes each
// WRITE lost — does not come from the code under test. Classic pcap, Ethernet, IPv4, TCP connections to the
// server ports, single-fragment records.

export interface LossyOptions {
  /** server ports: RPC connections are those to one of them */
  serverPorts: number[];
  /** probability of dropping a client->server data segment that holds no RPC header bytes */
  dropCalls: number;
  /** probability of dropping a server->client data segment (whole replies; ACK-only segments are kept) */
  dropReplies: number;
  seed: number;
}

export interface LossyTruth {
  /** XIDs of every call in the original, in stream order */
  calls: number[];
  /** XIDs of every reply in the original */
  replies: number[];
  /** replies whose bytes all survived */
  repliesKept: number[];
  /** WRITE XID -> payload bytes dropped */
  missing: Map<number, number>;
  droppedSegments: { calls: number; replies: number };
}

interface Pkt {
  hdr: Buffer;
  data: Buffer;
  /** TCP payload within data, and its sequence number; dir 0 = to the server port */
  tcp?: { conn: string; dir: 0 | 1; seq: number; off: number; len: number };
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readPcap(buf: Buffer, serverPorts: number[]): { head: Buffer; pkts: Pkt[] } {
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('little-endian microsecond pcap expected');
  if (buf.readUInt32LE(20) !== 1) throw new Error('Ethernet link type expected');
  const pkts: Pkt[] = [];
  let o = 24;
  while (o + 16 <= buf.length) {
    const incl = buf.readUInt32LE(o + 8);
    const hdr = buf.subarray(o, o + 16);
    const data = buf.subarray(o + 16, o + 16 + incl);
    o += 16 + incl;
    const p: Pkt = { hdr, data };
    pkts.push(p);
    if (data.length < 14 + 20 || data.readUInt16BE(12) !== 0x0800) continue;
    const ihl = (data[14] & 0x0f) * 4;
    if (data[14 + 9] !== 6) continue;
    const total = data.readUInt16BE(16);
    const t = 14 + ihl;
    const sport = data.readUInt16BE(t);
    const dport = data.readUInt16BE(t + 2);
    const doff = (data[t + 12] >> 4) * 4;
    const len = total - ihl - doff;
    if (len <= 0) continue;
    const src = `${data.readUInt32BE(26)}:${sport}`;
    const dst = `${data.readUInt32BE(30)}:${dport}`;
    if (serverPorts.includes(dport)) p.tcp = { conn: `${src}>${dst}`, dir: 0, seq: data.readUInt32BE(t + 4), off: t + doff, len };
    else if (serverPorts.includes(sport)) p.tcp = { conn: `${dst}>${src}`, dir: 1, seq: data.readUInt32BE(t + 4), off: t + doff, len };
  }
  return { head: buf.subarray(0, 24), pkts };
}

/** The in-order byte stream of one direction (first copy of every byte), from the lowest sequence number seen. */
function stream(pkts: Pkt[], conn: string, dir: 0 | 1): { base: number; bytes: Buffer } {
  const segs = pkts.filter((p) => p.tcp?.conn === conn && p.tcp.dir === dir);
  if (segs.length === 0) return { base: 0, bytes: Buffer.alloc(0) };
  const base = Math.min(...segs.map((p) => p.tcp!.seq));
  const end = Math.max(...segs.map((p) => p.tcp!.seq - base + p.tcp!.len));
  const bytes = Buffer.alloc(end);
  for (const p of segs) p.data.copy(bytes, p.tcp!.seq - base, p.tcp!.off, p.tcp!.off + p.tcp!.len);
  return { base, bytes };
}

interface Rec {
  start: number;
  end: number;
  xid: number;
  /** stream offset where the bytes that may be dropped begin (WRITE data), = end for other calls */
  dataStart: number;
  write: boolean;
}

/** RFC 5531 §11 record marks and §9 call headers, RFC 1813 §3.3.7 WRITE3args, walked by hand. */
function records(bytes: Buffer, calls: boolean): Rec[] {
  const out: Rec[] = [];
  let o = 0;
  while (o + 4 <= bytes.length) {
    let len = 0;
    let p = o;
    let last = false;
    const frags: number[] = [];
    while (!last) {
      const w = bytes.readUInt32BE(p);
      last = (w & 0x80000000) !== 0;
      const n = w & 0x7fffffff;
      frags.push(p + 4);
      len += n;
      p += 4 + n;
    }
    if (frags.length !== 1) throw new Error('single-fragment records expected');
    const m = o + 4;
    const xid = bytes.readUInt32BE(m);
    let dataStart = p;
    let write = false;
    if (calls) {
      const prog = bytes.readUInt32BE(m + 12);
      const vers = bytes.readUInt32BE(m + 16);
      const proc = bytes.readUInt32BE(m + 20);
      if (prog === 100003 && vers === 3 && proc === 7) {
        let q = m + 24;
        for (let i = 0; i < 2; i++) q += 8 + ((bytes.readUInt32BE(q + 4) + 3) & ~3); // cred, verf
        q += 4 + ((bytes.readUInt32BE(q) + 3) & ~3); // fh
        q += 8 + 4 + 4 + 4; // offset, count, stable, data length
        dataStart = q;
        write = true;
      }
    }
    out.push({ start: o, end: p, xid, dataStart, write });
    o = p;
  }
  return out;
}

/** Drops segments as LossyOptions says; returns the new pcap and what really survived. */
export function makeLossy(original: Buffer, o: LossyOptions): { pcap: Buffer; truth: LossyTruth } {
  const { head, pkts } = readPcap(original, o.serverPorts);
  const rnd = mulberry32(o.seed);
  const conns = [...new Set(pkts.filter((p) => p.tcp).map((p) => p.tcp!.conn))];
  const per = new Map(
    conns.map((c) => {
      const calls = stream(pkts, c, 0);
      const replies = stream(pkts, c, 1);
      const callRecs = records(calls.bytes, true);
      return [c, { calls, replies, callRecs, replyRecs: records(replies.bytes, false), dropped: [[], []] as Array<Array<[number, number]>>, seen: [new Set<number>(), new Set<number>()], droppedAt: [new Set<number>(), new Set<number>()] }];
    }),
  );
  const kept: Buffer[] = [head];
  for (const p of pkts) {
    if (p.tcp) {
      const c = per.get(p.tcp.conn)!;
      const d = p.tcp.dir;
      const s = d === 0 ? c.calls : c.replies;
      const a = (p.tcp.seq - s.base) >>> 0;
      const b = a + p.tcp.len;
      // A retransmission of a dropped segment is dropped too (the capture lost those bytes, not one copy).
      if (c.droppedAt[d].has(a)) continue;
      const first = !c.seen[d].has(a);
      c.seen[d].add(a);
      // A segment touching a call's header bytes is kept (the capture kept its record headers).
      const header = d === 0 && c.callRecs.some((r) => a < r.dataStart && b > r.start);
      if (first && !header && rnd() < (d === 0 ? o.dropCalls : o.dropReplies)) {
        c.dropped[d].push([a, b]);
        c.droppedAt[d].add(a);
        continue;
      }
    }
    kept.push(p.hdr, p.data);
  }
  const overlap = (list: Array<[number, number]>, s: number, e: number) => list.reduce((n, [a, b]) => n + Math.max(0, Math.min(b, e) - Math.max(a, s)), 0);
  const truth: LossyTruth = { calls: [], replies: [], repliesKept: [], missing: new Map(), droppedSegments: { calls: 0, replies: 0 } };
  for (const c of per.values()) {
    truth.calls.push(...c.callRecs.map((r) => r.xid));
    truth.replies.push(...c.replyRecs.map((r) => r.xid));
    truth.repliesKept.push(...c.replyRecs.filter((r) => overlap(c.dropped[1], r.start, r.end) === 0).map((r) => r.xid));
    for (const r of c.callRecs) if (r.write) truth.missing.set(r.xid, overlap(c.dropped[0], r.dataStart, r.end));
    truth.droppedSegments.calls += c.dropped[0].length;
    truth.droppedSegments.replies += c.dropped[1].length;
  }
  return { pcap: Buffer.concat(kept), truth };
}
