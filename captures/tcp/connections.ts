// TCP connections keyed by their 4-tuple plus a generation: a new SYN on a 4-tuple that already carried data
// starts a new generation (NFS clients reconnect from the same port). Closed connections are dropped, so memory
// is bounded by the connections open at once.
import { TCP_FLAG, TcpSegment } from '../decode/transport';
import { HistoryWindow, OverlapDiff, StreamSink, TcpDirection } from './direction';
import { RetainBudget } from '../budget';

export interface Endpoint {
  addr: string;
  port: number;
}

export interface TcpConnection {
  id: number;
  /** 1 for the first connection on this 4-tuple, +1 per new SYN */
  generation: number;
  /** [0] = side that sent the first SYN (or the first packet seen) */
  ends: [Endpoint, Endpoint];
  dirs: [TcpDirection, TcpDirection];
  /** true when ends[0] was seen sending the SYN */
  synSeen: boolean;
  firstFrame: number;
  closed: [boolean, boolean];
  reset: boolean;
}

export interface ConnectionEvents {
  /** Called once per direction when it carries its first byte; returns the sink for its stream (null = ignore). */
  open(conn: TcpConnection, dir: 0 | 1): StreamSink | null;
  close(conn: TcpConnection): void;
  overlapDiff(conn: TcpConnection, dir: 0 | 1, d: OverlapDiff): void;
  /** Is this a server port? Decides which end is the client when the handshake was not captured. */
  isServerPort?(port: number): boolean;
}

export function connectionLabel(c: TcpConnection): string {
  const [a, b] = c.ends;
  return `tcp ${hostPort(a)} -> ${hostPort(b)}${c.generation > 1 ? ` #${c.generation}` : ''}`;
}

export function hostPort(e: Endpoint): string {
  return e.addr.includes(':') ? `[${e.addr}]:${e.port}` : `${e.addr}:${e.port}`;
}

export class TcpTracker {
  private conns = new Map<string, TcpConnection>();
  private generations = new Map<string, number>();
  /** 4-tuples closed recently: their last ACKs and stray retransmissions must not open a connection */
  private closedKeys = new Set<string>();
  private nextId = 1;
  connectionsSeen = 0;
  /** bytes carried by connections, by the server end's port */
  readonly serverPortBytes = new Map<number, number>();
  /** retransmitted bytes of closed connections that were not compared */
  private uncompared = 0;

  /** delivered segments kept for retransmission comparison, across all connections */
  readonly history = new HistoryWindow();
  /**
   * Each 4-tuple's key by source, destination (the decoder's interned address strings) and port pair: the key is
   * built and hashed once, not per packet (a template string per packet was a tenth of the tracker's time).
   */
  private keys = new Map<string, Map<string, Map<number, string>>>();
  private keyCount = 0;

  constructor(
    private readonly ev: ConnectionEvents,
    private readonly budget: RetainBudget = new RetainBudget(Infinity),
  ) {}

  private keyOf(seg: TcpSegment): string {
    let bySrc = this.keys.get(seg.src);
    if (!bySrc) this.keys.set(seg.src, (bySrc = new Map()));
    let byDst = bySrc.get(seg.dst);
    if (!byDst) bySrc.set(seg.dst, (byDst = new Map()));
    const ports = seg.sport * 65536 + seg.dport;
    let key = byDst.get(ports);
    if (key === undefined) {
      const fwd = seg.src < seg.dst || (seg.src === seg.dst && seg.sport <= seg.dport);
      key = fwd ? `${seg.src}|${seg.sport}|${seg.dst}|${seg.dport}` : `${seg.dst}|${seg.dport}|${seg.src}|${seg.sport}`;
      // Bounded like the address names: a capture of many short connections starts over now and then.
      if (++this.keyCount > 65536) {
        this.keys = new Map();
        this.keyCount = 0;
      }
      byDst.set(ports, key);
    }
    return key;
  }

  segment(seg: TcpSegment, frame: number, ts: number): void {
    const key = this.keyOf(seg);
    let c = this.conns.get(key);
    const syn = (seg.flags & TCP_FLAG.SYN) !== 0;
    const ackFlag = (seg.flags & TCP_FLAG.ACK) !== 0;
    if (c && syn && !ackFlag) {
      const d = c.dirs[this.dirOf(c, seg)];
      // A SYN with a new ISN on a 4-tuple that was used: the client reconnected from the same port.
      const reused = d.isn !== seg.seq || c.dirs[0].bytes + c.dirs[1].bytes > 0 || c.reset || c.closed[0] || c.closed[1];
      if (reused) {
        this.close(c, key, frame, ts);
        c = undefined;
      }
    }
    if (!c) {
      if (seg.flags & TCP_FLAG.RST) return;
      if (!syn && this.closedKeys.has(key)) return;
      const gen = (this.generations.get(key) ?? 0) + 1;
      this.generations.set(key, gen);
      // The SYN sender is the client; SYN-ACK's receiver is the client; otherwise the side not on a server
      // port, else the first sender.
      const senderIsClient = syn ? !ackFlag : !(this.ev.isServerPort?.(seg.sport) && !this.ev.isServerPort?.(seg.dport));
      const sender = { addr: seg.src, port: seg.sport };
      const receiver = { addr: seg.dst, port: seg.dport };
      const ends: [Endpoint, Endpoint] = senderIsClient ? [sender, receiver] : [receiver, sender];
      const dirs = [0, 1].map((i) => new TcpDirection(null, (diff) => this.ev.overlapDiff(conn, i as 0 | 1, diff), this.budget, this.history)) as [TcpDirection, TcpDirection];
      const conn: TcpConnection = { id: this.nextId++, generation: gen, ends, dirs, synSeen: syn && !ackFlag, firstFrame: frame, closed: [false, false], reset: false };
      c = conn;
      this.conns.set(key, c);
      this.closedKeys.delete(key);
      this.connectionsSeen++;
    }
    const di = this.dirOf(c, seg);
    const dir = c.dirs[di];
    if (syn) dir.syn(seg.seq);
    // The acknowledgement first: the sender had received those bytes before it sent this segment's data, so a
    // call whose missing bytes it acknowledges is complete (with its gap) before the reply in this data is read.
    if (ackFlag) c.dirs[1 - di].acked(seg.ack, frame, ts);
    if (seg.wireLen > 0) {
      const sp = c.ends[1].port;
      if (this.serverPortBytes.size < 4096 || this.serverPortBytes.has(sp)) this.serverPortBytes.set(sp, (this.serverPortBytes.get(sp) ?? 0) + seg.wireLen);
      if (!dir.started || (dir.sink === null && dir.bytes === 0 && dir.segments === 0)) dir.sink = this.ev.open(c, di);
      // Data in a SYN segment (TFO) starts after the SYN's sequence number.
      dir.segment(syn ? (seg.seq + 1) >>> 0 : seg.seq, seg.data, seg.wireLen, frame, ts);
    }
    if (seg.flags & TCP_FLAG.FIN) {
      c.closed[di] = true;
      dir.finish(frame, ts);
    }
    if (seg.flags & TCP_FLAG.RST) c.reset = true;
    if (c.reset || (c.closed[0] && c.closed[1])) this.close(c, key, frame, ts);
  }

  private dirOf(c: TcpConnection, seg: TcpSegment): 0 | 1 {
    return c.ends[0].addr === seg.src && c.ends[0].port === seg.sport ? 0 : 1;
  }

  private close(c: TcpConnection, key: string, frame: number, ts: number): void {
    c.dirs[0].finish(frame, ts);
    c.dirs[1].finish(frame, ts);
    this.conns.delete(key);
    this.closedKeys.add(key);
    this.uncompared += c.dirs[0].uncomparedBytes + c.dirs[1].uncomparedBytes;
    if (this.closedKeys.size > 65536) this.closedKeys.delete(this.closedKeys.values().next().value as string);
    this.ev.close(c);
  }

  /** End of capture: every connection still open is finished. */
  finish(frame: number, ts: number): void {
    for (const [key, c] of [...this.conns]) this.close(c, key, frame, ts);
  }

  uncomparedBytes(): number {
    let n = this.uncompared;
    for (const c of this.conns.values()) n += c.dirs[0].uncomparedBytes + c.dirs[1].uncomparedBytes;
    return n;
  }

  get open(): number {
    return this.conns.size;
  }
}
