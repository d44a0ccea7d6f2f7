// One direction of a TCP connection (RFC 9293 §3.4 sequence numbers), sans-IO: segments in capture order in,
// the byte stream out to a sink in sequence order. Out-of-order segments wait in a bounded queue;
// retransmitted bytes keep the first copy, and an overlap whose bytes differ is reported; missing bytes
// become a gap once the peer acknowledges past them, the queue overflows, or the stream ends.
//
// Memory: out-of-order segments are copied (a view would pin its whole capture chunk) and declared to the
// shared RetainBudget, which may make the direction give up waiting (a gap) when all streams together hold too
// much; delivered segments stay in a history for comparison with retransmissions, at most HISTORY_BYTES per
// direction and only while they lie within the last HISTORY_WINDOW bytes of capture input (HistoryWindow), so
// the capture chunks they reference are bounded across all directions.
//
// Ownership: the bytes of delivered segments stay referenced (history: their buffer, offset and length) and are
// never written to.
import { RetainBudget, type Retainer } from '../budget';
import { toFront } from '../bytes';

export interface StreamSink {
  data(buf: Buffer, frame: number, ts: number): void;
  /** `bytes` of the stream were not captured */
  gap(bytes: number, frame: number, ts: number): void;
  /** the stream ended (FIN, RST, end of capture): what is unfinished stays so */
  end?(frame: number, ts: number): void;
}

export interface OverlapDiff {
  frame: number;
  originalFrame: number;
  /** offset in the stream (0 = first byte after the SYN, or first byte seen) */
  streamOffset: number;
  length: number;
  differingBytes: number;
}

interface Seg {
  s: number; // stream offset
  data: Buffer;
  cut: number; // bytes after data missing from the capture (snaplen)
  frame: number;
  ts: number;
}

/** Bytes of delivered data kept per direction to compare retransmissions against. */
export const HISTORY_BYTES = 1024 * 1024;
/** Capture input bytes within which delivered segments are remembered at all (bounds the chunks they pin). */
export const HISTORY_WINDOW = 32 * 1024 * 1024;

const NO_BYTES = new ArrayBuffer(0);

/**
 * Delivered segments of every direction in input order; those older than HISTORY_WINDOW input bytes are forgotten.
 * Kept as parallel arrays of numbers and references to existing objects, not one record and view per segment:
 * records that live for 32 MiB of input survive every young-generation collection and are copied into the old
 * one (issue 20, the 221 MB bench capture under contention: inspect with no history at all used 18% less CPU on
 * its main thread; this form of the history saved 5% of it against records and views, in paired rounds).
 */
export class HistoryWindow {
  private dirs: TcpDirection[] = [];
  /** the direction's sequence number of the remembered segment (TcpDirection.forget) */
  private seqs: number[] = [];
  private at: number[] = [];
  private head = 0;
  /** entries [head, end) are held; the arrays' slots from `end` on are stale */
  private end = 0;
  /** capture input bytes read so far */
  pos = 0;

  constructor(readonly window = HISTORY_WINDOW) {}

  add(dir: TcpDirection, seq: number): void {
    const i = this.end++;
    this.dirs[i] = dir;
    this.seqs[i] = seq;
    this.at[i] = this.pos;
  }

  /**
   * Input position of the oldest segment the window has not yet forgotten (Infinity: none held): every segment
   * remembered at a position below it is forgotten (captures/source.ts ChunkRecycler reuses their read chunks).
   */
  oldestHeld(): number {
    return this.head < this.end ? this.at[this.head] : Infinity;
  }

  advance(pos: number): void {
    this.pos = pos;
    const limit = pos - this.window;
    while (this.head < this.end && this.at[this.head] < limit) {
      const dir = this.dirs[this.head];
      this.dirs[this.head] = undefined as unknown as TcpDirection;
      dir.forget(this.seqs[this.head]);
      this.head++;
    }
    if (this.head > 4096 && this.head * 2 > this.end) {
      toFront([this.dirs, this.seqs, this.at], this.head, this.end);
      this.end -= this.head;
      // The stale slots must not keep directions (and through them their capture chunks) alive.
      this.dirs.fill(undefined as unknown as TcpDirection, this.end, this.end + this.head);
      this.head = 0;
    }
  }
}
/** Out-of-order bytes held before the missing bytes are declared lost. */
export const MAX_OOO_BYTES = 16 * 1024 * 1024;
export const MAX_OOO_SEGMENTS = 16384;

export class TcpDirection implements Retainer {
  /** sequence number of stream offset 0 */
  private base = -1;
  /** next stream offset expected */
  next = 0;
  /** started at a SYN (a clean record boundary) */
  cleanStart = false;
  isn = -1;
  private ooo: Seg[] = [];
  private oooBytes = 0;
  // Delivered segments kept for comparison (see HistoryWindow for why as parallel arrays): stream offset, frame,
  // and where the bytes lie (the capture chunk's buffer, offset, length; length 0 once forgotten). Entry i has
  // sequence number histBase + i; the oldest still held is at histHead.
  private histS: number[] = [];
  private histFrame: number[] = [];
  private histBuf: ArrayBufferLike[] = [];
  private histOff: number[] = [];
  private histLen: number[] = [];
  private histHead = 0;
  /** entries [histHead, histEnd) are held; the arrays' slots from histEnd on are stale (toFront) */
  private histEnd = 0;
  private histBase = 0;
  private histBytes = 0;
  bytes = 0;
  segments = 0;
  retransmittedBytes = 0;
  gapBytes = 0;
  keepAlives = 0;
  /** retransmitted bytes whose first copy had left the history (not compared) */
  uncomparedBytes = 0;
  ended = false;
  /** bytes declared to the budget (out-of-order queue) */
  retained = 0;

  constructor(
    public sink: StreamSink | null,
    private readonly onDiff: (d: OverlapDiff) => void,
    private readonly budget: RetainBudget = new RetainBudget(Infinity),
    private readonly history?: HistoryWindow,
  ) {}

  get started(): boolean {
    return this.base >= 0;
  }

  /** RFC 9293 §3.4: the SYN occupies one sequence number; data starts at ISN + 1. */
  syn(isn: number): void {
    if (this.base >= 0) return;
    this.isn = isn;
    this.base = (isn + 1) >>> 0;
    this.cleanStart = true;
  }

  /** Stream offset of sequence number seq, taken as the nearest to `next` modulo 2^32. */
  rel(seq: number): number {
    const seqOfNext = (this.base + this.next) % 0x100000000;
    return this.next + ((seq - seqOfNext) | 0);
  }

  segment(seq: number, data: Buffer, wireLen: number, frame: number, ts: number): void {
    if (wireLen === 0 || this.ended) return;
    this.segments++;
    if (this.base < 0) this.base = seq >>> 0;
    const s = this.rel(seq);
    // A keep-alive probe re-sends the byte before snd.nxt, often with a garbage byte: not a retransmission.
    if (wireLen === 1 && s === this.next - 1 && this.ooo.length === 0) {
      this.keepAlives++;
      return;
    }
    const seg: Seg = { s, data, cut: wireLen - data.length, frame, ts };
    if (s + data.length <= this.next) {
      this.retransmittedBytes += data.length;
      this.compareHistory(seg);
      return;
    }
    if (s < this.next) {
      const k = this.next - s;
      this.retransmittedBytes += k;
      this.compareHistory({ ...seg, data: data.subarray(0, k), cut: 0 });
      seg.s = this.next;
      seg.data = data.subarray(k);
    }
    if (seg.s === this.next && this.ooo.length === 0) {
      this.deliver(seg);
      return;
    }
    this.enqueue(seg);
    this.drain();
    if (this.oooBytes > MAX_OOO_BYTES || this.ooo.length > MAX_OOO_SEGMENTS) this.gapTo(this.ooo[0].s, frame, ts);
    this.declare();
  }

  /** Retainer: stop waiting for the first missing bytes (they become a gap) and deliver what follows them. */
  shed(): void {
    if (this.ooo.length) {
      const q = this.ooo[0];
      this.gapTo(q.s, q.frame, q.ts);
    }
    this.declare();
  }

  private declare(): void {
    if (this.oooBytes !== this.retained) this.budget.set(this, this.oooBytes);
  }

  /** HistoryWindow: the delivered segment with this sequence number is too old to keep. */
  forget(seq: number): void {
    const i = seq - this.histBase;
    // Below histBase: dropped from the arrays, which happens only after it was forgotten.
    if (i < 0 || this.histLen[i] === 0) return;
    this.histBytes -= this.histLen[i];
    this.histLen[i] = 0;
    // Its capture chunk must not stay referenced.
    this.histBuf[i] = NO_BYTES;
  }

  /** The peer acknowledged up to `ack`: bytes before it that we hold no copy of were lost by the capture. */
  acked(ack: number, frame: number, ts: number): void {
    if (this.base < 0 || this.ooo.length === 0) return;
    const a = this.rel(ack);
    if (a <= this.next || a - this.next > 0x40000000) return;
    // Every hole below the acknowledged byte is a gap, not only the first.
    while (this.ooo.length && this.next < a) this.gapTo(Math.min(a, this.ooo[0].s), frame, ts);
    this.declare();
  }

  /** End of stream (FIN/RST/end of capture): whatever is queued is delivered with gaps. */
  finish(frame: number, ts: number): void {
    if (this.ended) return;
    while (this.ooo.length) this.gapTo(this.ooo[0].s, frame, ts);
    this.ended = true;
    this.sink?.end?.(frame, ts);
    this.declare();
  }

  private gapTo(target: number, frame: number, ts: number): void {
    if (target > this.next) {
      const n = target - this.next;
      this.gapBytes += n;
      this.next = target;
      this.sink?.gap(n, frame, ts);
    }
    this.drain();
  }

  private deliver(seg: Seg): void {
    this.next = seg.s + seg.data.length;
    this.bytes += seg.data.length;
    if (seg.data.length) {
      this.sink?.data(seg.data, seg.frame, seg.ts);
      this.remember(seg);
    }
    if (seg.cut > 0) {
      this.next += seg.cut;
      this.gapBytes += seg.cut;
      this.sink?.gap(seg.cut, seg.frame, seg.ts);
    }
  }

  private drain(): void {
    while (this.ooo.length && this.ooo[0].s <= this.next) {
      const q = this.ooo.shift()!;
      this.oooBytes -= q.data.length;
      if (q.s < this.next) {
        const k = Math.min(this.next - q.s, q.data.length);
        this.compareHistory({ ...q, data: q.data.subarray(0, k), cut: 0 });
        if (k === q.data.length && q.cut === 0) continue;
        q.data = q.data.subarray(k);
        q.s = this.next;
        if (q.data.length === 0 && q.cut === 0) continue;
      }
      this.deliver(q);
    }
  }

  /** Inserts in stream order; bytes already queued keep their first copy (and are compared). */
  private enqueue(seg: Seg): void {
    const e = seg.s + seg.data.length;
    const tail = this.ooo[this.ooo.length - 1];
    if (tail && seg.s >= tail.s + tail.data.length && (tail.cut === 0 || seg.s > tail.s + tail.data.length)) {
      // Beyond everything queued (the usual case while a hole waits): no overlap to compare, append.
      this.ooo.push({ ...seg, data: Buffer.from(seg.data) });
      this.oooBytes += seg.data.length;
      return;
    }
    let cur = seg.s;
    const pieces: Seg[] = [];
    for (const q of this.ooo) {
      const qe = q.s + q.data.length;
      if (qe <= cur) continue;
      if (q.s >= e) break;
      if (q.s > cur) pieces.push({ ...seg, s: cur, data: seg.data.subarray(cur - seg.s, q.s - seg.s), cut: 0 });
      const os = Math.max(cur, q.s);
      const oe = Math.min(e, qe);
      if (oe > os) this.compare(seg.data.subarray(os - seg.s, oe - seg.s), q.data.subarray(os - q.s, oe - q.s), os, seg.frame, q.frame);
      cur = Math.max(cur, qe);
      if (cur >= e) break;
    }
    if (cur < e) pieces.push({ ...seg, s: cur, data: seg.data.subarray(cur - seg.s), cut: seg.cut });
    else if (seg.cut > 0 && pieces.length) pieces[pieces.length - 1].cut = 0;
    for (const p of pieces) {
      // A view would keep its whole capture chunk alive while the segment waits.
      p.data = Buffer.from(p.data);
      let i = this.ooo.length;
      while (i > 0 && this.ooo[i - 1].s > p.s) i--;
      this.ooo.splice(i, 0, p);
      this.oooBytes += p.data.length;
    }
  }

  private remember(seg: Seg): void {
    const d = seg.data;
    const i = this.histEnd++;
    const seq = this.histBase + i;
    this.histS[i] = seg.s;
    this.histFrame[i] = seg.frame;
    this.histBuf[i] = d.buffer;
    this.histOff[i] = d.byteOffset;
    this.histLen[i] = d.length;
    this.history?.add(this, seq);
    this.histBytes += d.length;
    while (this.histHead < this.histEnd - 1 && this.histBytes - this.histLen[this.histHead] >= HISTORY_BYTES) {
      // Dropped entries must not keep their capture chunk alive (nor through the HistoryWindow).
      this.forget(this.histBase + this.histHead);
      this.histHead++;
    }
    // Entries the HistoryWindow forgot (length 0) are never compared again (compareHistory stops at the first):
    // drop them too, or a direction carrying less than HISTORY_BYTES per window would keep one entry per segment
    // for the connection's whole life.
    while (this.histHead < this.histEnd && this.histLen[this.histHead] === 0) this.histHead++;
    if (this.histHead > 4096) {
      const h = this.histHead;
      toFront([this.histS, this.histFrame, this.histBuf, this.histOff, this.histLen], h, this.histEnd);
      this.histEnd -= h;
      // Stale slots must not keep capture chunks alive.
      this.histBuf.fill(NO_BYTES, this.histEnd, this.histEnd + h);
      this.histBase += h;
      this.histHead = 0;
    }
  }

  /** Compares retransmitted bytes with the delivered copy still in history. */
  private compareHistory(seg: Seg): void {
    const e = seg.s + seg.data.length;
    let compared = 0;
    for (let i = this.histEnd - 1; i >= this.histHead; i--) {
      const len = this.histLen[i];
      if (len === 0) break; // forgotten (HistoryWindow): everything before it is too
      const hs = this.histS[i];
      const he = hs + len;
      if (he <= seg.s) break;
      if (hs >= e) continue;
      const os = Math.max(seg.s, hs);
      const oe = Math.min(e, he);
      compared += oe - os;
      const h = Buffer.from(this.histBuf[i], this.histOff[i] + (os - hs), oe - os);
      this.compare(seg.data.subarray(os - seg.s, oe - seg.s), h, os, seg.frame, this.histFrame[i]);
    }
    this.uncomparedBytes += seg.data.length - compared;
  }

  private compare(a: Buffer, b: Buffer, streamOffset: number, frame: number, originalFrame: number): void {
    if (a.equals(b)) return;
    let n = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
    this.onDiff({ frame, originalFrame, streamOffset, length: a.length, differingBytes: n });
  }
}
