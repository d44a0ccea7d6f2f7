// Classic libpcap files through the pcap-parser package, made sans-IO and completed with what it lacks:
// the nanosecond magic (a1b23c4d), a captured-length cap checked before buffering, and a report of a truncated
// trailing packet instead of silent loss. Format: https://www.tcpdump.org/manpages/pcap-savefile.5.html
//
// pcap-parser reads from a stream; we hand it an in-memory feed and emit each pushed chunk into it
// synchronously, so push(chunk, onPacket) returns only after every complete packet in the chunk was delivered.
// Ownership: packet views point into Buffers pcap-parser allocated; nobody writes to them afterwards.
import { EventEmitter } from 'node:events';
import * as pcapParser from 'pcap-parser';
import type { PcapPacket } from 'pcap-parser';
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

/** An in-memory stand-in for the readable stream pcap-parser expects. */
class Feed extends EventEmitter {
  pause(): void {}
  resume(): void {}
}

/**
 * Feeds pcap-parser whole packets only. pcap-parser concatenates every chunk onto its leftover buffer (a copy of
 * each byte); by cutting the input at packet boundaries ourselves and clearing its empty leftover, each chunk is
 * adopted as-is and only a packet split across two chunks is copied once. Cutting also lets us check each
 * captured length before a byte of that packet is buffered.
 */
export class PcapReader implements CaptureReader {
  readonly format = 'pcap' as const;
  header: PcapFileHeader | null = null;
  private head: Buffer[] = [];
  private headBytes = 0;
  private feed = new Feed();
  private parser: (EventEmitter & { buffer?: Buffer | null }) | null = null;
  private frame = 0;
  /** packets whose record header we have scanned (delivered or in the carry) */
  private scanned = 0;
  /** bytes of an incomplete packet carried to the next chunk */
  private carry: Buffer[] = [];
  private carryBytes = 0;
  /** total length (16 + caplen) of the carried packet once its header is known, else -1 */
  private carryNeed = -1;
  private failed: CaptureError | null = null;
  private deliver: ((p: CapturedPacket) => void) | null = null;

  push(chunk: Buffer, onPacket: (p: CapturedPacket) => void): void {
    if (this.failed) throw this.failed;
    if (chunk.length === 0) return;
    this.deliver = onPacket;
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
        this.start(all);
        return;
      }
      this.input(chunk);
    } catch (err) {
      this.failed = err instanceof CaptureError ? err : new CaptureError('CAPTURE_PARSE', String((err as Error)?.message ?? err));
      throw this.failed;
    } finally {
      this.deliver = null;
    }
  }

  private caplenAt(b: Buffer, o: number): number {
    const caplen = this.header!.littleEndian ? b.readUInt32LE(o + 8) : b.readUInt32BE(o + 8);
    // Checked before any byte of the body is buffered: a 4 GB caplen must not become an allocation.
    if (caplen > MAX_CAPLEN) {
      throw new CaptureError('CAPTURE_CAPLEN', `packet ${this.scanned + 1}: captured length ${caplen} exceeds limit ${MAX_CAPLEN}`, {
        frame: this.scanned + 1,
        capturedLength: caplen,
        limit: MAX_CAPLEN,
      });
    }
    return caplen;
  }

  /** Cuts `chunk` at packet boundaries and feeds whole packets; `prefix` is the file header on the first call. */
  private input(chunk: Buffer, prefix = 0): void {
    let o = prefix;
    if (this.carryBytes > 0) {
      // Complete the carried packet from the front of this chunk.
      if (this.carryNeed < 0) {
        const want = PCAP_RECORD_HEADER_LENGTH - this.carryBytes;
        if (chunk.length < want) return this.hold(chunk);
        const h = Buffer.concat([...this.carry, chunk.subarray(0, want)], PCAP_RECORD_HEADER_LENGTH);
        this.carryNeed = PCAP_RECORD_HEADER_LENGTH + this.caplenAt(h, 0);
      }
      const rest = this.carryNeed - this.carryBytes;
      if (chunk.length < rest) return this.hold(chunk);
      const whole = Buffer.concat([...this.carry, chunk.subarray(0, rest)], this.carryNeed);
      this.carry = [];
      this.carryBytes = 0;
      this.carryNeed = -1;
      this.give(whole);
      o = rest;
    }
    const start = prefix > 0 ? 0 : o;
    while (o + PCAP_RECORD_HEADER_LENGTH <= chunk.length) {
      const total = PCAP_RECORD_HEADER_LENGTH + this.caplenAt(chunk, o);
      this.scanned++;
      if (o + total > chunk.length) {
        this.carryNeed = total;
        break;
      }
      o += total;
    }
    if (o > start) this.give(chunk.subarray(start, o));
    if (o < chunk.length) this.hold(chunk.subarray(o));
  }

  private hold(b: Buffer): void {
    this.carry.push(b);
    this.carryBytes += b.length;
  }

  private give(b: Buffer): void {
    // pcap-parser's leftover is empty here (we only hand it whole packets); clearing it makes it adopt `b`
    // instead of copying it onto the empty leftover (lib/pcap-parser.js updateBuffer).
    const parser = this.parser!;
    if (parser.buffer && parser.buffer.length === 0) parser.buffer = null;
    this.feed.emit('data', b);
  }

  private start(all: Buffer): void {
    const h = this.header!;
    let first = all;
    if (h.nanosecond) {
      // pcap-parser knows only the microsecond magic; the record layout is identical, so we hand it that magic
      // and read its "microseconds" field as nanoseconds.
      first = Buffer.from(all);
      if (h.littleEndian) first.writeUInt32LE(PCAP_MAGIC.MICRO, 0);
      else first.writeUInt32BE(PCAP_MAGIC.MICRO, 0);
    }
    const parser = pcapParser.parse(this.feed);
    this.parser = parser;
    parser.on('error', (err: Error) => {
      throw new CaptureError('CAPTURE_PARSE', err.message);
    });
    parser.on('packet', (p: PcapPacket) => {
      this.frame++;
      const frac = p.header.timestampMicroseconds;
      this.deliver!({
        frame: this.frame,
        linktype: h.linktype,
        tsSec: p.header.timestampSeconds,
        tsNsec: h.nanosecond ? frac : frac * 1000,
        data: p.data,
        origLen: p.header.originalLength,
      });
    });
    this.input(first, PCAP_HEADER_LENGTH);
  }

  end(): TrailingData | null {
    if (this.failed) return null;
    if (!this.header) {
      throw new CaptureError('CAPTURE_SHORT_HEADER', `file ends after ${this.headBytes} bytes, inside the ${PCAP_HEADER_LENGTH}-byte pcap header`, { bytes: this.headBytes });
    }
    if (this.carryBytes === 0) return null;
    if (this.carryNeed >= 0) return { bytes: this.carryBytes, frame: this.frame + 1, cut: 'body', expected: this.carryNeed - PCAP_RECORD_HEADER_LENGTH };
    return { bytes: this.carryBytes, frame: this.frame + 1, cut: 'header' };
  }
}
