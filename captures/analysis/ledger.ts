// Every RPC call seen in a capture, its replies, and the groups of calls that share client address, XID,
// program, version and procedure (RFC 5531 §9: the XID identifies a request; a retransmission reuses it,
// whatever connection it travels on). Sans-IO: the pipeline feeds decoded messages with their context.
import crypto from 'node:crypto';
import { DEFAULT_PAYLOAD_HASH, payloadHash } from '../../core/payload-hash';
import type { CallSummary, ReplySummary } from '../rpc/messages';
import { procName } from '../rpc/messages';
import type { Leg, LegChoice } from './legs';

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

/** A reply whose call has not been seen (yet): the call's bytes may still be on their way through reassembly. */
interface EarlyReply {
  rec: Omit<ReplyRecord, 'answers' | 'nfsStatus'>;
  /** first word of the results, when the call turns out to be NFS */
  firstWord: number | null;
  clientAddr: string;
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
  /** the body's payload fingerprint (core/payload-hash.ts) and length, when its call's XID was seen before it */
  bodyFingerprint: string | null;
  bodyLength: number;
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
  /** payload bytes the capture lacks (damaged calls) */
  missingBytes: number;
  /** only xid, program, version and procedure are sure (a hole lies in the header or the WRITE arguments) */
  headerDamaged: boolean;
  /** the record's end was lost with its framing */
  truncated: boolean;
  /** the body was dropped to stay within the memory budget */
  capped: boolean;
  streamOffset: number | null;
  /**
   * xxh3 (core/payload-hash.ts DEFAULT_PAYLOAD_HASH) of the WRITE data, or of the whole arguments for other procedures; null when
   * damaged. What equality of payloads is judged by (duplicates, relay legs).
   */
  payloadFingerprint: string | null;
  /**
   * SHA-1 of the same bytes, what the report prints: computed for the transmissions that share client and XID
   * with another (every copy of a duplicated XID), or for all with LedgerOptions.hashAll; null otherwise and when
   * damaged.
   */
  payloadSha1: string | null;
  payloadLength: number;
  write?: { fh: string; offset: bigint; count: number; stable: number };
  replies: ReplyRecord[];
  /** relay leg of its connection (analysis/legs.ts), null when the connection is no relay leg */
  leg: Leg | null;
}

export interface LedgerOptions {
  /** copies of the payload bytes are kept for these transmission indexes (second pass) */
  keepPayload?: (index: number) => boolean;
  /** SHA-1 of every undamaged payload, not only of duplicated XIDs' (for callers that list all transmissions) */
  hashAll?: boolean;
}

const NFS_PROG = 100003;
/** Replies held while their call may still come; beyond this the oldest of the connection is settled. */
const MAX_EARLY = 100_000;

/** crypto.hash (one-shot, Node >= 20.12) where available, else a Hash object. */
const oneShot = (crypto as unknown as { hash?: (alg: string, data: Uint8Array, enc: 'hex') => string }).hash;
export function sha1hex(b: Uint8Array): string {
  return oneShot ? oneShot('sha1', b, 'hex') : crypto.createHash('sha1').update(b).digest('hex');
}

export class Ledger {
  readonly transmissions: Transmission[] = [];
  readonly payloads = new Map<number, Buffer>();
  private byClientXid = new Map<string, Transmission[]>();
  private pending = new Map<number, Map<number, number>>();
  /** replies read before their call, by connection and XID */
  private early = new Map<number, Map<number, EarlyReply[]>>();
  private earlyCount = 0;
  orphanReplies = 0;
  /** XIDs of replies whose call was never seen (the capture lost its header); first 1000 */
  orphanXids: Array<{ xid: number; connection: string; frame: number }> = [];
  rpcReplies = 0;
  malformed = 0;

  constructor(private readonly opts: LedgerOptions = {}) {}

  /** Is a call with this XID waiting for its reply on this connection? (reply plausibility) */
  outstanding(connectionId: number, xid: number): boolean {
    return (this.pending.get(connectionId)?.get(xid) ?? 0) > 0;
  }

  /** Both directions of a connection are finished: replies still without a call pair across connections or are orphans. */
  closeConnection(connectionId: number): void {
    this.pending.delete(connectionId);
    const e = this.early.get(connectionId);
    if (!e) return;
    this.early.delete(connectionId);
    for (const [xid, list] of e) this.settle(xid, list);
  }

  private settle(xid: number, list: EarlyReply[]): void {
    this.earlyCount -= list.length;
    for (const x of list) {
      const same = this.byClientXid.get(`${x.clientAddr}|${xid}`);
      if (same) this.attach(same[same.length - 1], x);
      else {
        this.orphanReplies++;
        if (this.orphanXids.length < 1000) this.orphanXids.push({ xid, connection: x.rec.connection, frame: x.rec.frame });
      }
    }
  }

  /** End of the capture: connections never closed (and UDP flows) settle their early replies. */
  finish(): void {
    for (const id of [...this.early.keys()]) this.closeConnection(id);
  }

  call(c: CallSummary, ctx: MessageContext): Transmission {
    const payload = c.write ? c.write.data : c.args;
    const damaged = ctx.damaged || c.damage !== undefined;
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
      damaged,
      missingBytes: c.damage?.missingBytes ?? 0,
      headerDamaged: c.damage?.headerDamaged ?? false,
      truncated: c.damage?.truncated ?? false,
      capped: c.damage?.capped ?? false,
      streamOffset: ctx.streamOffset,
      payloadFingerprint: null,
      payloadSha1: null,
      payloadLength: c.payloadLength,
      replies: [],
      leg: null,
    };
    if (!damaged) t.payloadFingerprint = payloadHash(DEFAULT_PAYLOAD_HASH, payload);
    if (c.write) t.write = { fh: c.write.file.toString('hex'), offset: c.write.offset, count: c.write.count, stable: c.write.stable };
    this.transmissions.push(t);
    const keep = !damaged && this.opts.keepPayload?.(t.index) === true;
    if (keep) this.payloads.set(t.index, Buffer.from(payload));
    const k = `${t.client}|${t.xid}`;
    const list = this.byClientXid.get(k);
    // SHA-1 (0.5 ms of CPU per MiB, issue 20) only where the report may print it: for every copy of an XID seen
    // before, now; for the copies before it, from this one's when their fingerprints match (the same bytes), else
    // by the second pass, which keeps the bytes of every group whose fingerprints differ (inspect.ts).
    // A copy equal to one already hashed (fingerprint and length) takes its SHA-1: a relay capture carries every
    // call twice and a retransmitted one four times or more, and the copies' equality is judged by the fingerprint
    // anyway (analysis/report.ts groupDiffers).
    if (!damaged && (list || this.opts.hashAll || keep)) {
      const same = list?.find((e) => e.payloadSha1 !== null && e.payloadFingerprint === t.payloadFingerprint && e.payloadLength === t.payloadLength);
      t.payloadSha1 = same?.payloadSha1 ?? sha1hex(payload);
      if (list) for (const e of list) if (e.payloadSha1 === null && e.payloadFingerprint === t.payloadFingerprint && e.payloadLength === t.payloadLength) e.payloadSha1 = t.payloadSha1;
    }
    if (list) list.push(t);
    else this.byClientXid.set(k, [t]);
    let p = this.pending.get(ctx.connectionId);
    if (!p) this.pending.set(ctx.connectionId, (p = new Map()));
    p.set(t.xid, (p.get(t.xid) ?? 0) + 1);
    const e = this.early.get(ctx.connectionId);
    const waiting = e?.get(t.xid);
    if (waiting) {
      e!.delete(t.xid);
      this.earlyCount -= waiting.length;
      for (const x of waiting) this.attach(t, x);
    }
    return t;
  }

  /**
   * Pairs a reply with the latest earlier transmission of its XID on the same connection. A reply whose call has
   * not been decoded waits: the call direction may still hold the call behind a capture gap (each direction is
   * reassembled on its own). At connection close a waiting reply pairs with the latest transmission of its XID
   * from the same client on any connection, else it is an orphan (the capture lost the call's header).
   */
  reply(r: ReplySummary, ctx: MessageContext): void {
    this.rpcReplies++;
    const list = this.byClientXid.get(`${ctx.dst.addr}|${r.xid}`);
    const body = this.replySha1(list, r.body);
    const x: EarlyReply = {
      rec: {
        file: ctx.file,
        frame: ctx.lastFrame,
        time: ctx.lastTime,
        connection: ctx.connection,
        connectionId: ctx.connectionId,
        accepted: r.accepted,
        acceptStat: r.acceptStat,
        ...body,
        bodyLength: r.body.length,
      },
      firstWord: r.accepted && r.acceptStat === 0 && r.body.length >= 4 && !r.damage?.headerDamaged ? r.body.readUInt32BE(0) : null,
      clientAddr: ctx.dst.addr,
    };
    let t: Transmission | undefined;
    if (list) for (let i = list.length - 1; i >= 0 && !t; i--) if (list[i].connectionId === ctx.connectionId) t = list[i];
    if (t) return this.attach(t, x);
    let e = this.early.get(ctx.connectionId);
    if (!e) this.early.set(ctx.connectionId, (e = new Map()));
    const w = e.get(r.xid);
    if (w) w.push(x);
    else e.set(r.xid, [x]);
    if (++this.earlyCount > MAX_EARLY) {
      const [oldest, l] = e.entries().next().value as [number, EarlyReply[]];
      e.delete(oldest);
      this.settle(oldest, l);
    }
  }

  /**
   * A reply body's SHA-1, reused from an equal body (fingerprint and length) already seen for the same client and
   * XID: a relay capture carries every reply twice, a READ's with its data (0.5 ms of SHA-1 per MiB against 0.1
   * for the fingerprint, issue 20). A reply to an XID not seen before is hashed at once.
   */
  private replySha1(list: readonly Transmission[] | undefined, body: Buffer): { bodySha1: string; bodyFingerprint: string | null } {
    if (!list) return { bodySha1: sha1hex(body), bodyFingerprint: null };
    const fp = payloadHash(DEFAULT_PAYLOAD_HASH, body);
    for (const t of list) for (const r of t.replies) if (r.bodyFingerprint === fp && r.bodyLength === body.length) return { bodySha1: r.bodySha1, bodyFingerprint: fp };
    return { bodySha1: sha1hex(body), bodyFingerprint: fp };
  }

  private attach(t: Transmission, x: EarlyReply): void {
    const p = this.pending.get(t.connectionId);
    if (p && (p.get(t.xid) ?? 0) > 0) p.set(t.xid, p.get(t.xid)! - 1);
    t.replies.push({ ...x.rec, nfsStatus: t.prog === NFS_PROG ? x.firstWord : null, answers: t.index });
  }

  /**
   * Calls grouped by client address, XID, program, version and procedure, in order of appearance, counting the
   * transmissions of one relay leg (plus connections that are no leg) or, with 'all', each leg separately.
   */
  groups(choice: LegChoice = 'all'): Transmission[][] {
    const out = new Map<string, Transmission[]>();
    for (const t of this.transmissions) {
      if (choice !== 'all' && t.leg !== null && t.leg !== choice) continue;
      const k = `${t.leg}|${t.client}|${t.xid}|${t.prog}|${t.vers}|${t.proc}`;
      const g = out.get(k);
      if (g) g.push(t);
      else out.set(k, [t]);
    }
    return [...out.values()];
  }
}
