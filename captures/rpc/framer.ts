// RPC record marking (RFC 5531 §11) over a captured TCP stream that may have holes. A variant of
// xdr/record.ts RecordDecoder that also tracks which frames each record came from and survives gaps:
// a hole inside a fragment body keeps the framing (the record is marked damaged); a hole anywhere else drops
// the record in progress and resynchronises on the next plausible record header.
//
// Ownership: a fragment lying in one pushed chunk is handed out as a view of it; a fragment spanning chunks is
// copied, as its bytes arrive, into a Buffer allocated once its length is known (and checked against
// maxRecord), so no capture chunk stays referenced while a large record trickles in. Records handed to
// onRecord belong to the receiver; the framer never touches them again.
import { ChunkQueue, type Taken } from '../bytes';
import { StreamSink } from '../tcp/direction';
import { LAST_FRAGMENT, MAX_FRAGMENT_LENGTH } from '../../xdr/record';

/** Bytes a plausibility check may look at: the 4-byte mark plus the call header up to the procedure number. */
export const LOOKAHEAD = 28;

export interface FramedRecord extends Taken {
  /** some bytes inside the record were not captured (filled with zeros) */
  damaged: boolean;
  /** stream offset of the record mark */
  streamOffset: number;
}

export type FramerEvent =
  | { type: 'resync'; skipped: number; frame: number; streamOffset: number }
  | { type: 'lost'; bytes: number; frame: number; streamOffset: number }
  | { type: 'off'; frame: number };

export interface FramerOptions {
  maxRecord: number;
  /** Is there a plausible first-fragment record mark + RPC header at buf[off..off+LOOKAHEAD)? */
  plausible(buf: Buffer, off: number): boolean;
  /** start aligned on a record mark (the stream began with a SYN) */
  aligned: boolean;
  /** give up (stop looking at the stream) when nothing plausible was found in this many bytes; Infinity = never */
  searchBudget: number;
  onRecord(r: FramedRecord): void;
  onEvent(e: FramerEvent): void;
}

export class RpcFramer implements StreamSink {
  private q = new ChunkQueue();
  private mode: 'sync' | 'resync' | 'off';
  /** length of the fragment being read, -1 while reading a record mark */
  private fragLen = -1;
  private lastFrag = false;
  private atRecordStart = true;
  /** fragment being filled (spanning chunks) and how much of it is filled */
  private fill: Buffer | null = null;
  private filled = 0;
  private frags: Buffer[] = [];
  private recBytes = 0;
  private damaged = false;
  private recOffset = 0;
  private recFrame = 0;
  private recTs = 0;
  private lastFrame = 0;
  private lastTs = 0;
  private pieces = 0;
  /** stream offset of the first queued byte */
  private offset = 0;
  private skippedSinceSync = 0;
  private everSynced = false;
  records = 0;

  constructor(private readonly o: FramerOptions) {
    this.mode = o.aligned ? 'sync' : 'resync';
  }

  get active(): boolean {
    return this.mode !== 'off';
  }

  data(buf: Buffer, frame: number, ts: number): void {
    if (this.mode === 'off') return;
    this.q.push(buf, frame, ts);
    this.pump();
  }

  gap(bytes: number, frame: number, ts: number): void {
    if (this.mode === 'off') return;
    if (this.mode === 'sync' && this.fragLen >= 0 && this.q.length + bytes <= this.fragLen - this.filled) {
      // The hole lies inside the current fragment body: the framing survives, the record is damaged.
      this.damaged = true;
      this.q.push(Buffer.alloc(bytes), frame, ts);
      this.pump();
      return;
    }
    const inProgress = this.recBytes + this.filled + this.q.length + (this.fragLen >= 0 ? 4 : 0);
    if (this.mode === 'sync' && inProgress > 0) this.o.onEvent({ type: 'lost', bytes: inProgress, frame, streamOffset: this.recOffset });
    this.offset += this.q.length + bytes;
    this.q.clear();
    this.resetRecord();
    this.mode = 'resync';
    this.skippedSinceSync = 0;
  }

  private resetRecord(): void {
    this.fragLen = -1;
    this.fill = null;
    this.filled = 0;
    this.frags = [];
    this.recBytes = 0;
    this.pieces = 0;
    this.damaged = false;
    this.atRecordStart = true;
  }

  private skip(n: number): void {
    this.q.skip(n);
    this.offset += n;
    this.skippedSinceSync += n;
  }

  private desync(frame: number): void {
    if (!this.everSynced && this.o.searchBudget !== Infinity && this.o.aligned) {
      this.off(frame);
      return;
    }
    this.resetRecord();
    this.mode = 'resync';
    this.skippedSinceSync = 0;
  }

  private off(frame: number): void {
    this.mode = 'off';
    this.q.clear();
    this.o.onEvent({ type: 'off', frame });
  }

  /** Skips bytes until a plausible record mark is at the front; false when more bytes are needed. */
  private scan(): boolean {
    while (this.q.length >= LOOKAHEAD) {
      if (!this.everSynced && this.skippedSinceSync > this.o.searchBudget) {
        this.off(this.q.frontFrame);
        return false;
      }
      const front = this.q.front!;
      if (front.length >= LOOKAHEAD) {
        const lim = front.length - LOOKAHEAD;
        for (let i = 0; i <= lim; i++) {
          if (this.o.plausible(front, i)) {
            this.skip(i);
            return true;
          }
        }
        this.skip(lim + 1);
      } else {
        if (this.o.plausible(this.q.peek(LOOKAHEAD), 0)) return true;
        this.skip(1);
      }
    }
    return false;
  }

  private pump(): void {
    for (;;) {
      if (this.mode === 'off') return;
      if (this.mode === 'resync') {
        const frame = this.q.frontFrame;
        if (!this.scan()) return;
        this.mode = 'sync';
        if (this.skippedSinceSync > 0 || this.everSynced) this.o.onEvent({ type: 'resync', skipped: this.skippedSinceSync, frame, streamOffset: this.offset });
        this.atRecordStart = true;
      }
      if (this.fragLen < 0) {
        const need = this.atRecordStart ? LOOKAHEAD : 4;
        if (this.q.length < need) return;
        const word = this.q.u32At(0);
        const len = word & MAX_FRAGMENT_LENGTH;
        // Checked before anything is allocated for the fragment.
        if (this.atRecordStart ? !this.o.plausible(this.q.peek(LOOKAHEAD), 0) : this.recBytes + len > this.o.maxRecord) {
          const frame = this.q.frontFrame;
          if (this.recBytes) this.o.onEvent({ type: 'lost', bytes: this.recBytes, frame, streamOffset: this.recOffset });
          this.desync(frame);
          continue;
        }
        if (this.atRecordStart) {
          this.recOffset = this.offset;
          this.recFrame = this.q.frontFrame;
          this.recTs = this.q.frontTs;
        }
        this.everSynced = true;
        // RFC 5531 §11: top bit = last fragment, low 31 bits = fragment length.
        this.lastFrag = (word & LAST_FRAGMENT) !== 0;
        this.fragLen = len;
        this.q.skip(4);
        this.offset += 4;
        this.atRecordStart = false;
        const front = this.q.front;
        if (!(front && front.length >= len) && len > 0) {
          this.fill = Buffer.allocUnsafe(len);
          this.filled = 0;
        }
      }
      if (this.fill) {
        const k = Math.min(this.q.length, this.fragLen - this.filled);
        if (k > 0) {
          const t = this.q.copyOut(this.fill, this.filled, k);
          this.filled += k;
          this.offset += k;
          this.pieces += t.pieces;
          this.lastFrame = t.lastFrame;
          this.lastTs = t.lastTs;
        }
        if (this.filled < this.fragLen) return;
        this.frags.push(this.fill);
        this.fill = null;
        this.filled = 0;
      } else {
        // The whole fragment is in the front chunk: a view, no copy.
        this.lastFrame = this.q.frontFrame;
        this.lastTs = this.q.frontTs;
        this.pieces++;
        this.frags.push(this.fragLen ? this.q.take(this.fragLen).data : Buffer.alloc(0));
        this.offset += this.fragLen;
      }
      this.recBytes += this.fragLen;
      this.fragLen = -1;
      if (this.lastFrag) this.emit();
    }
  }

  private emit(): void {
    const data = this.frags.length === 1 ? this.frags[0] : Buffer.concat(this.frags, this.recBytes);
    const rec: FramedRecord = {
      data,
      firstFrame: this.recFrame,
      lastFrame: this.lastFrame,
      firstTs: this.recTs,
      lastTs: this.lastTs,
      pieces: this.pieces,
      damaged: this.damaged,
      streamOffset: this.recOffset,
    };
    this.resetRecord();
    this.records++;
    this.o.onRecord(rec);
  }
}
