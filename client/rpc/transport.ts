// ONC RPC over TCP client transport (RFC 5531) modelled on Linux's xprt: one connection, XIDs, a pending-call
// table, a transmit queue, Linux timeout semantics, reconnect-and-replay, and a replaceable retransmit policy
// (client/policies/) that decides what a transmission references, what a reply cancels and when a call completes.
//
// Buffer ownership (the subject of the whole testbed):
// - call(codec, args, { borrowed }) lends the transport every Buffer in `borrowed` (e.g. a WRITE payload) from the
//   call until the returned promise settles ("complete"). The transport may send them by reference (policy
//   `borrow`) or copy them when a transmission is queued (policy `copy`).
// - A transmission is handed to the socket with socket.write() (cork/uncork, header and payload by reference:
//   no copy). Node keeps a reference to each Buffer until the kernel has copied its bytes; the write callback of
//   the record's last byte marks the transmission "on the wire" (transmit-done).
// - LATE TRANSMISSION: a transmission whose payload is borrowed caller memory and whose transmit-done fires after
//   the call completed. Its bytes were (at least partly) copied by the kernel from a Buffer the caller already
//   owned again, so whatever the caller wrote there since then is what went out. The transport counts these
//   itself (stats.lateTransmissions, per XID in stats.perXid) and publishes `late-transmit`.
//   Transmissions whose socket died before transmit-done are counted as failedTransmissions, never as late.
//
// Lifecycle events on CHANNELS.rpcCall ({event, xid, proc, t, scale, transport, transportId, policy, ...}):
// init, encode, queued (first transmission), transmit-start (handed to the socket), transmit-done (last byte
// handed to the kernel), transmit-failed, timeout (kind minor|major), retransmit-queued (timeout or reconnect),
// reply (matched), finishing (a started duplicate that cancel-on-reply must finish), cancelled (removed from the
// queue), complete (promise settled: the caller owns its Buffers again), late-transmit, released (nothing of this
// XID is left in the queue or the socket). Timers run from the moment a call is queued, in modelled time.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { channel, CHANNELS } from '../../core/channels';
import { RpcError } from '../../core/errors';
import { silentLogger, type Logger } from '../../core/log';
import { TimeScale } from '../../core/units';
import { decodeReply, encodeCall } from '../../xdr/message';
import type { ProcCodec } from '../../xdr/procedure';
import { enumName } from '../../xdr/reader';
import { RecordDecoder, encodeRecord, gatherLength } from '../../xdr/record';
import { ACCEPT_STAT, AUTH_NONE, AUTH_STAT, REJECT_STAT, encodeAuthSys, peekXid, type OpaqueAuth, type RpcReply } from '../../xdr/rpc';
import { POLICIES, type PayloadSource, type PolicyName, type RetransmitPolicy, type TransmissionKind } from '../policies';
import { CallTimeout, DEFAULT_TIMEOUT, checkTimeout, type TimeoutConfig } from './timeout';
import { XidSource, hexXid } from './xid';

export interface TransportOptions {
  host: string;
  port: number;
  /** retransmit policy (default zero-copy, the 2008 behaviour) */
  policy?: RetransmitPolicy | PolicyName;
  /** modelled ms; default 60 s */
  timeo?: number;
  /** default 2 */
  retrans?: number;
  /** backoff cap, modelled ms; default 600 s */
  maxTimeout?: number;
  /** soft: a major timeout fails the call with RpcError RPC_TIMEOUT; hard (default): log and keep trying */
  soft?: boolean;
  /** every modelled duration (timeo, backoff, reconnect delays) is multiplied by this */
  timeScale?: TimeScale | number;
  /** XID start; same seed, same XIDs */
  seed?: number;
  /** credential for every call; default AUTH_SYS uid 0 gid 0 machinename "nfs-testbed" */
  cred?: OpaqueAuth;
  /** label in trace events and log lines (e.g. "nfs", "mount") */
  label?: string;
  logger?: Logger;
  /** reconnect and replay in-flight calls after a lost connection (default true) */
  reconnect?: boolean;
  /** largest reply record accepted */
  maxRecordSize?: number;
}

/** Per-XID counters (kept in stats.perXid only for XIDs where something beyond one send and one reply happened). */
export interface CallStats {
  xid: number;
  proc: string;
  transmissions: number;
  retransmissions: number;
  replays: number;
  timeoutsMinor: number;
  timeoutsMajor: number;
  duplicatesCancelled: number;
  duplicatesFinished: number;
  lateTransmissions: number;
}

export interface TransportStats {
  calls: number;
  completed: number;
  /** transmissions handed to the socket, all kinds */
  transmissions: number;
  /** retransmissions after a timeout handed to the socket */
  retransmissions: number;
  /** in-flight calls re-sent on a new connection */
  replays: number;
  /** retransmissions queued (some may be cancelled before they start) */
  retransmitsQueued: number;
  /** queued duplicates removed on the reply (cancel-on-reply) */
  duplicatesCancelled: number;
  /** duplicates already handed to the socket when the reply came, finished to keep the stream intact */
  duplicatesFinished: number;
  /** borrowed-payload transmissions whose last byte reached the kernel after the call completed */
  lateTransmissions: number;
  lateBytes: number;
  /** payload copies made on a policy's request */
  copies: number;
  copiedBytes: number;
  timeoutsMinor: number;
  timeoutsMajor: number;
  reconnects: number;
  /** replies matching no pending call (answers to duplicates, normally) */
  unmatchedReplies: number;
  failedTransmissions: number;
  bytesSent: number;
  perXid: Map<number, CallStats>;
}

export interface CallOptions {
  /** caller Buffers the message references; lent to the transport until the call completes */
  borrowed?: readonly Buffer[];
}

export interface CallInfo<R> {
  res: R;
  xid: number;
  stats: CallStats;
}

type TState = 'queued' | 'writing' | 'done' | 'failed' | 'cancelled';

interface Transmission {
  call: Call;
  kind: TransmissionKind;
  attempt: number;
  source: PayloadSource;
  state: TState;
  conn: number;
  bytes: number;
}

interface Call {
  xid: number;
  name: string;
  codec: ProcCodec<any, any>;
  /** record-marked gather list; parts at `borrowedIdx` are caller memory */
  parts: Buffer[];
  borrowedIdx: number[];
  borrowedBytes: number;
  copyParts?: Buffer[];
  timeout: CallTimeout;
  timer?: NodeJS.Timeout;
  live: Transmission[];
  queued: number;
  writing: number;
  attempts: number;
  settled: boolean;
  completed: boolean;
  released: boolean;
  completedAt: number;
  outcome?: { ok: true; res: unknown } | { ok: false; err: Error };
  resolve(v: CallInfo<unknown>): void;
  reject(e: Error): void;
  stats: CallStats;
}

const rpcCallChannel = channel(CHANNELS.rpcCall);
let transportIds = 0;

const DEFAULT_CRED = encodeAuthSys({ stamp: 0, machinename: 'nfs-testbed', uid: 0, gid: 0, gids: [] });
/** Linux xs_tcp: first reconnect delay 3 s, doubling to 300 s (XS_TCP_INIT_REEST_TO / XS_TCP_MAX_REEST_TO). */
const RECONNECT_INITIAL = 3_000;
const RECONNECT_MAX = 300_000;

function overlaps(a: Buffer, b: Buffer): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.length && b.byteOffset < a.byteOffset + a.length;
}

export class RpcTransport {
  readonly host: string;
  readonly port: number;
  readonly policy: RetransmitPolicy;
  readonly scale: TimeScale;
  readonly soft: boolean;
  readonly label: string;
  readonly id = ++transportIds;
  readonly stats: TransportStats = {
    calls: 0, completed: 0, transmissions: 0, retransmissions: 0, replays: 0, retransmitsQueued: 0,
    duplicatesCancelled: 0, duplicatesFinished: 0, lateTransmissions: 0, lateBytes: 0, copies: 0, copiedBytes: 0,
    timeoutsMinor: 0, timeoutsMajor: 0, reconnects: 0, unmatchedReplies: 0, failedTransmissions: 0, bytesSent: 0,
    perXid: new Map(),
  };
  private readonly timeouts: TimeoutConfig;
  private readonly cred: OpaqueAuth;
  private readonly logger: Logger;
  private readonly xids: XidSource;
  private readonly reconnectEnabled: boolean;
  private readonly maxRecordSize?: number;
  private readonly pending = new Map<number, Call>();
  private queue: Transmission[] = [];
  private socket?: net.Socket;
  private connected = false;
  private needDrain = false;
  private connId = 0;
  private closing = false;
  private reconnectTimer?: NodeJS.Timeout;
  private reconnectDelay = 0;
  private everConnected = false;
  private notResponding = false;
  private idleWaiters: Array<() => void> = [];
  /** calls not yet released: they may still have transmissions in the queue or in the socket */
  private readonly unreleased = new Set<Call>();

  constructor(opts: TransportOptions) {
    this.host = opts.host;
    this.port = opts.port;
    this.policy = typeof opts.policy === 'string' ? POLICIES[opts.policy] : (opts.policy ?? POLICIES['zero-copy']);
    if (!this.policy) throw new RpcError('RPC_BAD_POLICY', `unknown policy ${String(opts.policy)}`);
    this.scale = opts.timeScale instanceof TimeScale ? opts.timeScale : new TimeScale(opts.timeScale ?? 1);
    this.timeouts = checkTimeout({
      timeo: opts.timeo ?? DEFAULT_TIMEOUT.timeo,
      retrans: opts.retrans ?? DEFAULT_TIMEOUT.retrans,
      max: opts.maxTimeout ?? Math.max(DEFAULT_TIMEOUT.max, opts.timeo ?? 0),
    });
    this.soft = opts.soft ?? false;
    this.cred = opts.cred ?? DEFAULT_CRED;
    this.label = opts.label ?? 'rpc';
    this.logger = opts.logger ?? silentLogger;
    this.xids = new XidSource(opts.seed);
    this.reconnectEnabled = opts.reconnect ?? true;
    this.maxRecordSize = opts.maxRecordSize;
  }

  /** Opens the connection; rejects with RpcError RPC_CONNECT when the peer cannot be reached. */
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const s = this.openSocket();
      const onErr = (e: Error) => {
        s.off('connect', onOk);
        reject(new RpcError('RPC_CONNECT', `cannot connect to ${this.host}:${this.port}: ${e.message}`, { host: this.host, port: this.port, cause: (e as NodeJS.ErrnoException).code }));
      };
      const onOk = () => {
        s.off('error', onErr);
        resolve();
      };
      s.once('error', onErr);
      s.once('connect', onOk);
    });
  }

  /** Calls that have not completed yet (waiting for a reply or held by the policy). */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Transmissions waiting in the transmit queue (not yet handed to the socket). */
  get queuedTransmissions(): number {
    return this.queue.length;
  }

  /** Sends one call and resolves with the decoded results (an NFS status is part of the results). */
  async call<A, R>(codec: ProcCodec<A, R>, args: A, opts?: CallOptions): Promise<R> {
    return (await this.callInfo(codec, args, opts)).res;
  }

  /** Like call(), also giving the XID and its counters. */
  callInfo<A, R>(codec: ProcCodec<A, R>, args: A, opts: CallOptions = {}): Promise<CallInfo<R>> {
    if (this.closing) return Promise.reject(new RpcError('RPC_CLOSED', 'transport is closed'));
    const xid = this.xids.take();
    const stats: CallStats = {
      xid, proc: codec.name, transmissions: 0, retransmissions: 0, replays: 0, timeoutsMinor: 0, timeoutsMajor: 0,
      duplicatesCancelled: 0, duplicatesFinished: 0, lateTransmissions: 0,
    };
    return new Promise<CallInfo<R>>((resolve, reject) => {
      const call: Call = {
        xid, name: codec.name, codec, parts: [], borrowedIdx: [], borrowedBytes: 0,
        timeout: new CallTimeout(this.timeouts), live: [], queued: 0, writing: 0, attempts: 0,
        settled: false, completed: false, released: false, completedAt: 0,
        resolve: resolve as (v: CallInfo<unknown>) => void, reject, stats,
      };
      this.stats.calls++;
      this.unreleased.add(call);
      this.emit(call, 'init', { borrowedBuffers: opts.borrowed?.length ?? 0 });
      try {
        // RFC 5531 §11: one record (a single last fragment) per message.
        call.parts = encodeRecord(encodeCall({ xid, prog: codec.prog, vers: codec.vers, proc: codec.proc, cred: this.cred, verf: AUTH_NONE }, codec, args));
      } catch (e) {
        call.settled = call.completed = call.released = true;
        this.unreleased.delete(call);
        reject(e);
        return;
      }
      const borrowed = opts.borrowed ?? [];
      call.parts.forEach((p, i) => {
        if (borrowed.some((b) => overlaps(p, b))) {
          call.borrowedIdx.push(i);
          call.borrowedBytes += p.length;
        }
      });
      this.emit(call, 'encode', { bytes: gatherLength(call.parts), borrowedBytes: call.borrowedBytes, parts: call.parts.length });
      this.pending.set(xid, call);
      this.armTimer(call);
      this.enqueue(call, 'first');
      if (!this.socket && !this.reconnectTimer && this.everConnected) this.scheduleReconnect(true);
    });
  }

  /** Resolves when no call is in flight and nothing of any call is queued or being written. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Closes the connection; calls still in flight fail with RPC_CLOSED. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    for (const call of [...this.pending.values()]) {
      this.settle(call, { ok: false, err: new RpcError('RPC_CLOSED', `transport closed with xid ${hexXid(call.xid)} in flight`, { xid: call.xid }) }, true);
    }
    for (const t of this.queue) this.finishTransmission(t, 'cancelled');
    this.queue = [];
    const s = this.socket;
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.end();
        setTimeout(() => s.destroy(), 1000).unref();
      });
    }
  }

  // ---- connection ----

  private openSocket(): net.Socket {
    const s = net.connect({ host: this.host, port: this.port });
    s.setNoDelay(true);
    const conn = ++this.connId;
    const decoder = new RecordDecoder({ maxRecordSize: this.maxRecordSize });
    this.socket = s;
    s.on('connect', () => {
      if (conn !== this.connId) return;
      const replay = this.everConnected;
      this.everConnected = true;
      this.connected = true;
      this.needDrain = false;
      this.reconnectDelay = 0;
      if (replay) this.replayInFlight();
      this.pump();
    });
    s.on('data', (chunk: Buffer) => {
      try {
        decoder.push(chunk, (rec) => this.onRecord(rec));
      } catch (e) {
        this.logger.log('warn', `${this.label}: unreadable reply stream, reconnecting`, { code: (e as RpcError).code });
        s.destroy();
      }
    });
    s.on('drain', () => {
      if (conn !== this.connId) return;
      this.needDrain = false;
      this.pump();
    });
    s.on('error', (e) => this.logger.log('debug', `${this.label}: socket error`, { code: (e as NodeJS.ErrnoException).code }));
    s.on('close', () => this.onClose(s, conn));
    return s;
  }

  private onClose(s: net.Socket, conn: number): void {
    if (this.socket === s) {
      this.socket = undefined;
      this.connected = false;
    }
    // Whatever was still being written on that connection never fully left: it is not "on the wire".
    for (const call of [...this.unreleased]) {
      for (const t of [...call.live]) if (t.state === 'writing' && t.conn === conn) this.finishTransmission(t, 'failed');
    }
    if (this.closing || !this.reconnectEnabled || !this.everConnected) return;
    if (this.pending.size > 0 || this.queue.length > 0) this.scheduleReconnect(false);
  }

  private scheduleReconnect(immediate: boolean): void {
    if (this.reconnectTimer || this.closing) return;
    const delay = immediate ? 0 : this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay ? this.reconnectDelay * 2 : RECONNECT_INITIAL, RECONNECT_MAX);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closing) return;
      this.stats.reconnects++;
      this.logger.log('info', `${this.label}: reconnecting to ${this.host}:${this.port}`, { inFlight: this.pending.size });
      this.openSocket();
    }, this.scale.real(delay));
  }

  /** After a reconnect every call still waiting for a reply is sent again with its XID (xprt "resend"). */
  private replayInFlight(): void {
    const replays: Transmission[] = [];
    for (const call of this.pending.values()) {
      if (call.settled || call.queued > 0) continue;
      const t = this.makeTransmission(call, 'replay');
      replays.push(t);
      this.emit(call, 'retransmit-queued', { reason: 'reconnect', attempt: t.attempt, source: t.source });
      this.noteXid(call);
    }
    this.queue = replays.concat(this.queue);
  }

  // ---- transmit queue ----

  private makeTransmission(call: Call, kind: TransmissionKind): Transmission {
    const attempt = call.attempts++;
    let source = this.policy.payload({ kind, attempt, borrows: call.borrowedIdx.length > 0 });
    if (call.borrowedIdx.length === 0) source = 'borrow'; // nothing of the caller's to copy
    if (source === 'copy' && !call.copyParts) {
      call.copyParts = call.parts.map((p, i) => (call.borrowedIdx.includes(i) ? Buffer.from(p) : p));
      this.stats.copies++;
      this.stats.copiedBytes += call.borrowedBytes;
    }
    const t: Transmission = { call, kind, attempt, source, state: 'queued', conn: 0, bytes: 0 };
    call.live.push(t);
    call.queued++;
    return t;
  }

  private enqueue(call: Call, kind: TransmissionKind): void {
    const t = this.makeTransmission(call, kind);
    this.queue.push(t);
    this.emit(call, kind === 'first' ? 'queued' : 'retransmit-queued', { attempt: t.attempt, source: t.source, queueDepth: this.queue.length });
    this.pump();
  }

  /** Hands whole records to the socket until it asks us to wait (write() false -> 'drain'). */
  private pump(): void {
    const s = this.socket;
    if (!s || !this.connected || this.needDrain) return;
    while (this.queue.length > 0) {
      const t = this.queue.shift()!;
      if (!this.write(s, t)) {
        this.needDrain = true;
        return;
      }
    }
  }

  private write(s: net.Socket, t: Transmission): boolean {
    const call = t.call;
    const parts = t.source === 'copy' ? call.copyParts! : call.parts;
    t.state = 'writing';
    t.conn = this.connId;
    t.bytes = gatherLength(parts);
    call.queued--;
    call.writing++;
    call.stats.transmissions++;
    this.stats.transmissions++;
    this.stats.bytesSent += t.bytes;
    if (t.kind === 'retransmit') {
      call.stats.retransmissions++;
      this.stats.retransmissions++;
    } else if (t.kind === 'replay') {
      call.stats.replays++;
      this.stats.replays++;
    }
    this.emit(call, 'transmit-start', { attempt: t.attempt, kind: t.kind, source: t.source, bytes: t.bytes, afterComplete: call.completed });
    // One record, written whole: corked so the header and the payload (by reference) leave in one writev.
    s.cork();
    for (let i = 0; i < parts.length - 1; i++) s.write(parts[i]);
    const ok = s.write(parts[parts.length - 1], (err) => this.finishTransmission(t, err ? 'failed' : 'done'));
    s.uncork();
    return ok;
  }

  private finishTransmission(t: Transmission, how: 'done' | 'failed' | 'cancelled'): void {
    if (t.state !== 'writing' && t.state !== 'queued') return;
    const call = t.call;
    if (t.state === 'writing') call.writing--;
    else call.queued--;
    t.state = how;
    call.live.splice(call.live.indexOf(t), 1);
    if (how === 'done') {
      this.emit(call, 'transmit-done', { attempt: t.attempt, kind: t.kind, source: t.source, bytes: t.bytes });
      if (t.source === 'borrow' && call.borrowedIdx.length > 0 && call.completed) {
        // Bytes of a Buffer the caller owns again were taken by the kernel: the seed's 40/41 event.
        call.stats.lateTransmissions++;
        this.stats.lateTransmissions++;
        this.stats.lateBytes += call.borrowedBytes;
        this.noteXid(call);
        this.emit(call, 'late-transmit', { attempt: t.attempt, kind: t.kind, borrowedBytes: call.borrowedBytes, sinceCompleteMs: performance.now() - call.completedAt });
      }
    } else if (how === 'failed') {
      this.stats.failedTransmissions++;
      this.emit(call, 'transmit-failed', { attempt: t.attempt, kind: t.kind });
    } else {
      this.emit(call, 'cancelled', { attempt: t.attempt, kind: t.kind });
    }
    this.tryComplete(call);
    this.tryRelease(call);
  }

  // ---- replies ----

  private onRecord(rec: Buffer): void {
    const head = peekXid(rec);
    const call = head ? this.pending.get(head.xid) : undefined;
    if (!call) {
      this.stats.unmatchedReplies++;
      return;
    }
    this.emit(call, 'reply', { bytes: rec.length });
    if (this.notResponding) {
      this.notResponding = false;
      this.logger.log('warn', `${this.label}: server ${this.host}:${this.port} OK`);
    }
    let outcome: NonNullable<Call['outcome']>;
    try {
      const { reply, res } = decodeReply(rec, call.codec);
      outcome = res === undefined && !(reply.stat === 'accepted' && reply.acceptStat === ACCEPT_STAT.SUCCESS) ? { ok: false, err: replyError(reply, call.name) } : { ok: true, res };
    } catch (e) {
      outcome = { ok: false, err: new RpcError('RPC_GARBAGE_REPLY', `xid ${hexXid(call.xid)} ${call.name}: undecodable reply: ${(e as Error).message}`, { xid: call.xid, code: (e as RpcError).code }) };
    }
    this.settle(call, outcome, this.policy.cancelQueuedOnReply);
  }

  /** The call has its answer (reply, timeout or close): stop its timer, maybe cancel duplicates, maybe complete. */
  private settle(call: Call, outcome: NonNullable<Call['outcome']>, cancelQueued: boolean): void {
    if (call.settled) return;
    call.settled = true;
    call.outcome = outcome;
    clearTimeout(call.timer);
    this.pending.delete(call.xid);
    if (cancelQueued) {
      for (const t of [...call.live]) {
        if (t.state === 'queued') {
          this.queue.splice(this.queue.indexOf(t), 1);
          if (t.kind !== 'first') {
            call.stats.duplicatesCancelled++;
            this.stats.duplicatesCancelled++;
            this.noteXid(call);
          }
          this.finishTransmission(t, 'cancelled');
        } else if (t.state === 'writing' && t.kind !== 'first') {
          call.stats.duplicatesFinished++;
          this.stats.duplicatesFinished++;
          this.noteXid(call);
          this.emit(call, 'finishing', { attempt: t.attempt, kind: t.kind });
        }
      }
    }
    this.tryComplete(call);
  }

  private tryComplete(call: Call): void {
    if (call.completed || !call.settled) return;
    if (!this.policy.mayComplete({ settled: true, writing: call.writing, queued: call.queued })) return;
    call.completed = true;
    call.completedAt = performance.now();
    this.stats.completed++;
    const o = call.outcome!;
    this.emit(call, 'complete', { ok: o.ok, ...(o.ok ? {} : { code: (o.err as RpcError).code }), queued: call.queued, writing: call.writing });
    if (o.ok) call.resolve({ res: o.res, xid: call.xid, stats: call.stats });
    else call.reject(o.err);
    this.tryRelease(call);
  }

  private tryRelease(call: Call): void {
    if (call.released || !call.completed || call.live.length > 0) return;
    call.released = true;
    this.unreleased.delete(call);
    this.emit(call, 'released', { sinceCompleteMs: performance.now() - call.completedAt });
    if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  private isIdle(): boolean {
    if (this.pending.size > 0 || this.queue.length > 0) return false;
    return this.unreleased.size === 0;
  }

  // ---- timers ----

  private armTimer(call: Call): void {
    call.timer = setTimeout(() => this.onTimeout(call), this.scale.real(call.timeout.current));
  }

  private onTimeout(call: Call): void {
    if (call.settled) return;
    const kind = call.timeout.expire();
    this.noteXid(call);
    if (kind === 'minor') {
      call.stats.timeoutsMinor++;
      this.stats.timeoutsMinor++;
    } else {
      call.stats.timeoutsMajor++;
      this.stats.timeoutsMajor++;
    }
    const alreadyQueued = call.queued > 0;
    this.emit(call, 'timeout', { kind, alreadyQueued, nextTimeoutModelMs: call.timeout.current });
    if (kind === 'major') {
      if (this.soft) {
        const err = new RpcError('RPC_TIMEOUT', `xid ${hexXid(call.xid)} ${call.name}: no reply from ${this.host}:${this.port} after ${this.timeouts.retrans} retransmissions`, { xid: call.xid, proc: call.name });
        this.settle(call, { ok: false, err }, true);
        return;
      }
      if (!this.notResponding) this.logger.log('warn', `${this.label}: server ${this.host}:${this.port} not responding, still trying`, { xid: hexXid(call.xid) });
      this.notResponding = true;
    }
    // A minor (or hard major) timeout retransmits the same XID on the same connection; a transmission of this
    // XID still waiting in the queue already is that retransmission (xprt_request_enqueue_transmit).
    if (!alreadyQueued) {
      this.stats.retransmitsQueued++;
      this.enqueue(call, 'retransmit');
    }
    this.armTimer(call);
  }

  // ---- bookkeeping ----

  private noteXid(call: Call): void {
    if (!this.stats.perXid.has(call.xid)) this.stats.perXid.set(call.xid, call.stats);
  }

  private emit(call: Call, event: string, extra?: Record<string, unknown>): void {
    if (!rpcCallChannel.hasSubscribers) return;
    rpcCallChannel.publish({ event, xid: call.xid, proc: call.name, t: performance.now(), scale: this.scale.factor, transport: this.label, transportId: this.id, policy: this.policy.name, ...extra });
  }
}

function replyError(reply: RpcReply, proc: string): RpcError {
  if (reply.stat === 'accepted') {
    const name = enumName(ACCEPT_STAT, reply.acceptStat);
    return new RpcError(`RPC_${name}`, `xid ${hexXid(reply.xid)} ${proc}: call accepted with ${name}`, { xid: reply.xid, acceptStat: reply.acceptStat, mismatch: reply.mismatch });
  }
  const why = reply.rejectStat === REJECT_STAT.RPC_MISMATCH ? 'RPC_MISMATCH' : `AUTH_ERROR ${enumName(AUTH_STAT, reply.authStat ?? -1)}`;
  return new RpcError('RPC_DENIED', `xid ${hexXid(reply.xid)} ${proc}: call denied: ${why}`, { xid: reply.xid, rejectStat: reply.rejectStat, authStat: reply.authStat });
}
