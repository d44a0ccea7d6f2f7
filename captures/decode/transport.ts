// TCP (RFC 9293 §3.1) and UDP (RFC 768) headers over an IP payload.
import { IpPayload } from './ip';

export const TCP_FLAG = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

export interface TcpSegment {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  /** captured payload (view) */
  data: Buffer;
  /** payload length on the wire */
  wireLen: number;
}

export interface UdpDatagram {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  data: Buffer;
  wireLen: number;
}

/** null when the header itself was not captured or is inconsistent. */
export function decodeTcp(ip: IpPayload): TcpSegment | null {
  const d = ip.data;
  if (d.length < 20) return null;
  const off = (d[12] >> 4) * 4;
  if (off < 20 || off > d.length || off > ip.wireLen) return null;
  return {
    src: ip.src,
    dst: ip.dst,
    sport: d.readUInt16BE(0),
    dport: d.readUInt16BE(2),
    seq: d.readUInt32BE(4),
    ack: d.readUInt32BE(8),
    flags: d[13],
    data: d.subarray(off),
    wireLen: ip.wireLen - off,
  };
}

export function decodeUdp(ip: IpPayload): UdpDatagram | null {
  const d = ip.data;
  if (d.length < 8) return null;
  const len = d.readUInt16BE(4);
  // RFC 768: Length covers header and data; 0 appears only with IPv6 jumbograms (not supported here).
  if (len < 8 || len > ip.wireLen) return null;
  return { src: ip.src, dst: ip.dst, sport: d.readUInt16BE(0), dport: d.readUInt16BE(2), data: d.subarray(8, Math.min(len, d.length)), wireLen: len - 8 };
}
