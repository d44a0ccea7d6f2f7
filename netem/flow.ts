// One direction of one proxied connection: read from `source`, let the faults plan, write to `dest` in order.
//
// Backpressure is end to end: the flow stops reading its source while its queue holds more than `highWater`
// bytes or the destination socket refuses writes, and resumes when both have drained — unless a hold fault
// says to keep reading. A stall freezes the flow: the source is paused (so the sender's kernel buffers and then
// its own userspace queue fill up) and nothing queued is written until the flow thaws.
//
// Reading (the relay's hot path): the source socket is made with `onread` (attach()), so libuv reads straight
// into a slab of the proxy's BufferPool instead of a fresh 64 KiB Buffer per read; when no fault rewrites the
// stream, that view of the slab is what gets written, and the same slab is read into again as soon as the write
// has completed (at once, usually: the kernel took the bytes). Fresh Buffers per read cost Node more than the
// copies (V8 external-memory GCs, page faults on new memory). Slabs grow from 64 KiB to 1 MiB while reads fill
// them (bulk: few, large reads and writes) and shrink when reads are small (an idle connection pins 64 KiB); while
// any fault is installed they stay at 64 KiB, the granularity counting triggers had with Node's own reads.
//
// Ownership: a slab belongs to the flow. A chunk read into it is handed to the passive framer, the taps and the
// faults' onChunk/onRecord hooks, none of which may keep it past the call (capture/sink.ts writes it before it
// returns), then queued
// as a piece that carries the slab; the slab is free again when that piece's socket write has completed, and is
// then read into again or released to the pool. When a fault plans units (may delay, slice, duplicate or drop
// them), whole records are needed, or the piece would wait in the queue, the chunk is copied out of the slab
// first into a fresh Buffer that the flow owns and never modifies, and the slab stays free. Sockets without
// `onread` deliver fresh chunks ('data').
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { BufferPool } from '../core/buffer-pool';
import type { FaultInstance, HookSite, UnitPlan, ConnectionHandle } from './fault';
import type { FramedUnit, RpcFramer } from './rpc-framer';
import type { Direction, RecordInfo } from './types';
import { DEFAULT_MSS } from './trigger';

export interface FlowHost {
  /** faults installed on the proxy, in order (a stable array replaced when the set changes) */
  faults(): readonly FaultInstance[];
  /** some installed fault needs whole records in this direction */
  needsRecords(direction: Direction): boolean;
  /** some installed fault plans units (has `plan`) in this direction */
  plans(direction: Direction): boolean;
  countIn(direction: Direction, bytes: number, packets: number): void;
  countOut(direction: Direction, bytes: number): void;
  countRecord(direction: Direction, rec: RecordInfo): void;
  /** a hook threw: the fault is removed and the error reported */
  faultFailed(f: FaultInstance, err: unknown): void;
  /** slabs that sockets read into */
  readonly readPool: BufferPool;
}

export interface FlowTaps {
  /** b is valid only during the call (it may be a view of a slab that is read into again) */
  read(b: Buffer): void;
  write(b: Buffer): void;
  /** the destination was ended (FIN) after the source ended */
  ended(): void;
}

export const DEFAULT_HIGH_WATER = 1024 * 1024;
/** Largest read (bytes libuv may read at once); never more than the flow's high-water mark. */
export const READ_SIZE = 1024 * 1024;
/** Smallest read slab: an idle or RPC-sized flow pins no more than this. */
export const MIN_READ_SIZE = 64 * 1024;

/** The net.Socket `onread` option of a flow's source socket. */
export type OnRead = net.OnReadOpts;

/** Bytes to write, the earliest real time to write them, and the slab they are a view of (freed once written). */
interface Queued {
  bytes: Buffer;
  at: number;
  slab?: Buffer;
}

export class Flow implements HookSite {
  private queue: Queued[] = [];
  private head = 0;
  queuedBytes = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** frozen by a stall: not reading, not writing */
  frozen = false;
  /** frozen as dropped (resume backoff): told the time of the sender's first bytes during the stall, once */
  private probe?: (realAt: number, sentBefore: boolean) => void;
  /** until the poll phase after the freeze has run: bytes read now were already in our kernel buffer */
  private probeEarly = false;
  /** real ms (performance.now) before which nothing is written; reading continues (hold) */
  holdUntil = 0;
  private source?: net.Socket;
  private dest?: net.Socket;
  private reading = false;
  private destBlocked = false;
  private sourceEnded = false;
  private destEnded = false;
  private lastAt = 0;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private deferred: Array<() => void> = [];
  closed = false;
  /** the slab libuv reads into next (onread sources) */
  private readBuf?: Buffer;
  /** slab size for the next read: x4 after a read that filled its slab, /4 after one that used 1/16 of it */
  private readSize = MIN_READ_SIZE;
  private readonly maxReadSize: number;
  /** per write handed to dest, in order: the slab it frees on completion (null: none) */
  private inflight: Array<Buffer | null> = [];
  private readonly written = (): void => {
    const slab = this.inflight.shift();
    if (slab && !this.closed) this.recycle(slab);
  };
  /** The source socket's `onread` option (net.connect, or an adopted accepted socket). */
  readonly onread: OnRead = {
    buffer: () => {
      if (this.readBuf && this.readBuf.length !== this.readSize) {
        this.host.readPool.release(this.readBuf);
        this.readBuf = undefined;
      }
      // At the page phase of the stream offset it will hold (core/buffer-pool.ts): the sender's socket pages hold
      // the stream contiguously, and the relay forwards it unchanged, so both copies run page to page (measured:
      // relay thread 313 against 353 µs per MB, under contention).
      const phase = this.bytesIn % 4096;
      this.readBuf = this.readBuf ? this.host.readPool.rephase(this.readBuf, phase) : this.host.readPool.take(this.readSize, phase);
      return this.readBuf;
    },
    callback: (n, buf) => {
      this.onRead(n, buf as Buffer);
      return true; // the flow pauses its source itself (updateReading)
    },
  };

  constructor(
    readonly conn: ConnectionHandle,
    readonly direction: Direction,
    private readonly framer: RpcFramer,
    private readonly host: FlowHost,
    private readonly taps: FlowTaps | undefined,
    private readonly highWater = DEFAULT_HIGH_WATER,
  ) {
    this.maxReadSize = Math.max(MIN_READ_SIZE, Math.min(READ_SIZE, highWater));
  }

  /**
   * Connects the flow to its sockets. `viaOnread`: the source was made with this.onread; otherwise its 'data'
   * chunks are read. Reading starts in start(); the source must be paused until then.
   */
  attach(source: net.Socket, dest: net.Socket, viaOnread: boolean): void {
    this.source = source;
    this.dest = dest;
    source.pause();
    if (!viaOnread) source.on('data', (c: Buffer) => this.onData(c));
    source.on('end', () => this.onEnd());
    dest.on('drain', () => {
      this.destBlocked = false;
      this.pump();
    });
  }

  /** HookSite: run fn after the current unit has been handed to the destination socket. */
  defer(fn: () => void): void {
    this.deferred.push(fn);
  }

  /** Starts reading (and writes anything read before attach(), should a socket have started reading early). */
  start(): void {
    this.pump();
  }

  /**
   * Stops writing and reading. With `probe`, the flow keeps reading until the sender's first bytes arrive (kept,
   * not written), reports their time and then stops: the moment a dropped stall would have dropped the sender's
   * first segment and started its retransmission timer. Bytes read in the first poll phase after the freeze were
   * sent before the stall (they sat in our socket's kernel buffer): `sentBefore`, in flight at the start. One read
   * (at most 64 KiB) more than a plain freeze.
   */
  freeze(probe?: (realAt: number, sentBefore: boolean) => void): void {
    this.frozen = true;
    this.probe = probe;
    if (probe) {
      // setImmediate runs after this loop turn's poll phase; the second one after the next poll phase.
      this.probeEarly = true;
      setImmediate(() => setImmediate(() => (this.probeEarly = false)));
    }
    this.clearTimer();
    this.updateReading();
  }

  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    this.probe = undefined;
    this.pump();
  }

  /**
   * Had the sender segments in flight when a stall that drops them began? Yes when bytes it sent wait in this flow
   * or in the destination's write queue (not yet delivered, so not acknowledged). Bytes still unread in our own
   * socket's kernel buffer are found by the probe (freeze's `sentBefore`).
   */
  inFlight(): boolean {
    return this.queuedBytes > 0 || (this.dest?.writableLength ?? 0) > 0;
  }

  holdFor(realMs: number): void {
    this.holdUntil = Math.max(this.holdUntil, performance.now() + realMs);
    this.updateReading();
    this.armTimer(this.holdUntil);
  }

  /** A read landed in `buf` (onread). */
  private onRead(n: number, buf: Buffer): void {
    if (this.closed) return;
    // With a fault installed, reads stay at Node's usual 64 KiB, so "every N packets/chunks/bytes" triggers fire
    // as close to the Nth unit as before (a stall lands inside a 1 MiB WRITE, not after it).
    const max = this.host.faults().length > 0 ? MIN_READ_SIZE : this.maxReadSize;
    if (n === buf.length) this.readSize = Math.min(max, this.readSize * 4);
    else if (n <= buf.length >> 4) this.readSize = Math.max(MIN_READ_SIZE, this.readSize >> 2);
    if (this.readSize > max) this.readSize = max;
    const chunk = buf.subarray(0, n);
    const d = this.direction;
    // A slab goes with its piece only when the piece is written now: faults that plan may keep pieces, and what
    // waits in the queue (stall, hold, backpressure) would pin a whole slab per read. Those get bytes of their own.
    const waits = this.frozen || this.destBlocked || this.head < this.queue.length || (this.holdUntil > 0 && this.holdUntil > performance.now());
    if (waits || this.framer.recordMode || (this.host.faults().length > 0 && (this.host.plans(d) || this.host.needsRecords(d)))) {
      const own = Buffer.allocUnsafe(n);
      chunk.copy(own, 0);
      this.onData(own);
      return;
    }
    this.readBuf = undefined; // the slab goes with the piece until written
    this.onData(chunk, buf);
  }

  /** `slab`: chunk is a view of this pooled slab, owned by the flow (never set when a fault plans or frames). */
  private onData(chunk: Buffer, slab?: Buffer): void {
    const now = performance.now();
    if (this.frozen && this.probe) {
      const p = this.probe;
      this.probe = undefined;
      p(now, this.probeEarly);
    }
    this.bytesIn += chunk.length;
    this.host.countIn(this.direction, chunk.length, Math.ceil(chunk.length / DEFAULT_MSS));
    this.taps?.read(chunk);
    const faults = this.host.faults();
    const flushed = this.framer.setRecordMode(faults.length > 0 && this.host.needsRecords(this.direction));
    for (const u of flushed) this.unit(u, now, faults);
    for (const f of faults) if (f.onChunk) this.guard(f, () => f.onChunk!(this, chunk));
    let units = this.framer.push(chunk);
    // The passive framer gives the chunk back as the one unit: the queued piece takes the slab with it.
    const owner = slab && units.length === 1 && units[0].bytes.buffer === slab.buffer ? slab : undefined;
    if (slab && !owner) {
      units = units.map((u) => (u.bytes.buffer === slab.buffer ? { ...u, bytes: Buffer.from(u.bytes) } : u));
      this.recycle(slab);
    }
    for (const u of units) this.unit(u, now, faults, owner);
    this.pump();
    this.runDeferred();
  }

  private unit(u: FramedUnit, now: number, faults: readonly FaultInstance[], slab?: Buffer): void {
    const { bytes, records } = u;
    for (const rec of records) {
      this.host.countRecord(this.direction, rec);
      for (const f of faults) if (f.onRecord) this.guard(f, () => f.onRecord!(this, rec));
    }
    if (faults.length === 0 || !this.host.plans(this.direction)) {
      if (bytes.length) this.enqueue(bytes, now, slab);
      else if (slab) this.recycle(slab);
      return;
    }
    const plan: UnitPlan = { direction: this.direction, conn: this.conn, records, now, pieces: [{ bytes, at: now }] };
    for (const f of faults) if (f.plan && f.directions.has(this.direction)) this.guard(f, () => f.plan!(plan));
    for (const p of plan.pieces) if (p.bytes.length) this.enqueue(p.bytes, p.at);
  }

  private guard(f: FaultInstance, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.host.faultFailed(f, err);
    }
  }

  private enqueue(bytes: Buffer, at: number, slab?: Buffer): void {
    // TCP delivers in order: a piece is never written before the one queued ahead of it.
    const t = at > this.lastAt ? at : this.lastAt;
    this.lastAt = t;
    this.queue.push({ bytes, at: t, slab });
    this.queuedBytes += bytes.length;
  }

  private onEnd(): void {
    this.sourceEnded = true;
    const now = performance.now();
    const faults = this.host.faults();
    for (const u of this.framer.flush()) this.unit(u, now, faults);
    this.pump();
    this.runDeferred();
  }

  /** Writes every piece that is due, unless frozen or the destination pushes back. */
  pump(): void {
    if (this.closed || !this.dest) return;
    let now = 0;
    while (this.head < this.queue.length && !this.frozen && !this.destBlocked) {
      const p = this.queue[this.head];
      const due = p.at > this.holdUntil ? p.at : this.holdUntil;
      if (due > now + 0.05 && due > (now = performance.now()) + 0.05) {
        this.armTimer(due);
        break;
      }
      this.head++;
      this.queuedBytes -= p.bytes.length;
      this.write(p.bytes, p.slab);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.head === this.queue.length && this.sourceEnded && !this.destEnded && !this.frozen && !this.destBlocked) {
      this.destEnded = true;
      if (!this.dest.destroyed) {
        this.dest.end();
        this.taps?.ended();
      }
    }
    this.updateReading();
  }

  private write(b: Buffer, slab: Buffer | undefined): void {
    const dest = this.dest!;
    if (dest.destroyed || dest.writableEnded) {
      if (slab) this.recycle(slab);
      return;
    }
    this.bytesOut += b.length;
    this.host.countOut(this.direction, b.length);
    this.taps?.write(b);
    const ok = dest.write(b, this.written);
    // Nothing left in the socket's queue: the kernel took every byte already and libuv keeps no pointer.
    if (dest.writableLength === 0) {
      this.inflight.push(null);
      if (slab) this.recycle(slab);
    } else this.inflight.push(slab ?? null);
    if (!ok) this.destBlocked = true;
  }

  /** A slab is free: read into it next, or give it back. */
  private recycle(slab: Buffer): void {
    if (!this.readBuf && slab.length === this.readSize) this.readBuf = slab;
    else this.host.readPool.release(slab);
  }

  private runDeferred(): void {
    while (this.deferred.length) this.deferred.shift()!();
  }

  private updateReading(): void {
    const src = this.source;
    if (!src || this.sourceEnded || src.destroyed) return;
    const holding = this.holdUntil > 0 && this.holdUntil > performance.now();
    const read = (!this.frozen || this.probe !== undefined) && (holding || (!this.destBlocked && this.queuedBytes < this.highWater));
    if (read === this.reading) return;
    this.reading = read;
    if (read) src.resume();
    else src.pause();
  }

  private armTimer(at: number): void {
    if (this.timer && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.pump();
    }, Math.max(0, at - performance.now()));
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  /**
   * Stops the flow once both sockets are closed (libuv no longer reads into or writes from any slab); returns
   * how many queued bytes were dropped (never written). Every slab goes back to the pool.
   */
  close(): number {
    if (this.closed) return 0;
    const dropped = this.queuedBytes;
    this.closed = true;
    this.clearTimer();
    const pool = this.host.readPool;
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i].slab) pool.release(this.queue[i].slab!);
    for (const slab of this.inflight) if (slab) pool.release(slab);
    if (this.readBuf) pool.release(this.readBuf);
    this.readBuf = undefined;
    this.inflight = [];
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    return dropped;
  }

  snapshot() {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut, queuedBytes: this.queuedBytes, frozen: this.frozen, ended: this.destEnded };
  }
}
