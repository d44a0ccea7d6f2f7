// What every capture reader hands out: one captured packet with its link type and timestamp.
//
// Ownership: `data` is a view into a Buffer the reader allocated (or the chunk that was pushed); the reader never
// writes to it afterwards, so consumers may keep the view for as long as they like.

export interface CapturedPacket {
  /** 1-based frame number within its file, as tshark numbers them. */
  frame: number;
  /** Link-layer header type (LINKTYPE_* of tcpdump.org/linktypes.html). */
  linktype: number;
  /** Seconds since the epoch (integer part). */
  tsSec: number;
  /** Nanoseconds within the second (0..999999999). */
  tsNsec: number;
  /** Captured bytes (caplen of them). */
  data: Buffer;
  /** Length of the packet on the wire; > data.length when the capture was snaplen-truncated. */
  origLen: number;
  /** pcapng interface name (if_name or if_description), when the capture names its interfaces */
  ifName?: string;
}

/** A sans-IO capture reader: push file bytes in, get packets out; end() reports what was left over. */
export interface CaptureReader {
  readonly format: 'pcap' | 'pcapng';
  push(chunk: Buffer, onPacket: (p: CapturedPacket) => void): void;
  /** Call at end of input; returns a description of an incomplete trailing packet/block, or null. */
  end(): TrailingData | null;
  /** section comments (pcapng) */
  readonly comments?: readonly string[];
}

export interface TrailingData {
  /** Bytes left after the last complete packet. */
  bytes: number;
  /** Frame number the incomplete packet would have had. */
  frame: number;
  /** What was cut: the packet/block header or its body. */
  cut: 'header' | 'body';
  /** Captured length announced by the cut packet's header, when its header was complete. */
  expected?: number;
}

/** Upper bound on a single packet's captured length; checked before any bytes are buffered for it. */
export const MAX_CAPLEN = 16 * 1024 * 1024;

export function timeOf(p: { tsSec: number; tsNsec: number }): number {
  return p.tsSec + p.tsNsec / 1e9;
}
