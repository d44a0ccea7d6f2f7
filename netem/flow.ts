// One direction of one proxied connection: read from `source`, let the faults plan, write to `dest` in order.
//
// Backpressure is end to end: the flow stops reading its source while its queue holds more than `highWater`
// bytes or the destination socket refuses writes, and resumes when both have drained — unless a hold fault
// says to keep reading. A stall freezes the flow: the source is paused (so the sender's kernel buffers and then
// its own userspace queue fill up) and nothing queued is written until the flow thaws.
//
// Ownership: chunks read from `source` are fresh Buffers owned by the flow; they are written (possibly twice,
// possibly in slices) and captured by reference and never modified.
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { FaultInstance, HookSite, Piece, UnitPlan, ConnectionHandle } from './fault';
import type { RpcFramer } from './rpc-framer';
import type { Direction, RecordInfo } from './types';
import { DEFAULT_MSS } from './trigger';

export interface FlowHost {
  /** faults installed on the proxy, in order (a stable array replaced when the set changes) */
  faults(): readonly FaultInstance[];
  /** some installed fault needs whole records in this direction */
  needsRecords(direction: Direction): boolean;
  countIn(direction: Direction, bytes: number, packets: number): void;
  countOut(direction: Direction, bytes: number): void;
  countRecord(direction: Direction, rec: RecordInfo): void;
  /** a hook threw: the fault is removed and the error reported */
  faultFailed(f: FaultInstance, err: unknown): void;
}

export interface FlowTaps {
  read(b: Buffer): void;
  write(b: Buffer): void;
  /** the destination was ended (FIN) after the source ended */
  ended(): void;
}

export const DEFAULT_HIGH_WATER = 1024 * 1024;

export class Flow implements HookSite {
  private queue: Piece[] = [];
  private head = 0;
  queuedBytes = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** frozen by a stall: not reading, not writing */
  frozen = false;
  /** real ms (performance.now) before which nothing is written; reading continues (hold) */
  holdUntil = 0;
  private destBlocked = false;
  private sourceEnded = false;
  private destEnded = false;
  private lastAt = 0;
  private timer?: NodeJS.Timeout;
  private timerAt = Infinity;
  private deferred: Array<() => void> = [];
  closed = false;

  constructor(
    readonly conn: ConnectionHandle,
    readonly direction: Direction,
    private readonly source: net.Socket,
    private readonly dest: net.Socket,
    private readonly framer: RpcFramer,
    private readonly host: FlowHost,
    private readonly taps: FlowTaps | undefined,
    private readonly highWater = DEFAULT_HIGH_WATER,
  ) {
    source.pause(); // reading starts in start(); a 'data' listener must not switch the stream to flowing first
    source.on('data', (c: Buffer) => this.onData(c));
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

  start(): void {
    this.updateReading();
  }

  freeze(): void {
    this.frozen = true;
    this.clearTimer();
    this.updateReading();
  }

  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    this.pump();
  }

  holdFor(realMs: number): void {
    this.holdUntil = Math.max(this.holdUntil, performance.now() + realMs);
    this.updateReading();
    this.armTimer(this.holdUntil);
  }

  private onData(chunk: Buffer): void {
    const now = performance.now();
    this.bytesIn += chunk.length;
    this.host.countIn(this.direction, chunk.length, Math.ceil(chunk.length / DEFAULT_MSS));
    this.taps?.read(chunk);
    const faults = this.host.faults();
    this.framer.setRecordMode(faults.length > 0 && this.host.needsRecords(this.direction));
    for (const f of faults) if (f.onChunk) this.guard(f, () => f.onChunk!(this, chunk));
    const units = this.framer.push(chunk);
    for (const u of units) this.unit(u.bytes, u.records, now, faults);
    this.pump();
    this.runDeferred();
  }

  private unit(bytes: Buffer, records: readonly RecordInfo[], now: number, faults: readonly FaultInstance[]): void {
    for (const rec of records) {
      this.host.countRecord(this.direction, rec);
      for (const f of faults) if (f.onRecord) this.guard(f, () => f.onRecord!(this, rec));
    }
    if (faults.length === 0) {
      if (bytes.length) this.enqueue(bytes, now);
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

  private enqueue(bytes: Buffer, at: number): void {
    // TCP delivers in order: a piece is never written before the one queued ahead of it.
    const t = at > this.lastAt ? at : this.lastAt;
    this.lastAt = t;
    this.queue.push({ bytes, at: t });
    this.queuedBytes += bytes.length;
  }

  private onEnd(): void {
    this.sourceEnded = true;
    const units = this.framer.flush();
    for (const u of units) this.unit(u.bytes, u.records, performance.now(), this.host.faults());
    this.pump();
    this.runDeferred();
  }

  /** Writes every piece that is due, unless frozen or the destination pushes back. */
  pump(): void {
    if (this.closed) return;
    while (this.head < this.queue.length && !this.frozen && !this.destBlocked) {
      const p = this.queue[this.head];
      const due = p.at > this.holdUntil ? p.at : this.holdUntil;
      if (due > performance.now() + 0.05) {
        this.armTimer(due);
        break;
      }
      this.head++;
      this.queuedBytes -= p.bytes.length;
      this.write(p.bytes);
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

  private write(b: Buffer): void {
    if (this.dest.destroyed || this.dest.writableEnded) return;
    this.bytesOut += b.length;
    this.host.countOut(this.direction, b.length);
    this.taps?.write(b);
    if (!this.dest.write(b)) this.destBlocked = true;
  }

  private runDeferred(): void {
    while (this.deferred.length) this.deferred.shift()!();
  }

  private updateReading(): void {
    if (this.sourceEnded || this.source.destroyed) return;
    const holding = this.holdUntil > performance.now();
    const read = !this.frozen && (holding || (!this.destBlocked && this.queuedBytes < this.highWater));
    if (read && this.source.isPaused()) this.source.resume();
    else if (!read && !this.source.isPaused()) this.source.pause();
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

  /** Stops the flow; returns how many queued bytes were dropped (never written). */
  close(): number {
    const dropped = this.closed ? 0 : this.queuedBytes;
    this.closed = true;
    this.clearTimer();
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
    return dropped;
  }

  snapshot() {
    return { bytesIn: this.bytesIn, bytesOut: this.bytesOut, queuedBytes: this.queuedBytes, frozen: this.frozen, ended: this.destEnded };
  }
}
