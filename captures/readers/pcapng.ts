// pcapng streaming reader (draft-ietf-opsawg-pcapng): SHB in either byte order, IDB with per-interface link type
// and if_tsresol, EPB, SPB and the obsolete PB; unknown blocks are skipped. Sans-IO: push bytes, get packets.
//
// Ownership: packet data are views of the block, which is either a view of a pushed chunk or a Buffer this
// reader assembled; neither is written to afterwards.
import { CaptureError } from '../../core/errors';
import { ChunkQueue } from '../bytes';
import { CaptureReader, CapturedPacket, MAX_CAPLEN, TrailingData } from './packet';

export const PCAPNG_BLOCK = {
  SHB: 0x0a0d0d0a,
  IDB: 0x00000001,
  PB: 0x00000002, // obsolete Packet Block
  SPB: 0x00000003,
  EPB: 0x00000006,
} as const;
/** §4.1: the SHB's byte-order magic, written in the section's byte order */
export const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** §3.5 opt_comment (every block), §4.2 if_name / if_description and if_tsresol */
const OPT_COMMENT = 1;
const OPT_IF_NAME = 2;
const OPT_IF_DESCRIPTION = 3;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
/** Largest block accepted; checked from the block header before any bytes are buffered for it. */
export const MAX_BLOCK = MAX_CAPLEN + 4096;

interface Iface {
  linktype: number;
  snaplen: number;
  /** timestamp units per second */
  unitsPerSec: bigint;
  offsetSec: bigint;
  /** if_name, else if_description */
  name?: string;
}

export class PcapngReader implements CaptureReader {
  readonly format = 'pcapng' as const;
  private q = new ChunkQueue();
  private le = true;
  private sawShb = false;
  private ifaces: Iface[] = [];
  private frame = 0;
  private pendingLen = -1;
  private failed: CaptureError | null = null;
  /** opt_comment values of the section headers read so far (netem writes its time scale there) */
  readonly comments: string[] = [];

  push(chunk: Buffer, onPacket: (p: CapturedPacket) => void): void {
    if (this.failed) throw this.failed;
    this.q.push(chunk);
    try {
      for (;;) {
        if (this.q.length < 12) return;
        const head = this.q.peek(12);
        const type = head.readUInt32LE(0);
        if (type === PCAPNG_BLOCK.SHB) {
          // §4.1: the byte-order magic decides how to read everything in this section, this length included.
          const bom = head.readUInt32LE(8);
          if (bom === BYTE_ORDER_MAGIC) this.le = true;
          else if (head.readUInt32BE(8) === BYTE_ORDER_MAGIC) this.le = false;
          else throw new CaptureError('CAPTURE_MAGIC', `bad pcapng byte-order magic ${head.subarray(8, 12).toString('hex')}`);
          this.sawShb = true;
          this.ifaces = [];
        } else if (!this.sawShb) {
          throw new CaptureError('CAPTURE_MAGIC', `not a pcapng file (first block type ${head.subarray(0, 4).toString('hex')})`);
        }
        const len = this.le ? head.readUInt32LE(4) : head.readUInt32BE(4);
        if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK) {
          throw new CaptureError('CAPTURE_BLOCK', `pcapng block of type 0x${(this.le ? type : head.readUInt32BE(0)).toString(16)} has bad length ${len}`, { length: len, max: MAX_BLOCK });
        }
        this.pendingLen = len;
        if (this.q.length < len) return;
        const block = this.q.take(len).data;
        this.pendingLen = -1;
        this.block(block, onPacket);
      }
    } catch (err) {
      this.failed = err instanceof CaptureError ? err : new CaptureError('CAPTURE_PARSE', String((err as Error)?.message ?? err));
      throw this.failed;
    }
  }

  private u16(b: Buffer, o: number): number {
    return this.le ? b.readUInt16LE(o) : b.readUInt16BE(o);
  }
  private u32(b: Buffer, o: number): number {
    return this.le ? b.readUInt32LE(o) : b.readUInt32BE(o);
  }

  private block(b: Buffer, onPacket: (p: CapturedPacket) => void): void {
    const type = this.u32(b, 0);
    const len = b.length;
    if (this.u32(b, len - 4) !== len) throw new CaptureError('CAPTURE_BLOCK', `pcapng block trailing length ${this.u32(b, len - 4)} != ${len}`);
    switch (type) {
      case PCAPNG_BLOCK.SHB:
        // §4.1: byte-order magic, version, section length (8 bytes), then options.
        this.options(b, 24, len - 4, (code, v) => {
          if (code === OPT_COMMENT && this.comments.length < 64) this.comments.push(v.toString('utf8'));
        });
        return;
      case PCAPNG_BLOCK.IDB: {
        if (len < 20) throw new CaptureError('CAPTURE_BLOCK', `IDB too short (${len})`);
        const iface: Iface = { linktype: this.u16(b, 8), snaplen: this.u32(b, 12), unitsPerSec: 1000000n, offsetSec: 0n };
        this.options(b, 16, len - 4, (code, v) => {
          if (code === OPT_IF_TSRESOL && v.length >= 1) {
            // §4.2 if_tsresol: MSB clear = negative power of 10, set = negative power of 2.
            const r = v[0];
            iface.unitsPerSec = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
          } else if (code === OPT_IF_TSOFFSET && v.length >= 8) {
            iface.offsetSec = this.le ? v.readBigInt64LE(0) : v.readBigInt64BE(0);
          } else if (code === OPT_IF_NAME || (code === OPT_IF_DESCRIPTION && iface.name === undefined)) {
            iface.name = v.toString('utf8');
          }
        });
        this.ifaces.push(iface);
        return;
      }
      case PCAPNG_BLOCK.EPB:
      case PCAPNG_BLOCK.PB: {
        if (len < 32) throw new CaptureError('CAPTURE_BLOCK', `packet block too short (${len})`);
        const ifId = type === PCAPNG_BLOCK.EPB ? this.u32(b, 8) : this.u16(b, 8);
        const iface = this.iface(ifId);
        const caplen = this.u32(b, 20);
        const origLen = this.u32(b, 24);
        if (caplen > len - 32) throw new CaptureError('CAPTURE_CAPLEN', `packet ${this.frame + 1}: captured length ${caplen} exceeds its block (${len})`, { frame: this.frame + 1, capturedLength: caplen });
        const ts = (BigInt(this.u32(b, 12)) << 32n) | BigInt(this.u32(b, 16));
        this.emit(iface, ts, b.subarray(28, 28 + caplen), origLen, onPacket);
        return;
      }
      case PCAPNG_BLOCK.SPB: {
        // §4.4: no timestamp, no interface id (interface 0); captured length = min(original, snaplen, body).
        const iface = this.iface(0);
        const origLen = this.u32(b, 8);
        let caplen = Math.min(origLen, len - 16);
        if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
        this.emit(iface, -1n, b.subarray(12, 12 + caplen), origLen, onPacket);
        return;
      }
      default:
        return; // §3.1: unknown block types are skipped
    }
  }

  private iface(id: number): Iface {
    const f = this.ifaces[id];
    if (!f) throw new CaptureError('CAPTURE_INTERFACE', `packet refers to undeclared interface ${id}`, { interface: id });
    return f;
  }

  private emit(iface: Iface, ts: bigint, data: Buffer, origLen: number, onPacket: (p: CapturedPacket) => void): void {
    this.frame++;
    let tsSec = 0;
    let tsNsec = 0;
    if (ts >= 0n) {
      const sec = ts / iface.unitsPerSec;
      const frac = ts % iface.unitsPerSec;
      tsSec = Number(sec + iface.offsetSec);
      tsNsec = Number((frac * 1000000000n) / iface.unitsPerSec);
    }
    onPacket({ frame: this.frame, linktype: iface.linktype, tsSec, tsNsec, data, origLen, ...(iface.name !== undefined ? { ifName: iface.name } : {}) });
  }

  private options(b: Buffer, start: number, end: number, on: (code: number, value: Buffer) => void): void {
    let o = start;
    while (o + 4 <= end) {
      const code = this.u16(b, o);
      const l = this.u16(b, o + 2);
      if (code === 0) return; // opt_endofopt
      if (o + 4 + l > end) return;
      on(code, b.subarray(o + 4, o + 4 + l));
      o += 4 + ((l + 3) & ~3);
    }
  }

  end(): TrailingData | null {
    if (this.failed) return null;
    if (!this.sawShb && this.q.length > 0) {
      throw new CaptureError('CAPTURE_SHORT_HEADER', `file ends after ${this.q.length} bytes, inside the first pcapng block`, { bytes: this.q.length });
    }
    if (this.q.length === 0) return null;
    if (this.pendingLen >= 0) return { bytes: this.q.length, frame: this.frame + 1, cut: 'body', expected: this.pendingLen };
    return { bytes: this.q.length, frame: this.frame + 1, cut: 'header' };
  }
}
