// One direction of a TCP connection (RFC 9293 §3.4 sequence numbers), sans-IO: segments in capture order in,
// the byte stream out to a sink in sequence order. Out-of-order segments wait in a bounded queue;
// retransmitted bytes keep the first copy, and an overlap whose bytes differ is reported; missing bytes
// become a gap once the peer acknowledges past them, the queue overflows, or the stream ends.
//
// Ownership: segment data views are kept (queue, history) and never written to.

export interface StreamSink {
  data(buf: Buffer, frame: number, ts: number): void;
  /** `bytes` of the stream were not captured */
  gap(bytes: number, frame: number, ts: number): void;
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

/** Bytes of delivered data kept to compare retransmissions against. */
export const HISTORY_BYTES = 1024 * 1024;
/** Out-of-order bytes held before the missing bytes are declared lost. */
export const MAX_OOO_BYTES = 16 * 1024 * 1024;
export const MAX_OOO_SEGMENTS = 16384;

export class TcpDirection {
  /** sequence number of stream offset 0 */
  private base = -1;
  /** next stream offset expected */
  next = 0;
  /** started at a SYN (a clean record boundary) */
  cleanStart = false;
  isn = -1;
  private ooo: Seg[] = [];
  private oooBytes = 0;
  private hist: Seg[] = [];
  private histHead = 0;
  private histBytes = 0;
  bytes = 0;
  segments = 0;
  retransmittedBytes = 0;
  gapBytes = 0;
  keepAlives = 0;
  ended = false;

  constructor(
    public sink: StreamSink | null,
    private readonly onDiff: (d: OverlapDiff) => void,
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
  }

  /** The peer acknowledged up to `ack`: bytes before it that we hold no copy of were lost by the capture. */
  acked(ack: number, frame: number, ts: number): void {
    if (this.base < 0 || this.ooo.length === 0) return;
    const a = this.rel(ack);
    if (a <= this.next || a - this.next > 0x40000000) return;
    this.gapTo(Math.min(a, this.ooo[0].s), frame, ts);
  }

  /** End of stream (FIN/RST/end of capture): whatever is queued is delivered with gaps. */
  finish(frame: number, ts: number): void {
    while (this.ooo.length) this.gapTo(this.ooo[0].s, frame, ts);
    this.ended = true;
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
      let i = this.ooo.length;
      while (i > 0 && this.ooo[i - 1].s > p.s) i--;
      this.ooo.splice(i, 0, p);
      this.oooBytes += p.data.length;
    }
  }

  private remember(seg: Seg): void {
    this.hist.push(seg);
    this.histBytes += seg.data.length;
    while (this.histHead < this.hist.length - 1 && this.histBytes - this.hist[this.histHead].data.length >= HISTORY_BYTES) {
      this.histBytes -= this.hist[this.histHead].data.length;
      // Dropped entries must not keep their capture chunk alive until the next compaction.
      this.hist[this.histHead] = undefined as unknown as Seg;
      this.histHead++;
    }
    if (this.histHead > 4096) {
      this.hist = this.hist.slice(this.histHead);
      this.histHead = 0;
    }
  }

  /** Compares retransmitted bytes with the delivered copy still in history. */
  private compareHistory(seg: Seg): void {
    const e = seg.s + seg.data.length;
    for (let i = this.hist.length - 1; i >= this.histHead; i--) {
      const h = this.hist[i];
      const he = h.s + h.data.length;
      if (he <= seg.s) break;
      if (h.s >= e) continue;
      const os = Math.max(seg.s, h.s);
      const oe = Math.min(e, he);
      this.compare(seg.data.subarray(os - seg.s, oe - seg.s), h.data.subarray(os - h.s, oe - h.s), os, seg.frame, h.frame);
    }
  }

  private compare(a: Buffer, b: Buffer, streamOffset: number, frame: number, originalFrame: number): void {
    if (a.equals(b)) return;
    let n = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
    this.onDiff({ frame, originalFrame, streamOffset, length: a.length, differingBytes: n });
  }
}
