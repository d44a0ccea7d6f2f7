// Sans-IO synthesis of a classic pcap (LINKTYPE_ETHERNET) of TCP connections the proxy terminates itself:
// Ethernet II + IPv4 (RFC 791) + TCP (RFC 9293) headers around the bytes it really read and wrote, with
// consistent sequence and acknowledgement numbers, a three-way handshake and FIN/RST per connection.
//
// Ownership: packet() returns [header, payload view]; the payload Buffer is referenced, not copied, so the
// caller must not modify it until the sink has written it (the proxy never modifies bytes it relays).

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const LINKTYPE_ETHERNET = 1;
export const SNAPLEN = 262_144;
/** IPv4 total length is 16 bits: 65535 - 20 (IP) - 20 (TCP). */
export const MAX_SEGMENT = 65_495;

const TCP_FLAG = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;
const HDR = 16 + 14 + 20 + 20;

export function pcapGlobalHeader(): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(PCAP_MAGIC_USEC, 0);
  b.writeUInt16LE(2, 4);
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8); // thiszone
  b.writeUInt32LE(0, 12); // sigfigs
  b.writeUInt32LE(SNAPLEN, 16);
  b.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  return b;
}

export interface Endpoint {
  /** dotted IPv4; IPv6 loopback and v4-mapped addresses are shown as 127.0.0.1 / the mapped address */
  address: string;
  port: number;
}

export function ipv4ToInt(addr: string): number {
  let a = addr;
  if (a.startsWith('::ffff:')) a = a.slice(7);
  if (a === '::1' || a === 'localhost') a = '127.0.0.1';
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(a);
  if (!m) return 0x7f000001;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/** RFC 1071 ones' complement sum over the 20-byte IPv4 header. */
function ipChecksum(b: Buffer, off: number): number {
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += b.readUInt16BE(off + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

interface Side {
  ip: number;
  port: number;
  mac: number;
  seq: number; // next sequence number this side sends
  ipId: number;
}

/** One TCP connection between A (the side that sent SYN) and B. Times are µs since the epoch. */
export class TcpConversation {
  private readonly a: Side;
  private readonly b: Side;
  private finSent = [false, false];

  constructor(a: Endpoint, b: Endpoint, isnA: number, isnB: number, macBase = 0) {
    this.a = { ip: ipv4ToInt(a.address), port: a.port, mac: macBase + 1, seq: isnA >>> 0, ipId: 1 };
    this.b = { ip: ipv4ToInt(b.address), port: b.port, mac: macBase + 2, seq: isnB >>> 0, ipId: 1 };
  }

  /** SYN, SYN-ACK, ACK. */
  handshake(tsUs: number): Buffer[] {
    const out: Buffer[] = [];
    this.segment(out, this.a, this.b, TCP_FLAG.SYN, 0, tsUs, undefined);
    this.a.seq = (this.a.seq + 1) >>> 0;
    this.segment(out, this.b, this.a, TCP_FLAG.SYN | TCP_FLAG.ACK, 0, tsUs, undefined);
    this.b.seq = (this.b.seq + 1) >>> 0;
    this.segment(out, this.a, this.b, TCP_FLAG.ACK, 0, tsUs, undefined);
    return out;
  }

  /** Data from A (fromA) or B, cut into segments of at most MAX_SEGMENT bytes. */
  data(fromA: boolean, payload: Buffer, tsUs: number): Buffer[] {
    const out: Buffer[] = [];
    const [src, dst] = fromA ? [this.a, this.b] : [this.b, this.a];
    for (let o = 0; o < payload.length; o += MAX_SEGMENT) {
      const seg = payload.subarray(o, Math.min(payload.length, o + MAX_SEGMENT));
      this.segment(out, src, dst, TCP_FLAG.ACK | TCP_FLAG.PSH, seg.length, tsUs, seg);
      src.seq = (src.seq + seg.length) >>> 0;
    }
    return out;
  }

  fin(fromA: boolean, tsUs: number): Buffer[] {
    const i = fromA ? 0 : 1;
    if (this.finSent[i]) return [];
    this.finSent[i] = true;
    const out: Buffer[] = [];
    const [src, dst] = fromA ? [this.a, this.b] : [this.b, this.a];
    this.segment(out, src, dst, TCP_FLAG.FIN | TCP_FLAG.ACK, 0, tsUs, undefined);
    src.seq = (src.seq + 1) >>> 0;
    return out;
  }

  rst(fromA: boolean, tsUs: number): Buffer[] {
    const out: Buffer[] = [];
    const [src, dst] = fromA ? [this.a, this.b] : [this.b, this.a];
    this.segment(out, src, dst, TCP_FLAG.RST | TCP_FLAG.ACK, 0, tsUs, undefined);
    return out;
  }

  private segment(out: Buffer[], src: Side, dst: Side, flags: number, len: number, tsUs: number, payload: Buffer | undefined): void {
    const h = Buffer.allocUnsafe(HDR);
    const frame = 14 + 20 + 20 + len;
    // pcap record header
    h.writeUInt32LE(Math.floor(tsUs / 1e6), 0);
    h.writeUInt32LE(Math.floor(tsUs % 1e6), 4);
    h.writeUInt32LE(frame, 8);
    h.writeUInt32LE(frame, 12);
    // Ethernet II: locally administered MACs 02:00:00:00:xx:xx
    let o = 16;
    writeMac(h, o, dst.mac);
    writeMac(h, o + 6, src.mac);
    h.writeUInt16BE(0x0800, o + 12);
    o += 14;
    // IPv4 (RFC 791 §3.1): version 4, IHL 5, DF, TTL 64, protocol 6
    h.writeUInt8(0x45, o);
    h.writeUInt8(0, o + 1);
    h.writeUInt16BE(20 + 20 + len, o + 2);
    h.writeUInt16BE(src.ipId, o + 4);
    src.ipId = (src.ipId + 1) & 0xffff;
    h.writeUInt16BE(0x4000, o + 6);
    h.writeUInt8(64, o + 8);
    h.writeUInt8(6, o + 9);
    h.writeUInt16BE(0, o + 10);
    h.writeUInt32BE(src.ip, o + 12);
    h.writeUInt32BE(dst.ip, o + 16);
    h.writeUInt16BE(ipChecksum(h, o), o + 10);
    o += 20;
    // TCP (RFC 9293 §3.1): data offset 5 words; the checksum is left 0 (Wireshark does not verify by default)
    h.writeUInt16BE(src.port, o);
    h.writeUInt16BE(dst.port, o + 2);
    h.writeUInt32BE(src.seq, o + 4);
    h.writeUInt32BE(flags & TCP_FLAG.ACK ? dst.seq : 0, o + 8);
    h.writeUInt8(5 << 4, o + 12);
    h.writeUInt8(flags, o + 13);
    h.writeUInt16BE(0xffff, o + 14);
    h.writeUInt16BE(0, o + 16);
    h.writeUInt16BE(0, o + 18);
    out.push(h);
    if (payload && payload.length) out.push(payload);
  }
}

function writeMac(b: Buffer, o: number, id: number): void {
  b.writeUInt16BE(0x0200, o);
  b.writeUInt32BE(id >>> 0, o + 2);
}
