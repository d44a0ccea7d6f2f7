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
// Lifecycle events on CHANNELS.rpcCall ({event, xid, proc, t, scale, transport, transportId, policy, ...}): the
// names and their Linux sunrpc tracepoints are one typed list, client/rpc/events.ts.
//
// Linux functions modelled here (README "Timers and reconnects" table):
// - reply timer: armed when a transmission is handed to the socket (2.6.18 xprt_transmit -> set_retrans_timeout
//   after send_request returned 0), never while a call waits in the transmit queue (xprt_reserve_xprt sets
//   tk_timeout = 0); minor/major from the clock (xprt_adjust_timeout, client/rpc/timeout.ts);
// - retransmissions and replays jump ahead of first transmissions (2.6.18 __xprt_lock_write_next wakes
//   xprt->resend before xprt->sending);
// - a lost connection clears the reply timers and replays every pending call on the next connection
//   (xprt_disconnect -> xprt_wake_pending_tasks(-ENOTCONN) -> call_bind/call_connect/call_transmit);
// - reconnects reuse the source port (xs_tcp_reuse_connection in 2.6.18, transport->srcport + xs_bind today) and
//   back off (xs_connect: delay reestablish_timeout, then xprt_reconnect_backoff: x2, at least 3 s, at most 5 min;
//   a close the peer started sets it to at least 3 s, one we started resets it to 0: xs_tcp_state_change); when
//   another socket holds the port, bind() fails and the same attempt goes on from any port (xs_bind/xs_next_srcport);
// - soft: a call waiting for a new connection fails when none is up within the connect timeout, or at once when the
//   connect attempt fails (2.6.18 xprt_connect: tk_timeout = connect_timeout, XS_TCP_CONN_TO 60 s;
//   xprt_connect_status: "if soft mounted, just cause this RPC to fail", -EIO).
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { channel, CHANNELS } from '../../core/channels';
import { RpcError } from '../../core/errors';
import { silentLogger, type Logger } from '../../core/log';
import { TimeScale, setTimerNotEarly } from '../../core/units';
import { decodeReply, encodeCallRecord } from '../../xdr/message';
import type { ProcCodec } from '../../xdr/procedure';
import { enumName } from '../../xdr/reader';
import { RecordDecoder, gatherLength } from '../../xdr/record';
import { ACCEPT_STAT, AUTH_NONE, AUTH_STAT, REJECT_STAT, encodeAuthSys, peekXid, type OpaqueAuth, type RpcReply } from '../../xdr/rpc';
import { POLICIES, type PayloadSource, type PolicyName, type RetransmitPolicy, type TransmissionKind } from '../policies';
import type { CallEventName } from './events';
import { CallTimeout, DEFAULT_TIMEOUT, linuxTimeouts, type Backoff, type TimeoutConfig } from './timeout';
import { XidSource, hexXid } from './xid';

export interface TransportOptions {
  host: string;
  port: number;
  /** retransmit policy (default linux-2008, the seed's kernel) */
  policy?: RetransmitPolicy | PolicyName;
  /** modelled ms; default 60 s (nfs(5) timeo=600) */
  timeo?: number;
  /** default 2 (nfs(5) retrans) */
  retrans?: number;
  /** linear (nfs_init_timeout_values, default) or exponential (2.6.18 nfs_create_client) */
  backoff?: Backoff;
  /** to_maxval override, modelled ms (default: what the backoff model computes) */
  maxTimeout?: number;
  /**
   * soft: a major timeout fails the call with RpcError RPC_TIMEOUT, and so does a lost connection not replaced within
   * CONNECT_TIMEOUT_MS (RPC_CONNECT when the new connection is refused); hard (default): log and keep trying
   */
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
  duplicatesWithdrawn: number;
  lateTransmissions: number;
}

/** Where a late transmission was when the reply arrived. */
export type LatePath = 'inSocket' | 'queued';

export interface TransportStats {
  calls: number;
  completed: number;
  /** transmissions handed to the socket, all kinds */
  transmissions: number;
  /** retransmissions after a timeout handed to the socket */
  retransmissions: number;
  /** in-flight calls re-sent on a new connection */
  replays: number;
  /** retransmissions queued (some may be skipped before they start) */
  retransmitsQueued: number;
  /** queued duplicates skipped on the reply (xprt_prepare_transmit) */
  duplicatesCancelled: number;
  /** duplicates already in the socket when the reply came, finished from their memory */
  duplicatesFinished: number;
  /** duplicates in the socket withdrawn by a connection reset (cancel-on-reply) */
  duplicatesWithdrawn: number;
  /** borrowed-payload transmissions whose last byte reached the kernel after the call completed */
  lateTransmissions: number;
  lateBytes: number;
  /** late transmissions by where they were when the reply came: in the socket (the seed's path) or queued */
  latePaths: Record<LatePath, number>;
  /** modelled ms from completion to each late transmission's last byte, in order */
  lateAfterCompleteMs: number[];
  /** payload copies made on a policy's request */
  copies: number;
  copiedBytes: number;
  timeoutsMinor: number;
  timeoutsMajor: number;
  /** new connections after the first (each replays the pending calls) */
  reconnects: number;
  /** connections this transport reset itself (withdrawals, unreadable streams) */
  resets: number;
  /** reconnects that got the previous source port back, and those that could not */
  portReused: number;
  portChanged: number;
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
  /** where it was when the call settled (undefined: it started after) */
  atSettle?: LatePath;
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
  /** modelled clock time the armed timer is due (a jiffy-exact expiry; libuv may fire up to 1 ms early) */
  timerDue: number;
  live: Transmission[];
  queued: number;
  writing: number;
  attempts: number;
  settled: boolean;
  completed: boolean;
  released: boolean;
  completedAt: number;
  outcome?: { ok: true; res: unknown } | { ok: false; err: Error };
  /** callInfo() (settle with CallInfo) or call() (settle with the results alone) */
  withInfo: boolean;
  resolve(v: unknown): void;
  reject(e: Error): void;
  stats: CallStats;
}

interface Conn {
  id: number;
  socket: net.Socket;
  /** who ended it: we reset it (policy withdrawal), its stream was unreadable, its bind to the old source port
   * failed (the connect attempt goes on from another port), or (unset) the peer closed it */
  endedBy?: 'us' | 'unreadable' | 'port-in-use';
  unreadableCode?: string;
  matched: number;
  /** the connect completed (a connection that closes without it was a failed connect attempt) */
  up: boolean;
}

// Hot-path publishes check hasSubscribers first, so their event objects are not even built when nobody listens.
const rpcCallChannel = channel(CHANNELS.rpcCall);
let transportIds = 0;

const DEFAULT_CRED = encodeAuthSys({ stamp: 0, machinename: 'nfs-testbed', uid: 0, gid: 0, gids: [] });
/** XS_TCP_INIT_REEST_TO (3 s) and the default max_reconnect_timeout, XS_TCP_MAX_REEST_TO (5 min). */
export const REEST_INIT_MS = 3_000;
export const REEST_MAX_MS = 300_000;
/**
 * XS_TCP_CONN_TO (2.6.18 xprtsock.c, 60 s): how long xprt_connect lets the task holding the transport sleep for a
 * connection (task->tk_timeout = xprt->connect_timeout). A soft task that wakes without one fails
 * (xprt_connect_status -> -EIO); a hard one goes round call_connect_status -> call_timeout again.
 */
export const CONNECT_TIMEOUT_MS = 60_000;
/** Consecutive connections whose byte stream could not be read as RPC replies before the peer is declared not RPC. */
export const NOT_RPC_AFTER = 3;

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
    duplicatesCancelled: 0, duplicatesFinished: 0, duplicatesWithdrawn: 0, lateTransmissions: 0, lateBytes: 0,
    latePaths: { inSocket: 0, queued: 0 }, lateAfterCompleteMs: [], copies: 0, copiedBytes: 0,
    timeoutsMinor: 0, timeoutsMajor: 0, reconnects: 0, resets: 0, portReused: 0, portChanged: 0,
    unmatchedReplies: 0, failedTransmissions: 0, bytesSent: 0, perXid: new Map(),
  };
  readonly timeouts: TimeoutConfig;
  private readonly cred: OpaqueAuth;
  private readonly logger: Logger;
  private readonly xids: XidSource;
  private readonly reconnectEnabled: boolean;
  private readonly maxRecordSize?: number;
  private readonly pending = new Map<number, Call>();
  private queue: Transmission[] = [];
  private conn?: Conn;
  private connected = false;
  private needDrain = false;
  private connId = 0;
  private closing = false;
  private reconnectTimer?: NodeJS.Timeout;
  /** xprt->reestablish_timeout, modelled ms */
  private reestablishMs = 0;
  /** transport->srcport: the source port of the first connection, asked for again on every reconnect */
  private srcPort?: number;
  private everConnected = false;
  private notResponding = false;
  private unreadableStreams = 0;
  private gaveUp?: RpcError;
  /** soft only: the call sleeping in xprt_connect while the transport has no connection, and its connect timer */
  private connectWait?: { call: Call; timer?: NodeJS.Timeout };
  private idleWaiters: Array<() => void> = [];
  /** calls not yet released: they may still have transmissions in the queue or in the socket */
  private readonly unreleased = new Set<Call>();

  constructor(opts: TransportOptions) {
    this.host = opts.host;
    this.port = opts.port;
    this.policy = typeof opts.policy === 'string' ? POLICIES[opts.policy] : (opts.policy ?? POLICIES['linux-2008']);
    if (!this.policy) throw new RpcError('RPC_BAD_POLICY', `unknown policy ${String(opts.policy)}`);
    this.scale = opts.timeScale instanceof TimeScale ? opts.timeScale : new TimeScale(opts.timeScale ?? 1);
    const base = linuxTimeouts(opts.timeo ?? DEFAULT_TIMEOUT.timeo, opts.retrans ?? DEFAULT_TIMEOUT.retrans, opts.backoff ?? DEFAULT_TIMEOUT.backoff);
    this.timeouts = opts.maxTimeout === undefined ? base : { ...base, max: Math.max(opts.maxTimeout, base.timeo) };
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
      const s = this.openSocket().socket;
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

  /** The source port every connection of this transport asks for (undefined before the first connection). */
  get sourcePort(): number | undefined {
    return this.srcPort;
  }

  /** Sends one call and resolves with the decoded results (an NFS status is part of the results). */
  call<A, R>(codec: ProcCodec<A, R>, args: A, opts?: CallOptions): Promise<R> {
    return this.submit(codec, args, opts, false) as Promise<R>;
  }

  /** Like call(), also giving the XID and its counters. */
  callInfo<A, R>(codec: ProcCodec<A, R>, args: A, opts?: CallOptions): Promise<CallInfo<R>> {
    return this.submit(codec, args, opts, true) as Promise<CallInfo<R>>;
  }

  /** call() and callInfo(): one promise per call, settled with the results alone or with the CallInfo. */
  private submit(codec: ProcCodec<any, any>, args: unknown, opts: CallOptions = {}, withInfo: boolean): Promise<unknown> {
    if (this.closing) return Promise.reject(new RpcError('RPC_CLOSED', 'transport is closed'));
    if (this.gaveUp) return Promise.reject(this.gaveUp);
    const xid = this.xids.take();
    const stats: CallStats = {
      xid, proc: codec.name, transmissions: 0, retransmissions: 0, replays: 0, timeoutsMinor: 0, timeoutsMajor: 0,
      duplicatesCancelled: 0, duplicatesFinished: 0, duplicatesWithdrawn: 0, lateTransmissions: 0,
    };
    return new Promise<unknown>((resolve, reject) => {
      const call: Call = {
        xid, name: codec.name, codec, parts: [], borrowedIdx: [], borrowedBytes: 0,
        timeout: new CallTimeout(this.timeouts), timerDue: 0, live: [], queued: 0, writing: 0, attempts: 0,
        settled: false, completed: false, released: false, completedAt: 0,
        withInfo, resolve, reject, stats,
      };
      this.stats.calls++;
      this.unreleased.add(call);
      if (rpcCallChannel.hasSubscribers) this.emit(call, 'init', { borrowedBuffers: opts.borrowed?.length ?? 0 });
      try {
        // RFC 5531 §11: one record (a single last fragment) per message.
        // The record mark shares the header's Buffer: one part fewer to write per call.
        call.parts = encodeCallRecord({ xid, prog: codec.prog, vers: codec.vers, proc: codec.proc, cred: this.cred, verf: AUTH_NONE }, codec, args);
      } catch (e) {
        call.settled = call.completed = call.released = true;
        this.unreleased.delete(call);
        reject(e);
        return;
      }
      const borrowed = opts.borrowed;
      if (borrowed) {
        for (let i = 0; i < call.parts.length; i++) {
          const p = call.parts[i];
          for (const b of borrowed) {
            if (!overlaps(p, b)) continue;
            call.borrowedIdx.push(i);
            call.borrowedBytes += p.length;
            break;
          }
        }
      }
      if (rpcCallChannel.hasSubscribers) this.emit(call, 'encode', { bytes: gatherLength(call.parts), borrowedBytes: call.borrowedBytes, parts: call.parts.length });
      this.pending.set(xid, call);
      this.enqueue(call, 'first');
      if (!this.conn && !this.reconnectTimer && this.everConnected) this.scheduleReconnect();
      if (this.everConnected) this.startConnectWait();
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
    this.stopConnectWait();
    this.failAll(new RpcError('RPC_CLOSED', 'transport closed with calls in flight'));
    const s = this.conn?.socket;
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.end();
        setTimeout(() => s.destroy(), 1000).unref();
      });
    }
  }

  // ---- connection ----

  private modelNow(): number {
    return this.scale.model(performance.now());
  }

  private openSocket(): Conn {
    const want = this.srcPort;
    // xs_bind with transport->srcport (2.6.18: xs_tcp_reuse_connection keeps the socket and so the port).
    const s = net.connect({ host: this.host, port: this.port, ...(want ? { localPort: want } : {}) });
    s.setNoDelay(true);
    const conn: Conn = { id: ++this.connId, socket: s, matched: 0, up: false };
    const decoder = new RecordDecoder({ maxRecordSize: this.maxRecordSize });
    this.conn = conn;
    s.on('connect', () => {
      if (conn !== this.conn) return;
      conn.up = true;
      this.stopConnectWait();
      const replay = this.everConnected;
      this.everConnected = true;
      this.connected = true;
      this.needDrain = false;
      if (this.srcPort === undefined) this.srcPort = s.localPort; // xs_set_srcport
      else if (s.localPort === this.srcPort) this.stats.portReused++;
      if (replay) this.replayInFlight();
      this.pump();
    });
    s.on('data', (chunk: Buffer) => {
      if (conn.endedBy) return;
      try {
        decoder.push(chunk, (rec) => this.onRecord(rec, conn));
      } catch (e) {
        // Linux would discard what it cannot match and wait for its timers; a stream that is not record-marked
        // RPC is ended here, as a close the peer caused (reconnects back off), and counted towards giving up.
        conn.endedBy = 'unreadable';
        conn.unreadableCode = (e as RpcError).code;
        this.logger.log(this.unreadableStreams + 1 < NOT_RPC_AFTER ? 'warn' : 'debug', `${this.label}: unreadable reply stream from ${this.host}:${this.port}, reconnecting`, { code: conn.unreadableCode });
        this.stats.resets++;
        s.resetAndDestroy();
      }
    });
    s.on('drain', () => {
      if (conn !== this.conn) return;
      this.needDrain = false;
      this.pump();
    });
    s.on('error', (e) => {
      const { code, syscall } = e as NodeJS.ErrnoException;
      // The old source port cannot be had. bind() fails with EADDRINUSE when another socket holds the port: the
      // kernel's connect-time port choice shares a port between connections to different peers, so any socket
      // of this host (another program's TIME_WAIT too) may sit on it once ours is gone. xs_bind then gives the port
      // up within the same connect attempt (xs_next_srcport: transport->srcport = 0, and without resvport port 0,
      // any port): no failed attempt, no reestablish_timeout backoff, no soft-mount EIO; onClose goes on at once.
      // (Linux binds port 0, so the kernel picks the port at bind time; here connect() picks it, as it does for the
      // first connection.)
      // connect() fails with EADDRNOTAVAIL when the address+port pair to this peer is still taken:
      // xs_tcp_setup_socket sets transport->srcport = 0 and the attempt fails (-EAGAIN), modelled as a failed attempt.
      if (want !== undefined && !this.connected && conn === this.conn && ((code === 'EADDRINUSE' && syscall === 'bind') || code === 'EADDRNOTAVAIL')) {
        this.stats.portChanged++;
        this.logger.log('warn', `${this.label}: source port ${want} is in use (${syscall ?? '?'}: ${code}), reconnecting from another port`, { code });
        this.srcPort = undefined;
        if (code === 'EADDRINUSE') conn.endedBy = 'port-in-use';
      }
      this.logger.log('debug', `${this.label}: socket error`, { code });
    });
    s.on('close', () => this.onClose(conn));
    return conn;
  }

  private onClose(conn: Conn): void {
    const current = conn === this.conn;
    if (current) {
      this.conn = undefined;
      this.connected = false;
      this.needDrain = false;
    }
    this.abandonWriting(conn.id);
    if (!current) return;
    // xs_bind's fallback: the same connect attempt, from another port (nothing was sent, no timer was armed).
    if (conn.endedBy === 'port-in-use') {
      if (!this.closing && !this.gaveUp) this.openSocket();
      return;
    }
    // xprt_disconnect -> xprt_wake_pending_tasks(-ENOTCONN): calls waiting for a reply lose their timer and are
    // replayed once a new connection is up.
    for (const call of this.pending.values()) clearTimeout(call.timer);
    // xs_tcp_state_change: TCP_FIN_WAIT1 (we closed) resets reestablish_timeout to 0; TCP_CLOSE_WAIT/CLOSING (the
    // peer closed) raise it to at least XS_TCP_INIT_REEST_TO.
    if (conn.endedBy === 'us') this.reestablishMs = 0;
    else this.reestablishMs = Math.max(this.reestablishMs, REEST_INIT_MS);
    if (conn.matched > 0) this.unreadableStreams = 0;
    if (conn.endedBy === 'unreadable') {
      this.unreadableStreams = conn.matched > 0 ? 1 : this.unreadableStreams + 1;
      if (this.unreadableStreams >= NOT_RPC_AFTER) {
        this.giveUp(new RpcError('RPC_NOT_RPC', `${this.host}:${this.port} does not speak ONC RPC: ${this.unreadableStreams} connections in a row sent bytes that are not RPC replies (${conn.unreadableCode})`, { host: this.host, port: this.port, cause: conn.unreadableCode }));
        return;
      }
    }
    if (this.closing || !this.reconnectEnabled || !this.everConnected) return;
    // A peer that accepts and closes without a byte is not counted above: like a Linux hard mount (xprt_disconnect ->
    // call_status -> call_bind/call_connect, xs_connect backing off) we retry it forever, 3 s, 6 s, ... 5 min apart,
    // one info line per reconnect (blktest --verbose).
    if (this.pending.size > 0 || this.queue.length > 0) this.scheduleReconnect();
    if (!this.soft) return;
    // 2.6.18, soft: the woken task goes call_status(-ENOTCONN) -> call_bind -> call_connect -> xprt_connect and
    // sleeps there for at most XS_TCP_CONN_TO; a connect attempt that fails (refused, reset) wakes it at once and
    // xprt_connect_status fails it with -EIO. Against a peer that accepts and closes, the reconnect delay doubles
    // (3, 6, ... 48 s) until it exceeds the connect timeout: the sixth wait (96 s) ends in EIO after 60 s.
    if (!conn.up && this.connectWait) {
      const { call } = this.connectWait;
      this.stopConnectWait();
      const err = new RpcError('RPC_CONNECT', `xid ${hexXid(call.xid)} ${call.name}: reconnecting to ${this.host}:${this.port} failed (soft: xprt_connect_status)`, { xid: call.xid, proc: call.name, host: this.host, port: this.port, cause: (conn.socket.errored as NodeJS.ErrnoException | null)?.code });
      this.settle(call, { ok: false, err }, 'skip-all');
    }
    this.startConnectWait();
  }

  /** soft: the oldest pending call sleeps in xprt_connect for at most CONNECT_TIMEOUT_MS (one at a time: the others
   * wait for the transport lock, xprt->sending, with no timeout of their own). */
  private startConnectWait(): void {
    if (!this.soft || this.connected || this.connectWait || this.closing || this.gaveUp) return;
    const call = this.pending.values().next().value as Call | undefined;
    if (!call) return;
    const wait: { call: Call; timer?: NodeJS.Timeout } = { call };
    this.connectWait = wait;
    setTimerNotEarly(this.scale.real(CONNECT_TIMEOUT_MS), () => {
      if (this.connectWait !== wait) return;
      this.connectWait = undefined;
      const err = new RpcError('RPC_TIMEOUT', `xid ${hexXid(call.xid)} ${call.name}: no connection to ${this.host}:${this.port} within the connect timeout (${CONNECT_TIMEOUT_MS / 1000} s, soft: xprt_connect_status)`, { xid: call.xid, proc: call.name });
      this.logger.log('warn', `${this.label}: server ${this.host}:${this.port} not responding, timed out`, { xid: hexXid(call.xid) });
      this.settle(call, { ok: false, err }, 'skip-all');
      this.startConnectWait();
    }, (h) => (wait.timer = h));
  }

  private stopConnectWait(): void {
    clearTimeout(this.connectWait?.timer);
    this.connectWait = undefined;
  }

  /** Whatever was still being written on that connection never fully left: it is not "on the wire". */
  private abandonWriting(connId: number): void {
    for (const call of [...this.unreleased]) {
      for (const t of [...call.live]) if (t.state === 'writing' && t.conn === connId) this.finishTransmission(t, 'failed');
    }
  }

  /** xs_connect: wait reestablish_timeout, then xprt_reconnect_backoff (x2, at least 3 s, at most 5 min). */
  private scheduleReconnect(): void {
    if (this.reconnectTimer || this.closing || this.gaveUp) return;
    const delay = this.reestablishMs;
    this.reestablishMs = Math.min(Math.max(this.reestablishMs * 2, REEST_INIT_MS), REEST_MAX_MS);
    setTimerNotEarly(this.scale.real(delay), () => {
      this.reconnectTimer = undefined;
      if (this.closing || this.gaveUp) return;
      this.stats.reconnects++;
      this.logger.log('info', `${this.label}: reconnecting to ${this.host}:${this.port}`, { inFlight: this.pending.size, delayModelMs: delay, srcPort: this.srcPort });
      this.openSocket();
    }, (h) => (this.reconnectTimer = h));
  }

  /** Resets the connection ourselves (cancel-on-reply's withdrawal): the socket's unwritten queue is dropped. */
  private resetConnection(): void {
    const conn = this.conn;
    if (!conn || conn.endedBy) return;
    conn.endedBy = 'us';
    this.stats.resets++;
    this.abandonWriting(conn.id);
    conn.socket.resetAndDestroy();
  }

  private giveUp(err: RpcError): void {
    this.gaveUp = err;
    clearTimeout(this.reconnectTimer);
    this.stopConnectWait();
    this.logger.log('error', `${this.label}: ${err.message}`);
    this.failAll(err);
  }

  private failAll(err: RpcError): void {
    for (const call of [...this.pending.values()]) this.settle(call, { ok: false, err }, 'skip-all');
    for (const t of this.queue) this.finishTransmission(t, 'cancelled');
    this.queue = [];
  }

  /** After a reconnect every call still waiting for a reply is sent again with its XID (xprt "resend"). */
  private replayInFlight(): void {
    for (const call of this.pending.values()) {
      if (call.settled || call.queued > 0) continue;
      const t = this.makeTransmission(call, 'replay');
      this.insert(t);
      this.emit(call, 'retransmit-queued', { reason: 'reconnect', attempt: t.attempt, source: t.source });
      this.noteXid(call);
    }
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

  /** 2.6.18 __xprt_lock_write_next: tasks on xprt->resend (rq_ntrans > 0) go before those on xprt->sending. */
  private insert(t: Transmission): void {
    if (t.kind === 'first') {
      this.queue.push(t);
      return;
    }
    let i = 0;
    while (i < this.queue.length && this.queue[i].kind !== 'first') i++;
    this.queue.splice(i, 0, t);
  }

  private enqueue(call: Call, kind: TransmissionKind): void {
    const t = this.makeTransmission(call, kind);
    this.insert(t);
    if (rpcCallChannel.hasSubscribers) this.emit(call, kind === 'first' ? 'queued' : 'retransmit-queued', { attempt: t.attempt, source: t.source, queueDepth: this.queue.length });
    this.pump();
  }

  /** Hands whole records to the socket until it asks us to wait (write() false -> 'drain'). */
  private pump(): void {
    const conn = this.conn;
    if (!conn || !this.connected || this.needDrain || conn.endedBy) return;
    while (this.queue.length > 0) {
      const t = this.queue.shift()!;
      if (!this.write(conn, t)) {
        this.needDrain = true;
        return;
      }
    }
  }

  private write(conn: Conn, t: Transmission): boolean {
    const call = t.call;
    const s = conn.socket;
    const parts = t.source === 'copy' ? call.copyParts! : call.parts;
    t.state = 'writing';
    t.conn = conn.id;
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
    if (rpcCallChannel.hasSubscribers) this.emit(call, 'transmit-start', { attempt: t.attempt, kind: t.kind, source: t.source, bytes: t.bytes, afterComplete: call.completed });
    if (!call.settled) this.armTimer(call, call.stats.transmissions === 1);
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
      if (rpcCallChannel.hasSubscribers) this.emit(call, 'transmit-done', { attempt: t.attempt, kind: t.kind, source: t.source, bytes: t.bytes });
      if (t.source === 'borrow' && call.borrowedIdx.length > 0 && call.completed) {
        // Bytes of a Buffer the caller owns again were taken by the kernel: the seed's 40/41 event.
        const sinceModelMs = this.scale.model(performance.now() - call.completedAt);
        const path: LatePath = t.atSettle ?? 'queued';
        call.stats.lateTransmissions++;
        this.stats.lateTransmissions++;
        this.stats.lateBytes += call.borrowedBytes;
        this.stats.latePaths[path]++;
        this.stats.lateAfterCompleteMs.push(sinceModelMs);
        this.noteXid(call);
        this.emit(call, 'late-transmit', { attempt: t.attempt, kind: t.kind, path, borrowedBytes: call.borrowedBytes, sinceCompleteModelMs: sinceModelMs });
      }
    } else if (how === 'failed') {
      this.stats.failedTransmissions++;
      this.emit(call, 'transmit-failed', { attempt: t.attempt, kind: t.kind });
    } else {
      this.emit(call, 'skipped', { attempt: t.attempt, kind: t.kind });
    }
    this.tryComplete(call);
    this.tryRelease(call);
  }

  // ---- replies ----

  private onRecord(rec: Buffer, conn: Conn): void {
    const head = peekXid(rec);
    const call = head ? this.pending.get(head.xid) : undefined;
    if (!call) {
      this.stats.unmatchedReplies++;
      return;
    }
    conn.matched++;
    if (rpcCallChannel.hasSubscribers) this.emit(call, 'reply', { bytes: rec.length });
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
    this.settle(call, outcome, 'policy');
  }

  /**
   * The call has its answer (reply, soft timeout, failure): stop its timer, apply the policy's onReply to the
   * XID's other transmissions (`skip-all`: a failure skips everything queued), maybe complete.
   */
  private settle(call: Call, outcome: NonNullable<Call['outcome']>, how: 'policy' | 'skip-all'): void {
    if (call.settled) return;
    call.settled = true;
    call.outcome = outcome;
    clearTimeout(call.timer);
    this.pending.delete(call.xid);
    const decide = how === 'policy' ? this.policy.onReply : ({ queued: 'skip', inSocket: 'finish' } as const);
    let withdraw = false;
    for (const t of [...call.live]) {
      if (t.state === 'queued') {
        t.atSettle = 'queued';
        if (decide.queued !== 'skip') continue;
        this.queue.splice(this.queue.indexOf(t), 1);
        if (t.kind !== 'first') {
          call.stats.duplicatesCancelled++;
          this.stats.duplicatesCancelled++;
          this.noteXid(call);
        }
        this.finishTransmission(t, 'cancelled');
      } else if (t.state === 'writing') {
        t.atSettle = 'inSocket';
        if (decide.inSocket === 'withdraw' && t.source === 'borrow' && call.borrowedIdx.length > 0) {
          withdraw = true;
          call.stats.duplicatesWithdrawn++;
          this.stats.duplicatesWithdrawn++;
          this.noteXid(call);
          this.emit(call, 'withdrawn', { attempt: t.attempt, kind: t.kind, conn: t.conn });
        } else if (t.kind !== 'first') {
          call.stats.duplicatesFinished++;
          this.stats.duplicatesFinished++;
          this.noteXid(call);
          this.emit(call, 'finishing', { attempt: t.attempt, kind: t.kind });
        }
      }
    }
    // Reset before the caller can run (its continuation is a microtask after this synchronous handler).
    if (withdraw) this.resetConnection();
    this.tryComplete(call);
  }

  private tryComplete(call: Call): void {
    if (call.completed || !call.settled) return;
    if (!this.policy.mayComplete({ settled: true, writing: call.writing, queued: call.queued })) return;
    call.completed = true;
    call.completedAt = performance.now();
    this.stats.completed++;
    const o = call.outcome!;
    if (rpcCallChannel.hasSubscribers) this.emit(call, 'complete', { ok: o.ok, ...(o.ok ? {} : { code: (o.err as RpcError).code }), queued: call.queued, writing: call.writing });
    if (o.ok) call.resolve(call.withInfo ? { res: o.res, xid: call.xid, stats: call.stats } : o.res);
    else call.reject(o.err);
    this.tryRelease(call);
  }

  private tryRelease(call: Call): void {
    if (call.released || !call.completed || call.live.length > 0) return;
    call.released = true;
    this.unreleased.delete(call);
    if (rpcCallChannel.hasSubscribers) this.emit(call, 'released', { sinceCompleteModelMs: this.scale.model(performance.now() - call.completedAt) });
    if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
  }

  private isIdle(): boolean {
    if (this.pending.size > 0 || this.queue.length > 0) return false;
    return this.unreleased.size === 0;
  }

  // ---- timers ----

  /** xprt_transmit: the reply timer (rq_timeout) starts once the request is in the socket; the first
   * transmission also fixes rq_majortimeo (xprt_reset_majortimeo). */
  private armTimer(call: Call, first: boolean): void {
    const now = this.modelNow();
    if (first) call.timeout.resetMajor(now);
    call.timerDue = now + call.timeout.current;
    clearTimeout(call.timer);
    // Never before its due time: the retransmission it sends arms the next timer from the expiry, not before it.
    setTimerNotEarly(this.scale.real(call.timeout.current), () => this.onTimeout(call), (h) => (call.timer = h));
  }

  private onTimeout(call: Call): void {
    if (call.settled) return;
    // The expiry happens at its due time (or later, if the event loop was late), as a kernel timer at its jiffy.
    const kind = call.timeout.expire(Math.max(this.modelNow(), call.timerDue));
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
        const err = new RpcError('RPC_TIMEOUT', `xid ${hexXid(call.xid)} ${call.name}: no reply from ${this.host}:${this.port} (major timeout after ${call.stats.timeoutsMinor} minor)`, { xid: call.xid, proc: call.name });
        this.settle(call, { ok: false, err }, 'skip-all');
        return;
      }
      if (!this.notResponding) this.logger.log('warn', `${this.label}: server ${this.host}:${this.port} not responding, still trying`, { xid: hexXid(call.xid) });
      this.notResponding = true;
    }
    // call_timeout -> call_transmit: the same XID goes out again on the same connection; its timer restarts when
    // the retransmission is in the socket.
    if (!alreadyQueued) {
      this.stats.retransmitsQueued++;
      this.enqueue(call, 'retransmit');
    }
  }

  // ---- bookkeeping ----

  private noteXid(call: Call): void {
    if (!this.stats.perXid.has(call.xid)) this.stats.perXid.set(call.xid, call.stats);
  }

  private emit(call: Call, event: CallEventName, extra?: Record<string, unknown>): void {
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
