// The netem proxy: listen, dial the upstream per accepted connection, relay both directions through the installed
// faults, keep metrics and an event log, optionally capture both legs to a pcap. Programmatic entry: createProxy().
import fs from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { BufferPool } from '../core/buffer-pool';
import { ConfigError, NetemError } from '../core/errors';
import { TimeScale } from '../core/units';
import type { CaptureIo, CaptureIoChoice } from './capture/capture-io';
import { ConnectionCapture, PcapSink, sidecarPath } from './capture/sink';
import { startTcpdump, type TcpdumpCapture } from './capture/tcpdump';
import { annotate } from '../captures/annotate';
import { Connection, type ConnectionHost, type ConnectionInfo } from './connection';
import { EventLog } from './events';
import type { FaultContext, FaultInstance, StallRequest } from './fault';
import { createFault } from './faults';
import { directionsOf, modelMs } from './faults/common';
import { LINUX_RTO_MAX_MS, LINUX_RTO_MIN_MS, rtoReleaseAfter } from './faults/stall';
import { DEFAULT_HIGH_WATER, READ_SIZE } from './flow';
import { hashSeed, Prng } from '../core/prng';
import { procName, type CallFacts } from './rpc-framer';
import type { Direction, DirectionSpec, Duration, FaultSpec, NetemEvent, RecordInfo, ResumePolicy } from './types';

export interface ProxyOptions {
  /** name in events and the control API (default "netem") */
  name?: string;
  /** default 127.0.0.1 port 0; `handle`: a listening socket made elsewhere that the proxy takes over (one bound
   * inside a network namespace by lab/linux/netns.ts, so a guest's TCP peer is this proxy itself) */
  listen?: { host?: string; port?: number; handle?: net.Server };
  upstream: { host: string; port: number };
  /** every modelled duration is multiplied by this (default 1) */
  timeScale?: number;
  /** seed of every random decision (default 1) */
  seed?: number | string;
  faults?: FaultSpec[];
  /** write a synthesized pcap of both legs here, and FILE.events.jsonl next to it */
  capture?: string;
  /** synth (default): the proxy writes the pcap itself; tcpdump: real loopback capture (root + tcpdump) */
  captureWith?: 'synth' | 'tcpdump';
  /** how the synthesized capture is written (netem/capture/capture-io.ts; default auto: the page cache for the first 64 MiB, then O_DIRECT; see CAPTURE_IO_DEFAULT) */
  captureIo?: CaptureIo;
  /** also append fault events as JSON lines here */
  eventLog?: string;
  /** parse record marking to count calls/replies and allow record-level faults (default true) */
  rpc?: boolean;
  /** per-flow queue size above which the proxy stops reading (default 1 MiB) */
  highWater?: number;
}

export interface StallNowOptions {
  resume?: ResumePolicy;
  direction?: DirectionSpec;
  rtoInitial?: Duration;
  rtoMax?: Duration;
}

export interface DirectionMetrics {
  bytesIn: number;
  bytesOut: number;
  chunks: number;
  /** ceil(chunk / 1448) summed: MSS-sized packets */
  packets: number;
  records: number;
  calls: Record<string, number>;
  replies: Record<string, number>;
}

export interface ProxyMetrics {
  name: string;
  listen: { host: string; port: number };
  upstream: { host: string; port: number };
  uptimeMs: number;
  connections: { active: number; total: number };
  upstreamDir: DirectionMetrics;
  downstreamDir: DirectionMetrics;
  stalls: number;
  /** real ms spent with at least one direction frozen by a stall */
  stalledMs: number;
  stalling: boolean;
  faults: Array<{ id: string; kind: string; fired: number }>;
  events: number;
}

export interface FaultInfo {
  id: string;
  kind: string;
  spec: FaultSpec;
  fired: number;
}

const emptyDir = (): DirectionMetrics => ({ bytesIn: 0, bytesOut: 0, chunks: 0, packets: 0, records: 0, calls: {}, replies: {} });

interface Installed {
  inst: FaultInstance;
  timers: Set<NodeJS.Timeout>;
}

/** How long close() waits for sockets and the listener to close (real ms). */
const CLOSE_WAIT_MS = 3000;

export class Proxy implements ConnectionHost {
  readonly name: string;
  readonly upstream: { host: string; port: number };
  readonly timeScale: TimeScale;
  readonly seed: number | string;
  readonly rpcEnabled: boolean;
  readonly highWater: number;
  readonly log: EventLog;
  readonly capturePath?: string;
  private readonly server: net.Server;
  private readonly conns = new Map<number, Connection>();
  private nextConn = 1;
  private totalConns = 0;
  private installed: Installed[] = [];
  private faultList: FaultInstance[] = [];
  private recordDirs = new Set<Direction>();
  private planDirs = new Set<Direction>();
  /** slabs the sockets read into (flow.ts): allocated once, reused by every connection */
  readonly readPool = new BufferPool({ granule: 64 * 1024, maxIdleBytes: 8 * READ_SIZE });
  private nextFaultId = new Map<string, number>();
  private readonly callCounts = new Map<string, number>();
  private readonly dirs: Record<Direction, DirectionMetrics> = { upstream: emptyDir(), downstream: emptyDir() };
  private readonly timers = new Set<NodeJS.Timeout>();
  private stallActive?: { frozen: Set<Direction>; started: number };
  /**
   * True from a release until the next check phase: the bytes the stall held (in our sockets' kernel buffers) are
   * read in this loop turn's poll phase, every direction's, before a new stall may freeze them again. Without it
   * a megabyte of held client->server bytes crosses the next "every N packets" threshold inside one read burst,
   * and the held replies are frozen again before they were read (held packets are reinjected together).
   */
  private reinjecting = false;
  private deferredStall?: StallRequest;
  private stalls = 0;
  private stalledMs = 0;
  private holdUntil: Record<Direction, number> = { upstream: 0, downstream: 0 };
  private sink?: PcapSink;
  /** the classic pcap written while running when the capture asked for is pcapng */
  private rawCapture?: string;
  private tcpdump?: TcpdumpCapture;
  private isClosed = false;
  private listenAddr = { host: '127.0.0.1', port: 0 };

  constructor(private readonly opts: ProxyOptions) {
    if (!opts.upstream || !opts.upstream.host || !(opts.upstream.port > 0 && opts.upstream.port < 65536)) {
      throw new ConfigError('NETEM_UPSTREAM', 'upstream needs host and port');
    }
    this.name = opts.name ?? 'netem';
    this.upstream = { host: opts.upstream.host, port: opts.upstream.port };
    this.timeScale = new TimeScale(opts.timeScale ?? 1);
    this.seed = opts.seed ?? 1;
    this.rpcEnabled = opts.rpc !== false;
    this.highWater = opts.highWater ?? DEFAULT_HIGH_WATER;
    this.log = new EventLog(this.name, this.timeScale.factor);
    if (opts.capture) {
      this.capturePath = opts.capture;
      // FILE.pcapng: the relay writes a classic pcap beside it, annotated into FILE.pcapng at close.
      if (/\.pcapng$/i.test(opts.capture)) this.rawCapture = `${opts.capture}.raw.pcap`;
      if (opts.captureWith !== 'tcpdump') this.sink = new PcapSink(this.rawCapture ?? opts.capture, opts.captureIo);
      this.log.addFile(sidecarPath(opts.capture));
    }
    if (opts.eventLog) this.log.addFile(opts.eventLog);
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.accept(s));
    // Faults given at construction act a timer's turn later (0 ms), once whoever created the proxy has had the
    // chance to listen to its events; the proxy is not listening yet, so no byte can pass them meanwhile.
    for (const f of opts.faults ?? []) {
      this.installFault(f, (inst, ctx) => ctx.setTimer(() => inst.installed?.(), 0));
    }
  }

  /** Starts listening; resolves when the address is known. */
  listen(): Promise<this> {
    const host = this.opts.listen?.host ?? '127.0.0.1';
    const port = this.opts.listen?.port ?? 0;
    return new Promise((resolve, reject) => {
      const onErr = (e: Error) => reject(new NetemError('NETEM_LISTEN', `cannot listen on ${host}:${port}: ${e.message}`));
      this.server.once('error', onErr);
      this.server.listen(this.opts.listen?.handle ?? { host, port }, () => {
        this.server.off('error', onErr);
        const a = this.server.address() as net.AddressInfo;
        this.listenAddr = { host: a.address, port: a.port };
        this.log.emit({ source: 'proxy', kind: 'proxy', event: 'listen', listen: this.listenAddr, upstream: this.upstream, timeScale: this.timeScale.factor, seed: this.seed });
        if (this.opts.captureWith === 'tcpdump' && this.capturePath) {
          startTcpdump(this.rawCapture ?? this.capturePath, [this.listenAddr.port, this.upstream.port]).then((t) => {
            this.tcpdump = t;
            resolve(this);
          }, reject);
        } else resolve(this);
      });
    });
  }

  /** What the synthesized capture is written with and why (undefined: no capture, or tcpdump's). */
  get captureIo(): CaptureIoChoice | undefined {
    return this.sink?.io;
  }

  /** Makes the capture readable to its last record now (it is also flushed every second and at close). */
  flushCapture(): void {
    this.sink?.flush();
  }

  /** The listen address (clients connect here). */
  get address(): { host: string; port: number } {
    return { ...this.listenAddr };
  }

  get events(): readonly NetemEvent[] {
    return this.log.events;
  }

  onEvent(listener: (e: NetemEvent) => void): () => void {
    return this.log.on(listener);
  }

  /** Resolves with the first event (already logged or future) named `event` that satisfies `match`. */
  waitForEvent(event: string, match: (e: NetemEvent) => boolean = () => true): Promise<NetemEvent> {
    const seen = this.log.events.find((e) => e.event === event && match(e));
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => {
      const off = this.log.on((e) => {
        if (e.event === event && match(e)) {
          off();
          resolve(e);
        }
      });
    });
  }

  // ---- faults -------------------------------------------------------------------------------------------------

  /** Installs a fault on the live proxy; throws ConfigError on a bad spec. Returns its id. */
  addFault(spec: FaultSpec): FaultInfo {
    return this.installFault(spec, (inst) => inst.installed?.());
  }

  /** `start` runs once the fault is in the hook lists (FaultInstance.installed: now, or on the fault's own timer). */
  private installFault(spec: FaultSpec, start: (inst: FaultInstance, ctx: FaultContext) => void): FaultInfo {
    if (!spec || typeof spec !== 'object') throw new ConfigError('NETEM_FAULT', 'fault spec must be an object');
    const id = spec.id ?? this.newFaultId(spec.kind);
    if (this.installed.some((i) => i.inst.id === id)) throw new ConfigError('NETEM_FAULT_EXISTS', `fault ${id} already exists`);
    const timers = new Set<NodeJS.Timeout>();
    const ctx = this.faultContext(id, spec.kind, timers);
    const inst = createFault({ ...spec, id } as FaultSpec, ctx);
    this.installed.push({ inst, timers });
    this.rebuild();
    this.log.emit({ source: id, kind: spec.kind, event: 'fault-added', spec: inst.spec });
    start(inst, ctx);
    return this.faultInfo(inst);
  }

  /** Replaces a fault's spec (fields merged; counters restart). */
  updateFault(id: string, patch: Partial<FaultSpec>): FaultInfo {
    const cur = this.installed.find((i) => i.inst.id === id);
    if (!cur) throw new NetemError('NETEM_NO_FAULT', `no fault ${id}`);
    const spec = { ...cur.inst.spec, ...patch, id, kind: cur.inst.kind } as FaultSpec;
    const timers = new Set<NodeJS.Timeout>();
    const inst = createFault(spec, this.faultContext(id, spec.kind, timers)); // validate before removing the old one
    this.dropInstalled(cur);
    this.installed.splice(this.installed.indexOf(cur), 0, { inst, timers });
    this.installed = this.installed.filter((i) => i !== cur);
    this.rebuild();
    this.log.emit({ source: id, kind: spec.kind, event: 'fault-updated', spec: inst.spec });
    inst.installed?.();
    return this.faultInfo(inst);
  }

  removeFault(id: string): boolean {
    const cur = this.installed.find((i) => i.inst.id === id);
    if (!cur) return false;
    this.dropInstalled(cur);
    this.installed = this.installed.filter((i) => i !== cur);
    this.rebuild();
    this.log.emit({ source: id, kind: cur.inst.kind, event: 'fault-removed' });
    return true;
  }

  listFaults(): FaultInfo[] {
    return this.installed.map((i) => this.faultInfo(i.inst));
  }

  getFault(id: string): FaultInfo | undefined {
    const i = this.installed.find((x) => x.inst.id === id);
    return i && this.faultInfo(i.inst);
  }

  /** Removes every fault and releases any running stall or hold (Toxiproxy's reset). */
  reset(): void {
    for (const i of [...this.installed]) this.removeFault(i.inst.id);
    this.holdUntil = { upstream: 0, downstream: 0 };
    if (this.stallActive) this.release(new Set(this.stallActive.frozen), 'reset');
    for (const c of this.conns.values()) for (const f of [c.up, c.down]) if (f) { f.holdUntil = 0; f.pump(); }
  }

  /** Stalls now for a modelled duration (the API's "stall now for S"). False when a stall is already running. */
  stallNow(duration: Duration, o: StallNowOptions = {}): boolean {
    const d = modelMs(duration, 'duration');
    const resume = o.resume ?? 'together';
    const rto0 = modelMs(o.rtoInitial ?? LINUX_RTO_MIN_MS, 'rtoInitial');
    const rtoMax = modelMs(o.rtoMax ?? LINUX_RTO_MAX_MS, 'rtoMax');
    return this.stall({
      durationMs: this.timeScale.real(d),
      resume,
      rtoInitialMs: this.timeScale.real(rto0),
      rtoMaxMs: this.timeScale.real(rtoMax),
      directions: directionsOf({ direction: o.direction }),
      source: 'api',
      facts: { reason: 'stall-now', modelDurationMs: d },
    });
  }

  private faultInfo(inst: FaultInstance): FaultInfo {
    return { id: inst.id, kind: inst.kind, spec: inst.spec, fired: inst.fired };
  }

  private newFaultId(kind: string): string {
    for (;;) {
      const n = (this.nextFaultId.get(kind) ?? 0) + 1;
      this.nextFaultId.set(kind, n);
      const id = `${kind}-${n}`;
      if (!this.installed.some((i) => i.inst.id === id)) return id;
    }
  }

  private dropInstalled(i: Installed): void {
    for (const t of i.timers) clearTimeout(t);
    i.timers.clear();
    i.inst.stop?.();
  }

  private rebuild(): void {
    this.faultList = this.installed.map((i) => i.inst);
    this.recordDirs = new Set();
    this.planDirs = new Set();
    for (const f of this.faultList) {
      if (f.needsRecords) for (const d of f.directions) this.recordDirs.add(d);
      if (f.plan) for (const d of f.directions) this.planDirs.add(d);
    }
  }

  private faultContext(id: string, kind: string, timers: Set<NodeJS.Timeout>): FaultContext {
    return {
      id,
      timeScale: this.timeScale,
      rng: new Prng(hashSeed(this.seed, id)),
      emit: (e) => this.log.emit({ ...e, source: id, kind }),
      stall: (req) => this.stall(req),
      hold: (dirs, ms) => this.hold(dirs, ms),
      connections: () => [...this.conns.values()],
      setTimer: (fn, ms) => {
        const t = setTimeout(() => {
          timers.delete(t);
          fn();
        }, ms);
        timers.add(t);
      },
    };
  }

  // ---- stall and hold mechanism -------------------------------------------------------------------------------

  private stall(req: StallRequest): boolean {
    if (this.isClosed) return false;
    if (this.reinjecting && !this.stallActive && !this.deferredStall) {
      this.deferredStall = req;
      return true;
    }
    if (this.stallActive || this.deferredStall) {
      this.log.emit({ source: req.source, kind: 'stall', event: 'stall-skipped', reason: 'a stall is already running', ...req.facts });
      return false;
    }
    const frozen = new Set(req.directions);
    const started = performance.now();
    const active = (this.stallActive = { frozen, started });
    this.stalls++;
    // Dropped (backoff): when did each sender lose its first segment? At the start if bytes were in flight, else
    // at its first bytes during the stall (the flow's probe); never, if it sent nothing.
    const firstDrop: Partial<Record<Direction, number>> = {};
    for (const d of frozen) {
      const flows = [...this.conns.values()].map((c) => c.flow(d)).filter((f): f is NonNullable<typeof f> => f !== undefined);
      if (req.resume === 'backoff' && flows.some((f) => f.inFlight())) firstDrop[d] = started;
      const probe = req.resume === 'backoff' ? (at: number, sentBefore: boolean) => void (firstDrop[d] ??= sentBefore ? started : at) : undefined;
      for (const f of flows) f.freeze(probe);
    }
    this.log.emit({
      source: req.source,
      kind: 'stall',
      event: 'stall-start',
      durationMs: req.durationMs,
      resume: req.resume,
      directions: [...frozen],
      bytesOut: { upstream: this.dirs.upstream.bytesOut, downstream: this.dirs.downstream.bytesOut },
      ...req.facts,
    });
    this.timer(() => {
      if (this.stallActive !== active) return; // reset meanwhile
      const end = started + req.durationMs; // the modelled end, whatever this timer's lag
      for (const d of [...frozen]) {
        const drop = firstDrop[d];
        if (req.resume === 'together' || drop === undefined) {
          this.release(new Set([d]), req.source, { cause: req.resume === 'together' ? 'held packets reinjected' : 'nothing dropped in this direction' });
          continue;
        }
        // The sender's next RTO expiry at or after the end: its timer started at the first dropped segment.
        const at = drop + rtoReleaseAfter(end - drop, req.rtoInitialMs, req.rtoMaxMs);
        const facts = { cause: 'sender RTO expiry', modelFirstDropMs: this.timeScale.model(drop - started), modelAfterEndMs: this.timeScale.model(at - end) };
        this.timer(() => this.stallActive === active && this.release(new Set([d]), req.source, facts), Math.max(0, at - performance.now()));
      }
    }, req.durationMs);
    return true;
  }

  private release(dirs: Set<Direction>, source: string, facts: Record<string, unknown> = {}): void {
    const st = this.stallActive;
    if (!st) return;
    for (const d of dirs) {
      if (!st.frozen.delete(d)) continue;
      this.log.emit({ source, kind: 'stall', event: `release-${d}`, bytesOut: this.dirs[d].bytesOut, ...facts });
      if (!this.reinjecting) {
        this.reinjecting = true;
        setImmediate(() => {
          this.reinjecting = false;
          const next = this.deferredStall;
          this.deferredStall = undefined;
          if (next) this.stall(next);
        });
      }
      for (const c of this.conns.values()) c.flow(d)?.thaw();
    }
    if (st.frozen.size === 0) {
      this.stalledMs += performance.now() - st.started;
      this.stallActive = undefined;
      this.log.emit({ source, kind: 'stall', event: 'stall-end' });
    }
  }

  private hold(dirs: ReadonlySet<Direction>, ms: number): void {
    const until = performance.now() + ms;
    for (const d of dirs) {
      this.holdUntil[d] = Math.max(this.holdUntil[d], until);
      for (const c of this.conns.values()) c.flow(d)?.holdFor(ms);
    }
    this.timer(() => this.log.emit({ source: 'proxy', kind: 'hold', event: 'hold-end' }), ms);
  }

  /**
   * Ends a running hold in these directions now, before its duration: for a schedule driven by observed events
   * (lab/linux/seed-order.ts), whose hold's duration is only its bound.
   */
  endHold(dirs: ReadonlySet<Direction>, source: string): void {
    for (const d of dirs) {
      if (this.holdUntil[d] <= performance.now()) continue;
      this.holdUntil[d] = 0;
      for (const c of this.conns.values()) {
        const f = c.flow(d);
        if (f) {
          f.holdUntil = 0;
          f.pump();
        }
      }
      this.log.emit({ source, kind: 'hold', event: 'hold-end', direction: d, cause: 'ended early' });
    }
  }

  /** Ends the running stall now, before its duration (see endHold); false when none is running. */
  endStall(source: string): boolean {
    if (!this.stallActive) return false;
    this.release(new Set(this.stallActive.frozen), source, { cause: 'ended early' });
    return true;
  }

  /** Runs fn after `realMs` unless the proxy closes first (schedules use it). */
  runAfter(realMs: number, fn: () => void): void {
    this.timer(fn, realMs);
  }

  private timer(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  // ---- ConnectionHost / FlowHost ------------------------------------------------------------------------------

  faults(): readonly FaultInstance[] {
    return this.faultList;
  }

  needsRecords(direction: Direction): boolean {
    return this.recordDirs.has(direction);
  }

  plans(direction: Direction): boolean {
    return this.planDirs.has(direction);
  }

  countIn(direction: Direction, bytes: number, packets: number): void {
    const m = this.dirs[direction];
    m.bytesIn += bytes;
    m.chunks++;
    m.packets += packets;
  }

  countOut(direction: Direction, bytes: number): void {
    this.dirs[direction].bytesOut += bytes;
  }

  countRecord(direction: Direction, rec: RecordInfo): void {
    const m = this.dirs[direction];
    m.records++;
    const name = rec.procName ?? 'unknown';
    const table = rec.type === 'call' ? m.calls : m.replies;
    table[name] = (table[name] ?? 0) + 1;
  }

  numberCall(prog: number, vers: number, proc: number): CallFacts {
    const key = `${prog}.${proc}`;
    const n = (this.callCounts.get(key) ?? 0) + 1;
    this.callCounts.set(key, n);
    return { prog, vers, proc, procName: procName(prog, proc), callNumber: n };
  }

  faultFailed(f: FaultInstance, err: unknown): void {
    this.log.emit({ source: f.id, kind: f.kind, event: 'fault-error', error: String((err as Error)?.message ?? err) });
    this.removeFault(f.id);
  }

  initialState(direction: Direction): { frozen: boolean; holdMs: number } {
    return { frozen: this.stallActive?.frozen.has(direction) ?? false, holdMs: Math.max(0, this.holdUntil[direction] - performance.now()) };
  }

  connectionEvent(conn: Connection, event: string, facts: Record<string, unknown>): void {
    this.log.emit({ source: 'proxy', kind: 'proxy', event, conn: conn.id, ...facts });
  }

  closed(conn: Connection): void {
    this.conns.delete(conn.id);
    for (const f of this.faultList) f.onClose?.(conn.id);
    this.log.emit({ source: 'proxy', kind: 'proxy', event: 'connection-closed', conn: conn.id });
  }

  private accept(client: net.Socket): void {
    if (this.isClosed) return void client.destroy();
    const id = this.nextConn++;
    this.totalConns++;
    const cap = this.sink
      ? new ConnectionCapture(
          this.sink,
          { address: client.remoteAddress ?? '127.0.0.1', port: client.remotePort ?? 0 },
          { address: client.localAddress ?? this.listenAddr.host, port: client.localPort ?? this.listenAddr.port },
          hashSeed(this.seed, 'isn', id),
        )
      : undefined;
    const conn = new Connection(id, client, this.upstream, this, cap);
    this.conns.set(id, conn);
    this.log.emit({ source: 'proxy', kind: 'proxy', event: 'connection-open', conn: id, client: { address: client.remoteAddress, port: client.remotePort } });
    conn.connect();
  }

  // ---- inspection -----------------------------------------------------------------------------------------------

  connections(): ConnectionInfo[] {
    return [...this.conns.values()].map((c) => c.info());
  }

  /** RST one connection (both sides). */
  resetConnection(id: number): boolean {
    const c = this.conns.get(id);
    if (!c) return false;
    this.log.emit({ source: 'api', kind: 'reset', event: 'reset', conn: id });
    c.reset('api');
    return true;
  }

  metrics(): ProxyMetrics {
    const clone = (m: DirectionMetrics): DirectionMetrics => ({ ...m, calls: { ...m.calls }, replies: { ...m.replies } });
    return {
      name: this.name,
      listen: this.address,
      upstream: this.upstream,
      uptimeMs: Math.round(this.log.now()),
      connections: { active: this.conns.size, total: this.totalConns },
      upstreamDir: clone(this.dirs.upstream),
      downstreamDir: clone(this.dirs.downstream),
      stalls: this.stalls,
      stalledMs: Math.round(this.stalledMs + (this.stallActive ? performance.now() - this.stallActive.started : 0)),
      stalling: this.stallActive !== undefined,
      faults: this.installed.map((i) => ({ id: i.inst.id, kind: i.inst.kind, fired: i.inst.fired })),
      events: this.log.events.length,
    };
  }

  /** Stops listening, drops every connection, clears timers, flushes the capture and the event log. */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    for (const i of this.installed) this.dropInstalled(i);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closing = new Promise<void>((res) => this.server.close(() => res()));
    const sockets: Promise<void>[] = [];
    for (const c of this.conns.values()) {
      for (const s of [c.client, c.server]) {
        if (!s || s.closed) continue;
        sockets.push(new Promise((res) => s.once('close', () => res())));
        s.destroy();
      }
    }
    // A socket whose reset libuv refused can keep its handle (and so the listener) open forever: never let
    // close() hang on one; say so in the event log instead.
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      Promise.all([closing, ...sockets]).then(() => true),
      new Promise<false>((res) => (timer = setTimeout(() => res(false), CLOSE_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (!done) this.log.emit({ source: 'proxy', kind: 'proxy', event: 'close-timeout', waitedMs: CLOSE_WAIT_MS });
    this.log.emit({ source: 'proxy', kind: 'proxy', event: 'closed' });
    await this.sink?.close();
    const tcpdump = await this.tcpdump?.stop();
    // tcpdump's own counts (pcap_stats): a capture with packets the kernel dropped is lossy, and says so here and
    // in the event log beside it, which inspect reads (captures/inspect.ts sidecarOf).
    if (tcpdump) this.log.emit({ source: 'proxy', kind: 'capture', event: 'tcpdump-stats', ...tcpdump });
    else if (this.tcpdump) this.log.emit({ source: 'proxy', kind: 'capture', event: 'tcpdump-stats-missing' });
    await this.log.close();
    if (this.rawCapture && this.capturePath && fs.existsSync(this.rawCapture)) {
      // Packet comments on every copy of a duplicated XID and on the fault events, one interface per leg.
      await annotate([this.rawCapture], this.capturePath, {
        events: this.log.events,
        eventsEpochMs: performance.timeOrigin + this.log.started,
        timeScale: this.timeScale.factor,
        ports: [this.listenAddr.port, this.upstream.port],
      });
      fs.rmSync(this.rawCapture, { force: true });
    }
  }
}

/** Creates a proxy and starts listening. */
export async function createProxy(opts: ProxyOptions): Promise<Proxy> {
  const p = new Proxy(opts);
  try {
    return await p.listen();
  } catch (e) {
    await p.close().catch(() => undefined);
    throw e;
  }
}
