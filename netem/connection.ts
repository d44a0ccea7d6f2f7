// One accepted client connection and its upstream connection: two flows, half-close and reset propagation,
// the XID -> call facts map that names replies, and the capture of both legs.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ConnectionCapture } from './capture/sink';
import type { ConnectionHandle } from './fault';
import { adoptWithOnread } from '../core/onread-socket';
import { Flow, type FlowHost } from './flow';
import { RpcFramer, type CallFacts, type FramerHooks } from './rpc-framer';
import type { Direction } from './types';

export interface ConnectionInfo {
  id: number;
  client: { address: string; port: number };
  /** the proxy's local end of the upstream connection */
  local?: { address: string; port: number };
  upstream: { host: string; port: number };
  openedMs: number;
  state: 'connecting' | 'open' | 'closed';
  upstreamFlow?: ReturnType<Flow['snapshot']>;
  downstreamFlow?: ReturnType<Flow['snapshot']>;
}

export interface ConnectionHost extends FlowHost {
  /** numbers a call of prog.proc on the proxy (1-based) */
  numberCall(prog: number, vers: number, proc: number): CallFacts;
  closed(conn: Connection): void;
  /** an event about this connection for the event log (peer-end, peer-reset, queued-dropped) */
  connectionEvent(conn: Connection, event: string, facts: Record<string, unknown>): void;
  /** a new flow starts frozen / held when a stall is running */
  initialState(direction: Direction): { frozen: boolean; holdMs: number };
  rpcEnabled: boolean;
  highWater: number;
}

/**
 * Closes a socket with RST (SO_LINGER 0). While a FIN we forwarded is still being sent (end() called, 'finish' not
 * yet emitted) libuv refuses that (uv_tcp_close_reset: EINVAL) and Node then never closes the handle, a leaked
 * socket (found by reliability-netem-vanish: client vanished mid-hold); the peer has our FIN already, so a plain
 * close is what it gets.
 */
function rst(s: net.Socket): void {
  if (s.destroyed) return;
  if (s.writableEnded && !s.writableFinished) s.destroy();
  else s.resetAndDestroy();
}

export class Connection implements ConnectionHandle {
  /** the accepted socket (re-wrapped for onread once the upstream connected) */
  client: net.Socket;
  server?: net.Socket;
  up?: Flow;
  down?: Flow;
  state: ConnectionInfo['state'] = 'connecting';
  private readonly xids = new Map<number, CallFacts>();
  private readonly openedAt = performance.now();
  private resetting = false;
  /** why the connection is going away, for the queued-dropped event */
  private closeReason = 'closed';
  private readonly onClientError = (e: NodeJS.ErrnoException) => this.peerReset('client', e);
  private readonly onClose = () => this.onSocketClose();

  constructor(
    readonly id: number,
    client: net.Socket,
    readonly upstream: { host: string; port: number },
    private readonly host: ConnectionHost,
    readonly capture?: ConnectionCapture,
  ) {
    this.client = client;
    client.pause();
    client.on('error', this.onClientError);
    client.on('close', this.onClose);
  }

  connect(): void {
    const hooks: FramerHooks = {
      onCall: (xid, prog, vers, proc) => {
        const f = this.host.numberCall(prog, vers, proc);
        this.xids.set(xid, f);
        if (this.xids.size > 65536) this.xids.delete(this.xids.keys().next().value as number);
        return f;
      },
      onReply: (xid) => {
        const f = this.xids.get(xid);
        this.xids.delete(xid);
        return f;
      },
    };
    const cap = this.capture;
    const up = new Flow(this, 'upstream', this.framer(hooks), this.host, cap && {
      read: (b) => cap.fromClient(b),
      write: (b) => cap.toServer(b),
      ended: () => { cap.fin('client', true); cap.fin('server', true); },
    }, this.host.highWater);
    const down = new Flow(this, 'downstream', this.framer(hooks), this.host, cap && {
      read: (b) => cap.fromServer(b),
      write: (b) => cap.toClient(b),
      ended: () => { cap.fin('server', false); cap.fin('client', false); },
    }, this.host.highWater);
    // The flows exist from now on (a stall or hold applies to them before they attach); net.connect below takes
    // the downstream flow's first slab at once, and close() gives every slab back however the connection ends.
    this.up = up;
    this.down = down;
    const s = net.connect({ host: this.upstream.host, port: this.upstream.port, allowHalfOpen: true, noDelay: true, onread: down.onread });
    this.server = s;
    s.pause();
    s.on('error', (e: NodeJS.ErrnoException) => {
      // The client connected to the proxy but the proxy cannot reach the server: say so (the client only sees a
      // reset from the proxy's address).
      if (this.state === 'connecting') this.host.connectionEvent(this, 'upstream-connect-failed', { upstream: `${this.upstream.host}:${this.upstream.port}`, code: e.code ?? null, error: e.message });
      this.peerReset('server', e);
    });
    s.on('close', this.onClose);
    s.once('connect', () => {
      if (this.state === 'closed') return s.destroy();
      this.state = 'open';
      this.capture?.serverConnected(
        { address: s.localAddress ?? '127.0.0.1', port: s.localPort ?? 0 },
        { address: s.remoteAddress ?? this.upstream.host, port: s.remotePort ?? this.upstream.port },
        this.id * 0x9e3779b1,
      );
      const raw = this.client;
      // libuv reads into the flow's slabs (core/onread-socket.ts); half-open and the paused state are kept.
      const adopted = adoptWithOnread(raw, up.onread.buffer as () => Buffer, up.onread.callback as (n: number, b: Buffer) => boolean, { allowHalfOpen: true, pauseOnCreate: true });
      if (adopted) {
        raw.off('error', this.onClientError);
        raw.off('close', this.onClose);
        adopted.on('error', this.onClientError);
        adopted.on('close', this.onClose);
        this.client = adopted;
      }
      this.client.setNoDelay(true);
      up.attach(this.client, s, adopted !== null);
      down.attach(s, this.client, true);
      for (const f of [up, down]) {
        const st = this.host.initialState(f.direction);
        if (st.frozen) f.freeze();
        if (st.holdMs > 0) f.holdFor(st.holdMs);
        f.start();
      }
      // After the flows' own 'end' handlers: what is still queued toward the live peer is released, then FIN.
      this.client.on('end', () => this.peerEnd('client'));
      s.on('end', () => this.peerEnd('server'));
    });
  }

  private framer(hooks: FramerHooks): RpcFramer {
    const f = new RpcFramer(hooks);
    if (!this.host.rpcEnabled) f.rpc = false;
    return f;
  }

  flow(direction: Direction): Flow | undefined {
    return direction === 'upstream' ? this.up : this.down;
  }

  /** RST both sides. */
  reset(reason: string): void {
    if (this.state === 'closed' || this.resetting) return;
    this.resetting = true;
    this.closeReason = `reset: ${reason}`;
    this.capture?.rst('client', false);
    this.capture?.rst('server', true);
    rst(this.client);
    if (this.server) rst(this.server);
  }

  /** FIN both sides (after what is already queued in the sockets). */
  end(_reason: string): void {
    if (this.state === 'closed') return;
    this.capture?.fin('client', false);
    this.capture?.fin('server', true);
    this.client.end();
    this.server?.end();
  }

  /** A side sent FIN (seen only when the flow from it reads: a stall holds FINs back as it holds data). */
  private peerEnd(side: 'client' | 'server'): void {
    const toward = side === 'client' ? this.up : this.down;
    this.host.connectionEvent(this, 'peer-end', { side, queuedTowardPeer: toward?.queuedBytes ?? 0 });
  }

  /**
   * One side reset or failed (ECONNRESET, or EPIPE writing to a side that is gone): reset the other so the peer
   * sees what the proxy saw. Bytes still queued in the proxy are dropped when the sockets close (queued-dropped).
   */
  private peerReset(side: 'client' | 'server', err?: NodeJS.ErrnoException): void {
    if (this.resetting) return;
    this.resetting = true;
    this.closeReason = `${side} reset`;
    this.host.connectionEvent(this, 'peer-reset', { side, code: err?.code ?? null });
    if (side === 'client') {
      this.capture?.rst('client', true);
      this.capture?.rst('server', true);
      if (this.server) rst(this.server);
    } else {
      this.capture?.rst('server', false);
      this.capture?.rst('client', false);
      rst(this.client);
    }
  }

  private onSocketClose(): void {
    if (this.state === 'closed') return;
    const clientGone = this.client.destroyed;
    const serverGone = !this.server || this.server.destroyed;
    if (this.state === 'connecting' && clientGone && this.server && !this.server.destroyed) this.server.destroy();
    if (this.state === 'connecting' && this.server?.destroyed && !clientGone) {
      rst(this.client); // upstream refused: the client sees a reset, as with a refused connect
      return;
    }
    if (!(clientGone && serverGone)) return;
    this.state = 'closed';
    for (const f of [this.up, this.down]) {
      const bytes = f?.close() ?? 0;
      if (f && bytes > 0) this.host.connectionEvent(this, 'queued-dropped', { direction: f.direction, bytes, reason: this.closeReason });
    }
    this.host.closed(this);
  }

  info(): ConnectionInfo {
    const s = this.server;
    return {
      id: this.id,
      client: { address: this.client.remoteAddress ?? '', port: this.client.remotePort ?? 0 },
      ...(s && s.localPort ? { local: { address: s.localAddress ?? '', port: s.localPort } } : {}),
      upstream: this.upstream,
      openedMs: Math.round(this.openedAt),
      state: this.state,
      ...(this.up ? { upstreamFlow: this.up.snapshot(), downstreamFlow: this.down!.snapshot() } : {}),
    };
  }
}
