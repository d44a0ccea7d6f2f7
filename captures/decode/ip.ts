// IPv4 (RFC 791) and IPv6 (RFC 8200, extension headers §4) down to the transport payload, with fragment
// reassembly for both (UDP NFS WRITEs arrive as IP fragments). Bounded: at most MAX_PENDING datagrams in
// reassembly at once, oldest evicted and counted.

export const IPPROTO = { HOPOPTS: 0, TCP: 6, UDP: 17, ROUTING: 43, FRAGMENT: 44, ESP: 50, AH: 51, NONE: 59, DSTOPTS: 60, MOBILITY: 135 } as const;

export interface IpPayload {
  version: 4 | 6;
  src: string;
  dst: string;
  proto: number;
  /** captured transport bytes (a view, or a new Buffer after reassembly) */
  data: Buffer;
  /** transport bytes on the wire; > data.length when the capture cut the packet (snaplen) */
  wireLen: number;
  /** frame of the first fragment when reassembled */
  firstFrame: number;
}

const MAX_PENDING = 256;
const MAX_DATAGRAM = 65535 + 40;

interface Pending {
  pieces: Array<{ off: number; data: Buffer }>;
  total: number; // -1 until the last fragment is seen
  got: number;
  firstFrame: number;
  damaged: boolean;
}

export interface IpStats {
  ipPackets: number;
  fragments: number;
  reassembled: number;
  /** datagrams whose fragments never all arrived, or arrived cut by the snaplen */
  incompleteDatagrams: number;
  /** packets whose IP header was cut or inconsistent */
  malformed: number;
}

const v4Names = new Map<number, string>();

/** Dotted quad; the few addresses of a capture are formatted once and then looked up. */
export function ipv4String(b: Buffer, o: number): string {
  const n = b.readUInt32BE(o);
  let s = v4Names.get(n);
  if (s === undefined) {
    s = `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
    if (v4Names.size >= 65536) v4Names.clear();
    v4Names.set(n, s);
  }
  return s;
}

/** RFC 5952 text form: lowercase, longest run (>= 2) of zero groups compressed to "::". */
export function ipv6String(b: Buffer, o: number): string {
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push(b.readUInt16BE(o + 2 * i));
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

export class IpDecoder {
  private pending = new Map<string, Pending>();
  readonly stats: IpStats = { ipPackets: 0, fragments: 0, reassembled: 0, incompleteDatagrams: 0, malformed: 0 };

  /** origLen: the frame's length on the wire, to tell snaplen cuts from malformed headers. */
  decode(d: Buffer, o: number, version: 4 | 6, frame: number, frameCut: number): IpPayload | null {
    this.stats.ipPackets++;
    return version === 4 ? this.v4(d, o, frame, frameCut) : this.v6(d, o, frame, frameCut);
  }

  private v4(d: Buffer, o: number, frame: number, frameCut: number): IpPayload | null {
    if (d.length < o + 20 || d[o] >> 4 !== 4) return this.bad();
    const ihl = (d[o] & 0x0f) * 4;
    const total = d.readUInt16BE(o + 2);
    if (ihl < 20 || total < ihl || d.length < o + ihl) return this.bad();
    const flags = d.readUInt16BE(o + 6);
    const more = (flags & 0x2000) !== 0;
    const fragOff = (flags & 0x1fff) * 8;
    const proto = d[o + 9];
    const src = ipv4String(d, o + 12);
    const dst = ipv4String(d, o + 16);
    // RFC 791: Total Length bounds the packet; bytes after it are link padding (Ethernet minimum frame).
    const end = Math.min(d.length, o + total);
    const data = d.subarray(o + ihl, end);
    const wireLen = total - ihl;
    if (end < o + total && frameCut === 0) return this.bad();
    if (!more && fragOff === 0) return { version: 4, src, dst, proto, data, wireLen, firstFrame: frame };
    return this.fragment(`4|${src}|${dst}|${d.readUInt16BE(o + 4)}|${proto}`, fragOff, more, data, wireLen, frame, { version: 4, src, dst, proto });
  }

  private v6(d: Buffer, o: number, frame: number, frameCut: number): IpPayload | null {
    if (d.length < o + 40 || d[o] >> 4 !== 6) return this.bad();
    const plen = d.readUInt16BE(o + 4);
    let next = d[o + 6];
    const src = ipv6String(d, o + 8);
    const dst = ipv6String(d, o + 24);
    const end = Math.min(d.length, o + 40 + plen);
    if (end < o + 40 + plen && frameCut === 0) return this.bad();
    let p = o + 40;
    let frag: { off: number; more: boolean; id: number } | null = null;
    // RFC 8200 §4: walk the extension header chain to the upper-layer header.
    for (;;) {
      if (next === IPPROTO.HOPOPTS || next === IPPROTO.ROUTING || next === IPPROTO.DSTOPTS || next === IPPROTO.MOBILITY) {
        if (p + 8 > end) return this.bad();
        const n = d[p];
        p += (d[p + 1] + 1) * 8;
        next = n;
      } else if (next === IPPROTO.AH) {
        // RFC 4302 §2.2: AH length is in 4-octet units minus 2.
        if (p + 8 > end) return this.bad();
        const n = d[p];
        p += (d[p + 1] + 2) * 4;
        next = n;
      } else if (next === IPPROTO.FRAGMENT) {
        // RFC 8200 §4.5
        if (p + 8 > end) return this.bad();
        const n = d[p];
        const w = d.readUInt16BE(p + 2);
        frag = { off: w & 0xfff8, more: (w & 1) !== 0, id: d.readUInt32BE(p + 4) };
        p += 8;
        next = n;
      } else break;
      if (p > end) return this.bad();
    }
    const data = d.subarray(p, end);
    const wireLen = o + 40 + plen - p;
    if (!frag || (frag.off === 0 && !frag.more)) return { version: 6, src, dst, proto: next, data, wireLen, firstFrame: frame };
    return this.fragment(`6|${src}|${dst}|${frag.id}`, frag.off, frag.more, data, wireLen, frame, { version: 6, src, dst, proto: next });
  }

  private bad(): null {
    this.stats.malformed++;
    return null;
  }

  private fragment(
    key: string,
    off: number,
    more: boolean,
    data: Buffer,
    wireLen: number,
    frame: number,
    id: { version: 4 | 6; src: string; dst: string; proto: number },
  ): IpPayload | null {
    this.stats.fragments++;
    let p = this.pending.get(key);
    if (!p) {
      if (this.pending.size >= MAX_PENDING) {
        const oldest = this.pending.keys().next().value as string;
        this.pending.delete(oldest);
        this.stats.incompleteDatagrams++;
      }
      p = { pieces: [], total: -1, got: 0, firstFrame: frame, damaged: false };
      this.pending.set(key, p);
    }
    if (data.length < wireLen) p.damaged = true;
    if (off + wireLen > MAX_DATAGRAM) p.damaged = true;
    if (off === 0) p.firstFrame = frame;
    if (!more) p.total = off + wireLen;
    // A repeated fragment (same offset) keeps the first copy.
    if (!p.pieces.some((x) => x.off === off)) {
      // A copy: a view would keep the capture chunk referenced while the datagram waits (source.ts reuses chunks).
      p.pieces.push({ off, data: Buffer.from(data) });
      p.got += data.length;
    }
    if (p.total < 0 || p.got < p.total) return null;
    this.pending.delete(key);
    if (p.damaged) {
      this.stats.incompleteDatagrams++;
      return null;
    }
    const out = Buffer.alloc(p.total);
    let covered = 0;
    p.pieces.sort((a, b) => a.off - b.off);
    for (const x of p.pieces) {
      if (x.off > covered) break;
      x.data.copy(out, x.off, 0, Math.min(x.data.length, p.total - x.off));
      covered = Math.max(covered, x.off + x.data.length);
    }
    if (covered < p.total) {
      this.stats.incompleteDatagrams++;
      return null;
    }
    this.stats.reassembled++;
    return { ...id, data: out, wireLen: p.total, firstFrame: p.firstFrame };
  }

  /** Datagrams still waiting for fragments (counted as incomplete at the end of the capture). */
  finish(): void {
    this.stats.incompleteDatagrams += this.pending.size;
    this.pending.clear();
  }
}
