// Link-layer headers down to the network protocol: where the IP packet starts and which version it is.
// Types and layouts: https://www.tcpdump.org/linktypes.html
export const LINKTYPE = {
  NULL: 0, // BSD loopback: 4-byte address family in the writer's byte order
  ETHERNET: 1,
  RAW: 101, // raw IPv4 or IPv6, version from the first nibble
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

export const ETHERTYPE = { IPV4: 0x0800, IPV6: 0x86dd, VLAN: 0x8100, QINQ: 0x88a8, VLAN_9100: 0x9100 } as const;

/** BSD AF_INET / the AF_INET6 values of the BSDs and macOS (linktypes.html, LINKTYPE_NULL) */
const AF_INET = 2;
const AF_INET6 = new Set([10, 24, 28, 30]);

export interface LinkResult {
  /** offset of the IP header in the frame */
  offset: number;
  ipVersion: 4 | 6;
}

function fromEthertype(type: number, offset: number): LinkResult | null {
  if (type === ETHERTYPE.IPV4) return { offset, ipVersion: 4 };
  if (type === ETHERTYPE.IPV6) return { offset, ipVersion: 6 };
  return null;
}

/** null when the frame carries no IP (ARP, LLDP, ...) or is too short for its link header. */
export function decodeLink(linktype: number, d: Buffer): LinkResult | null {
  switch (linktype) {
    case LINKTYPE.ETHERNET: {
      if (d.length < 14) return null;
      let type = d.readUInt16BE(12);
      let o = 14;
      // IEEE 802.1Q / 802.1ad tags: TCI then the next EtherType, possibly stacked.
      while ((type === ETHERTYPE.VLAN || type === ETHERTYPE.QINQ || type === ETHERTYPE.VLAN_9100) && o + 4 <= d.length) {
        type = d.readUInt16BE(o + 2);
        o += 4;
      }
      return fromEthertype(type, o);
    }
    case LINKTYPE.RAW:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6: {
      if (d.length < 1) return null;
      const v = d[0] >> 4;
      return v === 4 || v === 6 ? { offset: 0, ipVersion: v } : null;
    }
    case LINKTYPE.LINUX_SLL:
      // 16-byte header; protocol type (an EtherType) in the last two bytes.
      return d.length < 16 ? null : fromEthertype(d.readUInt16BE(14), 16);
    case LINKTYPE.LINUX_SLL2:
      // 20-byte header; protocol type first.
      return d.length < 20 ? null : fromEthertype(d.readUInt16BE(0), 20);
    case LINKTYPE.NULL: {
      if (d.length < 4) return null;
      const le = d.readUInt32LE(0);
      const be = d.readUInt32BE(0);
      if (le === AF_INET || be === AF_INET) return { offset: 4, ipVersion: 4 };
      if (AF_INET6.has(le) || AF_INET6.has(be)) return { offset: 4, ipVersion: 6 };
      return null;
    }
    default:
      return null;
  }
}
