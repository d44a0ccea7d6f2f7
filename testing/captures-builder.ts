// An independent capture builder for the captures/ tests: writes pcap / pcapng files, link headers, IPv4/IPv6,
// TCP/UDP and hand-encoded ONC RPC / NFSv3 WRITE messages. It shares no code with captures/ or xdr/ on purpose:
// expected bytes must not come from the code under test.

// ---------- files ----------
export interface FramePkt {
  sec: number;
  nsec?: number;
  data: Buffer;
  /** wire length when the frame is cut (snaplen) */
  origLen?: number;
  iface?: number;
}

export function pcapFile(pkts: FramePkt[], o: { linktype: number; nano?: boolean; bigEndian?: boolean; snaplen?: number }): Buffer {
  const be = !!o.bigEndian;
  const h = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, off: number) => (be ? b.writeUInt32BE(v >>> 0, off) : b.writeUInt32LE(v >>> 0, off));
  const w16 = (b: Buffer, v: number, off: number) => (be ? b.writeUInt16BE(v, off) : b.writeUInt16LE(v, off));
  w32(h, o.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, o.snaplen ?? 262144, 16);
  w32(h, o.linktype, 20);
  const parts: Buffer[] = [h];
  for (const p of pkts) {
    const r = Buffer.alloc(16);
    w32(r, p.sec, 0);
    w32(r, o.nano ? (p.nsec ?? 0) : Math.floor((p.nsec ?? 0) / 1000), 4);
    w32(r, p.data.length, 8);
    w32(r, p.origLen ?? p.data.length, 12);
    parts.push(r, p.data);
  }
  return Buffer.concat(parts);
}

function pad4(b: Buffer): Buffer {
  const p = (4 - (b.length % 4)) % 4;
  return p ? Buffer.concat([b, Buffer.alloc(p)]) : b;
}

export interface NgIface {
  linktype: number;
  snaplen?: number;
  /** if_tsresol byte (6 = microseconds, 9 = nanoseconds); omitted = default microseconds */
  tsresol?: number;
}

export function pcapngFile(pkts: FramePkt[], o: { ifaces: NgIface[]; bigEndian?: boolean; unknownBlocks?: boolean; simple?: boolean }): Buffer {
  const be = !!o.bigEndian;
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    if (be) b.writeUInt32BE(v >>> 0);
    else b.writeUInt32LE(v >>> 0);
    return b;
  };
  const u16 = (v: number) => {
    const b = Buffer.alloc(2);
    if (be) b.writeUInt16BE(v);
    else b.writeUInt16LE(v);
    return b;
  };
  const block = (type: number, body: Buffer) => {
    const len = 12 + body.length;
    return Buffer.concat([u32(type), u32(len), body, u32(len)]);
  };
  const out: Buffer[] = [];
  // SHB: byte-order magic, version 1.0, section length -1
  out.push(block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.alloc(8, 0xff)])));
  for (const f of o.ifaces) {
    const opts = f.tsresol === undefined ? Buffer.alloc(0) : Buffer.concat([u16(9), u16(1), pad4(Buffer.from([f.tsresol])), u16(0), u16(0)]);
    out.push(block(1, Buffer.concat([u16(f.linktype), u16(0), u32(f.snaplen ?? 0), opts])));
  }
  if (o.unknownBlocks) out.push(block(0x00000bad, Buffer.from('custom block body!!!')));
  for (const p of pkts) {
    const f = o.ifaces[p.iface ?? 0];
    if (o.simple) {
      out.push(block(3, Buffer.concat([u32(p.origLen ?? p.data.length), pad4(p.data)])));
      continue;
    }
    const res = f.tsresol ?? 6;
    const units = BigInt(p.sec) * 10n ** BigInt(res) + (BigInt(p.nsec ?? 0) * 10n ** BigInt(res)) / 1000000000n;
    const hi = Number(units >> 32n);
    const lo = Number(units & 0xffffffffn);
    out.push(block(6, Buffer.concat([u32(p.iface ?? 0), u32(hi), u32(lo), u32(p.data.length), u32(p.origLen ?? p.data.length), pad4(p.data)])));
    if (o.unknownBlocks) out.push(block(0x40000001, Buffer.alloc(8, 1)));
  }
  return Buffer.concat(out);
}

// ---------- link layers ----------
export const LT = { NULL: 0, ETHERNET: 1, RAW: 101, SLL: 113, IPV4: 228, IPV6: 229, SLL2: 276 } as const;

const isV6 = (ip: Buffer) => ip[0] >> 4 === 6;

export function ethernet(ip: Buffer, vlan?: number): Buffer {
  const type = isV6(ip) ? 0x86dd : 0x0800;
  const h = Buffer.alloc(vlan === undefined ? 14 : 18);
  Buffer.from('020000000002020000000001', 'hex').copy(h, 0);
  if (vlan === undefined) h.writeUInt16BE(type, 12);
  else {
    h.writeUInt16BE(0x8100, 12);
    h.writeUInt16BE(vlan, 14);
    h.writeUInt16BE(type, 16);
  }
  return Buffer.concat([h, ip]);
}

export function sll(ip: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0, 0); // packet type: to us
  h.writeUInt16BE(772, 2); // ARPHRD_LOOPBACK
  h.writeUInt16BE(6, 4);
  h.writeUInt16BE(isV6(ip) ? 0x86dd : 0x0800, 14);
  return Buffer.concat([h, ip]);
}

export function sll2(ip: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(isV6(ip) ? 0x86dd : 0x0800, 0);
  h.writeUInt32BE(1, 4); // interface index
  h.writeUInt16BE(772, 8);
  h[10] = 0;
  h[11] = 6;
  return Buffer.concat([h, ip]);
}

export function bsdNull(ip: Buffer): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32LE(isV6(ip) ? 30 : 2);
  return Buffer.concat([h, ip]);
}

// ---------- IP / transport ----------
function addr4(a: string): Buffer {
  return Buffer.from(a.split('.').map(Number));
}

function addr6(a: string): Buffer {
  const [l, r] = a.split('::');
  const left = l ? l.split(':') : [];
  const right = r !== undefined && r ? r.split(':') : [];
  const groups = a.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}

export function ipv4(src: string, dst: string, proto: number, payload: Buffer, o: { id?: number; fragOffset?: number; more?: boolean; totalLen?: number } = {}): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(o.totalLen ?? 20 + payload.length, 2);
  h.writeUInt16BE(o.id ?? 1, 4);
  h.writeUInt16BE(((o.more ? 1 : 0) << 13) | ((o.fragOffset ?? 0) / 8), 6);
  h[8] = 64;
  h[9] = proto;
  addr4(src).copy(h, 12);
  addr4(dst).copy(h, 16);
  return Buffer.concat([h, payload]);
}

/** IPv6 with a hop-by-hop options header and a destination options header before the payload when `ext`. */
export function ipv6(src: string, dst: string, proto: number, payload: Buffer, o: { ext?: boolean } = {}): Buffer {
  let body = payload;
  let next = proto;
  if (o.ext) {
    const dest = Buffer.alloc(8);
    dest[0] = proto;
    dest[1] = 0; // 8 bytes
    dest[2] = 1; // PadN
    dest[3] = 4;
    const hop = Buffer.alloc(16);
    hop[0] = 60;
    hop[1] = 1; // 16 bytes
    hop[2] = 1;
    hop[3] = 12;
    body = Buffer.concat([hop, dest, payload]);
    next = 0;
  }
  const h = Buffer.alloc(40);
  h.writeUInt32BE(0x60000000, 0);
  h.writeUInt16BE(body.length, 4);
  h[6] = next;
  h[7] = 64;
  addr6(src).copy(h, 8);
  addr6(dst).copy(h, 24);
  return Buffer.concat([h, body]);
}

export const FLAG = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;

export function tcp(sport: number, dport: number, seq: number, ack: number, flags: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(ack >>> 0, 8);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, payload]);
}

export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

// ---------- ONC RPC / NFSv3 by hand (RFC 5531 §9, RFC 1813 §3.3.7) ----------
function words(...vs: number[]): Buffer {
  const b = Buffer.alloc(vs.length * 4);
  vs.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

export function opaque(data: Buffer): Buffer {
  return Buffer.concat([words(data.length), pad4(data)]);
}

/** Call header with AUTH_NONE credentials and verifier, followed by args. */
export function rpcCall(xid: number, prog: number, vers: number, proc: number, args: Buffer): Buffer {
  return Buffer.concat([words(xid, 0, 2, prog, vers, proc, 0, 0, 0, 0), args]);
}

/** Accepted SUCCESS reply with an AUTH_NONE verifier, followed by results. */
export function rpcReply(xid: number, results: Buffer): Buffer {
  return Buffer.concat([words(xid, 1, 0, 0, 0, 0), results]);
}

export const FH = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

export function writeArgs(offset: bigint, data: Buffer, o: { fh?: Buffer; stable?: number; count?: number } = {}): Buffer {
  const off = Buffer.alloc(8);
  off.writeBigUInt64BE(offset);
  return Buffer.concat([opaque(o.fh ?? FH), off, words(o.count ?? data.length, o.stable ?? 0), opaque(data)]);
}

/** WRITE3resok: status OK, wcc_data without attributes, count, committed, verifier. */
export function writeRes(count: number, committed = 0): Buffer {
  return Buffer.concat([words(0, 0, 0, count, committed), Buffer.from('verifier')]);
}

export function writeCall(xid: number, offset: bigint, data: Buffer): Buffer {
  return rpcCall(xid, 100003, 3, 7, writeArgs(offset, data));
}

export function writeReply(xid: number, count: number): Buffer {
  return rpcReply(xid, writeRes(count));
}

/** RFC 5531 §11 record marking, fragments of at most fragSize bytes. */
export function record(msg: Buffer, fragSize = 0x7fffffff): Buffer {
  const out: Buffer[] = [];
  for (let o = 0; o < msg.length || out.length === 0; o += fragSize) {
    const part = msg.subarray(o, o + fragSize);
    const last = o + fragSize >= msg.length;
    out.push(words(((last ? 0x80000000 : 0) | part.length) >>> 0), part);
  }
  return Buffer.concat(out);
}

/** The counter pattern the seed's blktest writes; then 0xdeadbeef for the corrupted copy. */
export function counter(len: number, start = 0): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i + 4 <= len; i += 4) b.writeUInt32BE((start + i / 4) >>> 0, i);
  return b;
}

export function fill32(len: number, word: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i + 4 <= len; i += 4) b.writeUInt32BE(word >>> 0, i);
  return b;
}

// ---------- TCP conversations ----------
export interface ConvOptions {
  client?: string;
  server?: string;
  cport?: number;
  sport?: number;
  link?: (ip: Buffer) => Buffer;
  cisn?: number;
  sisn?: number;
}

/** Builds the frames of one TCP connection; the test decides their order and timestamps. */
export class TcpConv {
  readonly client: string;
  readonly server: string;
  readonly cport: number;
  readonly sport: number;
  cseq: number;
  sseq: number;
  private link: (ip: Buffer) => Buffer;

  constructor(o: ConvOptions = {}) {
    this.client = o.client ?? '10.0.0.1';
    this.server = o.server ?? '10.0.0.2';
    this.cport = o.cport ?? 800;
    this.sport = o.sport ?? 2049;
    this.link = o.link ?? ethernet;
    this.cseq = (o.cisn ?? 1000) >>> 0;
    this.sseq = (o.sisn ?? 5000) >>> 0;
  }

  private ip(fromClient: boolean, seg: Buffer): Buffer {
    const [s, d] = fromClient ? [this.client, this.server] : [this.server, this.client];
    const v6 = s.includes(':');
    return this.link(v6 ? ipv6(s, d, 6, seg) : ipv4(s, d, 6, seg));
  }

  /** SYN, SYN-ACK, ACK */
  handshake(): Buffer[] {
    const a = this.ip(true, tcp(this.cport, this.sport, this.cseq, 0, FLAG.SYN));
    const b = this.ip(false, tcp(this.sport, this.cport, this.sseq, this.cseq + 1, FLAG.SYN | FLAG.ACK));
    this.cseq = (this.cseq + 1) >>> 0;
    this.sseq = (this.sseq + 1) >>> 0;
    const c = this.ip(true, tcp(this.cport, this.sport, this.cseq, this.sseq, FLAG.ACK));
    return [a, b, c];
  }

  /** Client data at the current sequence number (advances it), or at an explicit one (does not). */
  fromClient(data: Buffer, seq?: number): Buffer {
    const s = seq ?? this.cseq;
    if (seq === undefined) this.cseq = (this.cseq + data.length) >>> 0;
    return this.ip(true, tcp(this.cport, this.sport, s, this.sseq, FLAG.ACK | FLAG.PSH, data));
  }

  fromServer(data: Buffer, seq?: number): Buffer {
    const s = seq ?? this.sseq;
    if (seq === undefined) this.sseq = (this.sseq + data.length) >>> 0;
    return this.ip(false, tcp(this.sport, this.cport, s, this.cseq, FLAG.ACK | FLAG.PSH, data));
  }

  /** A pure ACK from the server acknowledging everything the client sent (or up to `ack`). */
  serverAck(ack?: number): Buffer {
    return this.ip(false, tcp(this.sport, this.cport, this.sseq, ack ?? this.cseq, FLAG.ACK));
  }

  /** Splits bytes into client segments of at most mss bytes; returns the frames (sequence advanced). */
  clientSegments(bytes: Buffer, mss: number): Buffer[] {
    const out: Buffer[] = [];
    for (let o = 0; o < bytes.length; o += mss) out.push(this.fromClient(bytes.subarray(o, o + mss)));
    return out;
  }

  fin(): Buffer[] {
    const a = this.ip(true, tcp(this.cport, this.sport, this.cseq, this.sseq, FLAG.FIN | FLAG.ACK));
    this.cseq = (this.cseq + 1) >>> 0;
    const b = this.ip(false, tcp(this.sport, this.cport, this.sseq, this.cseq, FLAG.FIN | FLAG.ACK));
    this.sseq = (this.sseq + 1) >>> 0;
    return [a, b];
  }
}

/** Frames at 1 ms intervals starting at t0 seconds. */
export function timed(frames: Buffer[], t0 = 1_700_000_000): FramePkt[] {
  return frames.map((data, i) => ({ sec: t0 + Math.floor(i / 1000), nsec: (i % 1000) * 1_000_000, data }));
}
