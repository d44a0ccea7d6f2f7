// Classic libpcap files, read sans-IO: the 24-byte file header, then 16-byte record headers each followed by caplen
// bytes. Handles both byte orders, the nanosecond magic (a1b23c4d), a captured-length cap checked before anything
// is buffered, and a truncated trailing packet reported instead of silently lost.
// Format: https://www.tcpdump.org/manpages/pcap-savefile.5.html
//
// Ownership: a packet lying in one pushed chunk is handed out as a view of that chunk (pushed chunks must not be
// modified afterwards); a packet split across pushes is assembled into a Buffer of its own, allocated once its
// record header is read and its captured length checked. Nobody writes to either afterwards.
import { CaptureError } from '../../core/errors';
import { CaptureReader, CapturedPacket, MAX_CAPLEN, TrailingData } from './packet';

export const PCAP_MAGIC = {
  /** microsecond timestamps, written big-endian as a1 b2 c3 d4 */
  MICRO: 0xa1b2c3d4,
  /** nanosecond timestamps (pcap-savefile(5)) */
  NANO: 0xa1b23c4d,
} as const;

export const PCAP_HEADER_LENGTH = 24;
export const PCAP_RECORD_HEADER_LENGTH = 16;

export interface PcapFileHeader {
  littleEndian: boolean;
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linktype: number;
}

/** Byte order and timestamp unit from the first 4 bytes; CaptureError CAPTURE_MAGIC otherwise. */
export function pcapMagic(h: Buffer): { littleEndian: boolean; nanosecond: boolean } {
  const be = h.readUInt32BE(0);
  const le = h.readUInt32LE(0);
  if (be === PCAP_MAGIC.MICRO || be === PCAP_MAGIC.NANO) return { littleEndian: false, nanosecond: be === PCAP_MAGIC.NANO };
  if (le === PCAP_MAGIC.MICRO || le === PCAP_MAGIC.NANO) return { littleEndian: true, nanosecond: le === PCAP_MAGIC.NANO };
  throw new CaptureError('CAPTURE_MAGIC', `not a pcap file (magic ${h.subarray(0, 4).toString('hex')})`, { magic: h.subarray(0, 4).toString('hex') });
}

/** Parses the 24-byte global header; throws CaptureError CAPTURE_MAGIC / CAPTURE_VERSION. */
export function parsePcapHeader(h: Buffer): PcapFileHeader {
  if (h.length < PCAP_HEADER_LENGTH) throw new CaptureError('CAPTURE_SHORT_HEADER', `pcap header needs ${PCAP_HEADER_LENGTH} bytes, got ${h.length}`);
  const { littleEndian, nanosecond } = pcapMagic(h);
  const u16 = (o: number) => (littleEndian ? h.readUInt16LE(o) : h.readUInt16BE(o));
  const u32 = (o: number) => (littleEndian ? h.readUInt32LE(o) : h.readUInt32BE(o));
  const versionMajor = u16(4);
  const versionMinor = u16(6);
  // pcap-savefile(5): the current version is 2.4; 2.x files share the record layout.
  if (versionMajor !== 2) throw new CaptureError('CAPTURE_VERSION', `unsupported pcap version ${versionMajor}.${versionMinor}`, { versionMajor, versionMinor });
  // The upper bits of the link-type field carry the FCS length (pcap-savefile(5), "LinkType and additional information").
  return { littleEndian, nanosecond, versionMajor, versionMinor, snaplen: u32(16), linktype: u32(20) & 0x0fffffff };
}

/**
 * The record loop runs over each pushed chunk in place. It replaced the pcap-parser package (issue 20): that
 * library allocated a zero-filled Buffer for its leftover plus every chunk and copied both into it, so every
 * capture byte was allocated and copied twice, and it emitted four events per packet; on a 221 MB capture it cost
 * 0.2 s of CPU where this loop costs a few hundredths, and its copies were a third of the external memory
 * that drove V8's full collections.
 */
export class PcapReader implements CaptureReader {
  readonly format = 'pcap' as const;
  header: PcapFileHeader | null = null;
  private head: Buffer[] = [];
  private headBytes = 0;
  private le = true;
  private frame = 0;
  /** record header of the packet split across pushes: its bytes so far */
  private readonly rec = Buffer.alloc(PCAP_RECORD_HEADER_LENGTH);
  private recBytes = 0;
  /** body of the packet split across pushes (allocated once its caplen was checked), and its bytes so far */
  private body: Buffer | null = null;
  private bodyBytes = 0;
  private failed: CaptureError | null = null;

  push(chunk: Buffer, onPacket: (p: CapturedPacket) => void): void {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return;
    try {
      if (!this.header) {
        this.head.push(chunk);
        this.headBytes += chunk.length;
        if (this.headBytes < PCAP_HEADER_LENGTH) {
          // A wrong magic is reported as soon as 4 bytes are in, not only at the end.
          if (this.headBytes >= 4) pcapMagic(Buffer.concat(this.head));
          return;
        }
        const all = this.head.length === 1 ? this.head[0] : Buffer.concat(this.head, this.headBytes);
        this.head = [];
        this.header = parsePcapHeader(all);
        this.le = this.header.littleEndian;
        chunk = all.subarray(PCAP_HEADER_LENGTH);
      }
      this.records(chunk, onPacket);
    } catch (err) {
      this.failed = err instanceof CaptureError ? err : new CaptureError('CAPTURE_PARSE', String((err as Error)?.message ?? err));
      throw this.failed;
    }
  }

  private records(b: Buffer, onPacket: (p: CapturedPacket) => void): void {
    let pos = this.recBytes > 0 || this.body ? this.finishSplit(b, onPacket) : 0;
    const len = b.length;
    while (pos + PCAP_RECORD_HEADER_LENGTH <= len) {
      const caplen = this.u32(b, pos + 8);
      this.checkCaplen(caplen);
      const start = pos + PCAP_RECORD_HEADER_LENGTH;
      if (start + caplen > len) {
        // The body goes on in the next push: copy what is here into a Buffer of the packet's own.
        b.copy(this.rec, 0, pos, start);
        this.recBytes = PCAP_RECORD_HEADER_LENGTH;
        this.body = Buffer.allocUnsafe(caplen);
        this.bodyBytes = b.copy(this.body, 0, start, len);
        return;
      }
      this.emit(b, pos, b.subarray(start, start + caplen), onPacket);
      pos = start + caplen;
    }
    if (pos < len) this.recBytes = b.copy(this.rec, 0, pos, len);
  }

  /** Completes the packet split across pushes from the front of `b`; returns where `b`'s own records start. */
  private finishSplit(b: Buffer, onPacket: (p: CapturedPacket) => void): number {
    let pos = 0;
    if (!this.body) {
      const k = Math.min(PCAP_RECORD_HEADER_LENGTH - this.recBytes, b.length);
      b.copy(this.rec, this.recBytes, 0, k);
      this.recBytes += k;
      pos = k;
      if (this.recBytes < PCAP_RECORD_HEADER_LENGTH) return b.length;
      const caplen = this.u32(this.rec, 8);
      this.checkCaplen(caplen);
      this.body = Buffer.allocUnsafe(caplen);
      this.bodyBytes = 0;
    }
    const k = Math.min(this.body.length - this.bodyBytes, b.length - pos);
    b.copy(this.body, this.bodyBytes, pos, pos + k);
    this.bodyBytes += k;
    pos += k;
    if (this.bodyBytes < this.body.length) return b.length;
    const body = this.body;
    this.body = null;
    this.recBytes = 0;
    this.emit(this.rec, 0, body, onPacket);
    return pos;
  }

  private u32(b: Buffer, o: number): number {
    return this.le ? b.readUInt32LE(o) : b.readUInt32BE(o);
  }

  /** Checked before any byte of the body is buffered: a 4 GB caplen must not become an allocation. */
  private checkCaplen(caplen: number): void {
    if (caplen > MAX_CAPLEN) {
      throw new CaptureError('CAPTURE_CAPLEN', `packet ${this.frame + 1}: captured length ${caplen} exceeds limit ${MAX_CAPLEN}`, {
        frame: this.frame + 1,
        capturedLength: caplen,
        limit: MAX_CAPLEN,
      });
    }
  }

  /** One packet from its record header at h[o..o+16) (ts_sec, ts_usec or ts_nsec, caplen, len) and its body. */
  private emit(h: Buffer, o: number, data: Buffer, onPacket: (p: CapturedPacket) => void): void {
    const hdr = this.header!;
    const frac = this.u32(h, o + 4);
    onPacket({
      frame: ++this.frame,
      linktype: hdr.linktype,
      tsSec: this.u32(h, o),
      tsNsec: hdr.nanosecond ? frac : frac * 1000,
      data,
      origLen: this.u32(h, o + 12),
    });
  }

  end(): TrailingData | null {
    if (this.failed) return null;
    if (!this.header) {
      throw new CaptureError('CAPTURE_SHORT_HEADER', `file ends after ${this.headBytes} bytes, inside the ${PCAP_HEADER_LENGTH}-byte pcap header`, { bytes: this.headBytes });
    }
    if (this.body) return { bytes: this.recBytes + this.bodyBytes, frame: this.frame + 1, cut: 'body', expected: this.body.length };
    if (this.recBytes > 0) return { bytes: this.recBytes, frame: this.frame + 1, cut: 'header' };
    return null;
  }
}
