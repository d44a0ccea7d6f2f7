// Every RPC call seen in a capture, its replies, and the groups of calls that share client address, XID,
// program, version and procedure (RFC 5531 §9: the XID identifies a request; a retransmission reuses it,
// whatever connection it travels on). Sans-IO: the pipeline feeds decoded messages with their context.
import crypto from 'node:crypto';
import type { CallSummary, ReplySummary } from '../rpc/messages';
import { procName } from '../rpc/messages';

export interface MessageContext {
  file: number;
  transport: 'tcp' | 'udp';
  connection: string;
  connectionId: number;
  src: { addr: string; port: number };
  dst: { addr: string; port: number };
  firstFrame: number;
  lastFrame: number;
  firstTime: number;
  lastTime: number;
  /** packets that carried bytes of the message */
  pieces: number;
  damaged: boolean;
  streamOffset: number | null;
}

export interface ReplyRecord {
  file: number;
  frame: number;
  time: number;
  connection: string;
  connectionId: number;
  accepted: boolean;
  acceptStat: number | null;
  /** first word of the results for NFS calls (nfsstat3) */
  nfsStatus: number | null;
  bodySha1: string;
  /** index of the transmission this reply was paired with */
  answers: number;
}

export interface Transmission {
  /** order in which calls were decoded; identical between two passes over the same files */
  index: number;
  file: number;
  transport: 'tcp' | 'udp';
  connection: string;
  connectionId: number;
  client: string;
  clientPort: number;
  server: string;
  serverPort: number;
  xid: number;
  prog: number;
  vers: number;
  proc: number;
  procedure: string;
  firstFrame: number;
  lastFrame: number;
  firstTime: number;
  lastTime: number;
  pieces: number;
  damaged: boolean;
  streamOffset: number | null;
  /** sha1 of the WRITE data, or of the whole arguments for other procedures; null when damaged */
  payloadSha1: string | null;
  payloadLength: number;
  write?: { fh: string; offset: bigint; count: number; stable: number };
  replies: ReplyRecord[];
}

export interface LedgerOptions {
  /** copies of the payload bytes are kept for these transmission indexes (second pass) */
  keepPayload?: (index: number) => boolean;
  /** hash payloads (default true) */
  hash?: boolean;
}

const NFS_PROG = 100003;

/** crypto.hash (one-shot, Node >= 20.12) where available, else a Hash object. */
const oneShot = (crypto as unknown as { hash?: (alg: string, data: Buffer, enc: 'hex') => string }).hash;
export function sha1hex(b: Buffer): string {
  return oneShot ? oneShot('sha1', b, 'hex') : crypto.createHash('sha1').update(b).digest('hex');
}

export class Ledger {
  readonly transmissions: Transmission[] = [];
  readonly payloads = new Map<number, Buffer>();
  private byClientXid = new Map<string, Transmission[]>();
  private pending = new Map<number, Map<number, number>>();
  orphanReplies = 0;
  rpcReplies = 0;
  malformed = 0;
  private readonly hash: boolean;

  constructor(private readonly opts: LedgerOptions = {}) {
    this.hash = opts.hash ?? true;
  }

  /** Is a call with this XID waiting for its reply on this connection? (reply plausibility) */
  outstanding(connectionId: number, xid: number): boolean {
    return (this.pending.get(connectionId)?.get(xid) ?? 0) > 0;
  }

  closeConnection(connectionId: number): void {
    this.pending.delete(connectionId);
  }

  call(c: CallSummary, ctx: MessageContext): Transmission {
    const payload = c.write ? c.write.data : c.args;
    const t: Transmission = {
      index: this.transmissions.length,
      file: ctx.file,
      transport: ctx.transport,
      connection: ctx.connection,
      connectionId: ctx.connectionId,
      client: ctx.src.addr,
      clientPort: ctx.src.port,
      server: ctx.dst.addr,
      serverPort: ctx.dst.port,
      xid: c.xid,
      prog: c.prog,
      vers: c.vers,
      proc: c.proc,
      procedure: procName(c.prog, c.vers, c.proc),
      firstFrame: ctx.firstFrame,
      lastFrame: ctx.lastFrame,
      firstTime: ctx.firstTime,
      lastTime: ctx.lastTime,
      pieces: ctx.pieces,
      damaged: ctx.damaged,
      streamOffset: ctx.streamOffset,
      payloadSha1: ctx.damaged || !this.hash ? null : sha1hex(payload),
      payloadLength: payload.length,
      replies: [],
    };
    if (c.write) t.write = { fh: c.write.file.toString('hex'), offset: c.write.offset, count: c.write.count, stable: c.write.stable };
    this.transmissions.push(t);
    if (this.opts.keepPayload?.(t.index)) this.payloads.set(t.index, Buffer.from(payload));
    const k = `${t.client}|${t.xid}`;
    const list = this.byClientXid.get(k);
    if (list) list.push(t);
    else this.byClientXid.set(k, [t]);
    let p = this.pending.get(ctx.connectionId);
    if (!p) this.pending.set(ctx.connectionId, (p = new Map()));
    p.set(t.xid, (p.get(t.xid) ?? 0) + 1);
    return t;
  }

  /** Pairs a reply with the latest earlier transmission of its XID on the same connection, else from the same client. */
  reply(r: ReplySummary, ctx: MessageContext): Transmission | null {
    this.rpcReplies++;
    const list = this.byClientXid.get(`${ctx.dst.addr}|${r.xid}`);
    if (!list) {
      this.orphanReplies++;
      return null;
    }
    let t: Transmission | undefined;
    for (let i = list.length - 1; i >= 0 && !t; i--) if (list[i].connectionId === ctx.connectionId) t = list[i];
    t ??= list[list.length - 1];
    const p = this.pending.get(t.connectionId);
    if (p && (p.get(r.xid) ?? 0) > 0) p.set(r.xid, p.get(r.xid)! - 1);
    t.replies.push({
      file: ctx.file,
      frame: ctx.lastFrame,
      time: ctx.lastTime,
      connection: ctx.connection,
      connectionId: ctx.connectionId,
      accepted: r.accepted,
      acceptStat: r.acceptStat,
      nfsStatus: t.prog === NFS_PROG && r.accepted && r.acceptStat === 0 && r.body.length >= 4 ? r.body.readUInt32BE(0) : null,
      bodySha1: sha1hex(r.body),
      answers: t.index,
    });
    return t;
  }

  /** Calls grouped by client address, XID, program, version and procedure, in order of appearance. */
  groups(): Transmission[][] {
    const out = new Map<string, Transmission[]>();
    for (const t of this.transmissions) {
      const k = `${t.client}|${t.xid}|${t.prog}|${t.vers}|${t.proc}`;
      const g = out.get(k);
      if (g) g.push(t);
      else out.set(k, [t]);
    }
    return [...out.values()];
  }
}
