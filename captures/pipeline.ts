// Packets in, RPC transmissions out: link layer, IP (with fragment reassembly), TCP reassembly with record
// marking, UDP datagrams, and the ledger of calls and replies. Sans-IO: file adapters push packets.
import { XdrError } from '../core/errors';
import { CapturedPacket, TrailingData, timeOf } from './readers/packet';
import { decodeLink } from './decode/link';
import { IpDecoder, IPPROTO, IpPayload } from './decode/ip';
import { decodeTcp, decodeUdp, UdpDatagram } from './decode/transport';
import { TcpTracker, TcpConnection, connectionLabel, hostPort } from './tcp/connections';
import { OverlapDiff } from './tcp/direction';
import { RpcFramer, FramedRecord, FramerEvent } from './rpc/framer';
import { plausibleRecord, plausibleCallHeader, plausibleReplyHeader, PROG } from './rpc/plausible';
import { summarize, summarizeDamaged, MessageSummary } from './rpc/messages';
import { RetainBudget, DEFAULT_MAX_BUFFERED } from './budget';
import { Ledger, LedgerOptions, MessageContext } from './analysis/ledger';
import { DEFAULT_MAX_RECORD } from '../xdr/record';
import { detectLegs, type Leg, type LegMap } from './analysis/legs';
import { BufferPool } from '../core/buffer-pool';
import type { ChunkRecycler } from './source';

export interface PipelineOptions extends LedgerOptions {
  /** server ports whose streams are RPC even when their first bytes are not seen (default 2049 and 111) */
  ports?: number[];
  maxRecord?: number;
  /** bytes all streams together may hold in unfinished records and out-of-order segments (budget.ts) */
  maxBuffered?: number;
}

export interface StreamFinding {
  kind: 'gap-resync' | 'record-lost' | 'malformed-message' | 'memory-capped';
  file: number;
  connection: string;
  frame: number;
  streamOffset?: number;
  bytes?: number;
  code?: string;
}

export interface TcpDiffFinding extends OverlapDiff {
  file: number;
  connection: string;
  direction: string;
}

export interface FileStats {
  file: number;
  path: string;
  format: string;
  compression: string | null;
  packets: number;
  trailing: TrailingData | null;
  /**
   * Packets the capture tool says it lost: tcpdump's "dropped by kernel" (its ring buffer was full), as netem's event
   * log beside the file recorded it (`--capture-with tcpdump`). null when no such count is known; netem's own capture
   * loses none (a capture that cannot keep up slows the relay).
   */
  captureDrops: number | null;
}

export const DEFAULT_PORTS = [2049, 111];
const MAX_FINDINGS = 1000;

export class Pipeline {
  readonly ledger: Ledger;
  readonly ip = new IpDecoder();
  readonly tcp: TcpTracker;
  readonly knownPorts: Set<number>;
  readonly detectedPorts = new Set<number>();
  readonly maxRecord: number;
  packets = 0;
  bytes = 0;
  nonIp = 0;
  /** frames cut by the snaplen */
  truncatedPackets = 0;
  rpcConnections = new Set<string>();
  findings: StreamFinding[] = [];
  findingCounts = { 'gap-resync': 0, 'record-lost': 0, 'malformed-message': 0, 'memory-capped': 0 };
  readonly budget: RetainBudget;
  /** slabs the framers assemble records in; record() keeps nothing of a record's bytes past its return */
  private readonly recordSlabs = new BufferPool({ granule: 64 * 1024, maxIdleBytes: 16 * 1024 * 1024 });
  /** TCP connections known to carry RPC: a server port, or a call was decoded on them */
  private rpcConnIds = new Set<number>();
  /** legs named by the capture's interfaces (pcapng if_name written by netem), by connection id */
  private namedLegs = new Map<number, Leg>();
  private ifName: string | undefined;
  /** relay legs, known after finish() */
  legs: LegMap = { byConnection: new Map(), pairs: [], named: false };
  /** first MAX_FINDINGS retransmitted segments whose bytes differ from the first copy, and their count */
  tcpDiffs: TcpDiffFinding[] = [];
  tcpDiffCount = 0;
  private udpFlows = new Map<string, { id: number; label: string }>();
  private nextUdpId = 1_000_000_000;
  private getports = new Map<string, number>();
  file = 0;
  private lastFrame = 0;
  private lastTs = 0;
  /** timestamp of the first packet (epoch seconds), null before any */
  firstTs: number | null = null;
  /**
   * Read chunks handed back to captures/source.ts: what the pipeline keeps of a packet past packet() is a copy
   * (out-of-order segments, IP fragments, framed records, kept payloads), except the TCP history's views, which
   * the HistoryWindow forgets in input order; a chunk is free once it forgot everything taken in before the mark.
   */
  readonly recycler: ChunkRecycler = { mark: () => this.bytes, free: (m) => this.tcp.history.oldestHeld() > m };

  constructor(opts: PipelineOptions = {}) {
    this.ledger = new Ledger(opts);
    this.knownPorts = new Set(opts.ports ?? DEFAULT_PORTS);
    this.maxRecord = opts.maxRecord ?? DEFAULT_MAX_RECORD;
    this.budget = new RetainBudget(opts.maxBuffered ?? DEFAULT_MAX_BUFFERED);
    this.tcp = new TcpTracker({
      open: (c, dir) => this.openStream(c, dir),
      isServerPort: (port) => this.knownPorts.has(port),
      close: (c) => {
        this.ledger.closeConnection(c.id);
        this.rpcConnIds.delete(c.id);
      },
      overlapDiff: (c, dir, d) => {
        this.tcpDiffCount++;
        if (this.tcpDiffs.length < MAX_FINDINGS) this.tcpDiffs.push({ ...d, file: this.file, connection: connectionLabel(c), direction: `${hostPort(c.ends[dir])} -> ${hostPort(c.ends[1 - dir])}` });
      },
    }, this.budget);
  }

  startFile(index: number): void {
    this.file = index;
  }

  packet(p: CapturedPacket): void {
    this.packets++;
    this.bytes += p.data.length;
    const cut = p.origLen > p.data.length ? p.origLen - p.data.length : 0;
    if (cut) this.truncatedPackets++;
    const ts = timeOf(p);
    if (this.firstTs === null) this.firstTs = ts;
    this.lastFrame = p.frame;
    this.lastTs = ts;
    this.tcp.history.advance(this.bytes);
    this.ifName = p.ifName;
    const link = decodeLink(p.linktype, p.data);
    if (!link) {
      this.nonIp++;
      return;
    }
    const ip = this.ip.decode(p.data, link.offset, link.ipVersion, p.frame, cut);
    if (!ip) return;
    if (ip.proto === IPPROTO.TCP) {
      const seg = decodeTcp(ip);
      if (seg) this.tcp.segment(seg, p.frame, ts);
    } else if (ip.proto === IPPROTO.UDP) {
      const u = decodeUdp(ip);
      if (u) this.udp(u, ip, p.frame, ts);
    }
  }

  /** End of capture: open connections are flushed (queued segments delivered with gaps). */
  finish(): void {
    this.tcp.finish(this.lastFrame, this.lastTs);
    this.ip.finish();
    this.ledger.finish();
    this.legs = detectLegs(this.ledger.transmissions, this.namedLegs);
    for (const t of this.ledger.transmissions) t.leg = this.legs.byConnection.get(t.connectionId) ?? null;
  }

  private isKnown(a: number, b: number): boolean {
    return this.knownPorts.has(a) || this.knownPorts.has(b);
  }

  private openStream(c: TcpConnection, dir: 0 | 1): RpcFramer {
    const label = connectionLabel(c);
    const src = c.ends[dir];
    const dst = c.ends[1 - dir];
    const known = this.isKnown(c.ends[0].port, c.ends[1].port);
    if (known) this.rpcConnIds.add(c.id);
    const named = this.ifName === undefined ? null : /client leg/i.test(this.ifName) ? 'client' : /server leg/i.test(this.ifName) ? 'server' : null;
    if (named) this.namedLegs.set(c.id, named);
    const d = c.dirs[dir];
    // A reply is expected for an outstanding call, or on any connection known to carry RPC: its call may be
    // behind a gap in the other direction, or lost with it (each direction is read on its own).
    const expected = (xid: number) => this.rpcConnIds.has(c.id) || this.ledger.outstanding(c.id, xid);
    return new RpcFramer({
      maxRecord: this.maxRecord,
      aligned: d.cleanStart,
      searchBudget: known ? Infinity : this.maxRecord + 65536,
      budget: this.budget,
      pool: this.recordSlabs,
      plausible: (b, o) => plausibleRecord(b, o, this.maxRecord, expected),
      onRecord: (r) => this.record(r, label, c.id, src, dst),
      onEvent: (e) => this.framerEvent(e, label),
    });
  }

  private context(r: FramedRecord, connection: string, connectionId: number, src: { addr: string; port: number }, dst: { addr: string; port: number }): MessageContext {
    return {
      file: this.file,
      transport: 'tcp',
      connection,
      connectionId,
      src,
      dst,
      firstFrame: r.firstFrame,
      lastFrame: r.lastFrame,
      firstTime: r.firstTs,
      lastTime: r.lastTs,
      pieces: r.pieces,
      damaged: r.damaged,
      streamOffset: r.streamOffset,
    };
  }

  /** A record lent by its framer (FramerOptions.pool): everything kept of it is copied (hashes, Ledger.payloads). */
  private record(r: FramedRecord, connection: string, connectionId: number, src: { addr: string; port: number }, dst: { addr: string; port: number }): void {
    const ctx = this.context(r, connection, connectionId, src, dst);
    if (r.capped) this.finding({ kind: 'memory-capped', file: this.file, connection, frame: r.firstFrame, streamOffset: r.streamOffset, bytes: r.length });
    if (!r.damaged) return this.message(r.data, ctx);
    this.decoded(summarizeDamaged(r.data, r.length, r.holes, r.truncated, r.capped), ctx);
  }

  private framerEvent(e: FramerEvent, connection: string): void {
    if (e.type === 'off') return;
    const kind = e.type === 'resync' ? 'gap-resync' : 'record-lost';
    this.finding({ kind, file: this.file, connection, frame: e.frame, streamOffset: e.streamOffset, bytes: e.type === 'resync' ? e.skipped : e.bytes });
  }

  private finding(f: StreamFinding): void {
    this.findingCounts[f.kind]++;
    if (this.findings.length < MAX_FINDINGS) this.findings.push(f);
  }

  private message(rec: Buffer, ctx: MessageContext): void {
    let m: MessageSummary;
    try {
      m = summarize(rec);
    } catch (err) {
      this.ledger.malformed++;
      this.finding({ kind: 'malformed-message', file: this.file, connection: ctx.connection, frame: ctx.firstFrame, code: err instanceof XdrError ? err.code : 'UNKNOWN' });
      return;
    }
    this.decoded(m, ctx);
  }

  private decoded(m: MessageSummary, ctx: MessageContext): void {
    this.rpcConnections.add(ctx.connection);
    if (m.kind === 'call') {
      if (ctx.transport === 'tcp') this.rpcConnIds.add(ctx.connectionId);
      this.ledger.call(m, ctx);
      if (m.getport) this.getports.set(`${ctx.connectionId}|${m.xid}`, m.getport.prog);
    } else {
      this.ledger.reply(m, ctx);
      const k = `${ctx.connectionId}|${m.xid}`;
      const prog = this.getports.get(k);
      if (prog !== undefined) {
        this.getports.delete(k);
        // RFC 1833 §3.2 PMAPPROC_GETPORT returns the port (0 = unregistered): learn NFS and MOUNT ports.
        if ((prog === PROG.NFS || prog === PROG.MOUNT) && m.accepted && !m.damage && m.body.length >= 4) {
          const port = m.body.readUInt32BE(0);
          if (port > 0 && port < 65536) {
            if (!this.knownPorts.has(port)) this.detectedPorts.add(port);
            this.knownPorts.add(port);
          }
        }
      }
    }
  }

  private udp(u: UdpDatagram, ip: IpPayload, frame: number, ts: number): void {
    const d = u.data;
    if (d.length < 24) return;
    // RFC 5531 over UDP: one datagram, one message. A call must look like one; a reply must answer a call
    // we saw on the same flow.
    const isCall = plausibleCallHeader(d, 0);
    let flow: { id: number; label: string } | undefined;
    if (!isCall) {
      flow = this.udpFlows.get(`${u.dst}|${u.dport}|${u.src}|${u.sport}`);
      if (!flow || !plausibleReplyHeader(d, 0, (xid) => this.ledger.outstanding(flow!.id, xid))) return;
    }
    const src = { addr: u.src, port: u.sport };
    const dst = { addr: u.dst, port: u.dport };
    if (isCall) {
      const key = `${u.src}|${u.sport}|${u.dst}|${u.dport}`;
      flow = this.udpFlows.get(key);
      if (!flow) this.udpFlows.set(key, (flow = { id: this.nextUdpId++, label: `udp ${hostPort(src)} -> ${hostPort(dst)}` }));
    }
    const cut = d.length < u.wireLen;
    this.message(d, {
      file: this.file,
      transport: 'udp',
      connection: flow!.label,
      connectionId: flow!.id,
      src,
      dst,
      firstFrame: ip.firstFrame,
      lastFrame: frame,
      firstTime: ts,
      lastTime: ts,
      pieces: 1,
      damaged: cut,
      streamOffset: null,
    });
  }
}
