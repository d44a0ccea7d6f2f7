// Fault event log: every fault applied becomes a timestamped event, kept in memory, published on the
// diagnostics channel, and optionally appended as JSON lines to a file (the reproduction stores it).
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { channel, CHANNELS } from '../core/channels';
import type { NetemEvent } from './types';

export type EventInput = Omit<NetemEvent, 't' | 'ms' | 'modelMs' | 'proxy'>;

export class EventLog {
  readonly events: NetemEvent[] = [];
  private readonly listeners = new Set<(e: NetemEvent) => void>();
  private readonly sinks: fs.WriteStream[] = [];
  private readonly ch = channel(CHANNELS.netemFault);
  readonly started = performance.now();

  constructor(
    readonly proxyName: string,
    readonly timeScale: number,
    /** events beyond this many are dropped from memory (still published and written) */
    readonly keep = 100_000,
  ) {}

  /** Appends JSON lines to `file` (created or truncated). */
  addFile(file: string): void {
    this.sinks.push(fs.createWriteStream(file, { flags: 'w' }));
  }

  /** Real ms since the proxy started. */
  now(): number {
    return performance.now() - this.started;
  }

  emit(e: EventInput): NetemEvent {
    const ms = this.now();
    const ev = { t: new Date().toISOString(), ms: round3(ms), modelMs: round3(ms / this.timeScale), proxy: this.proxyName, ...e } as NetemEvent;
    if (this.events.length < this.keep) this.events.push(ev);
    if (this.ch.hasSubscribers) this.ch.publish(ev);
    if (this.sinks.length && !this.closed) {
      const line = JSON.stringify(ev) + '\n';
      for (const s of this.sinks) s.write(line);
    }
    for (const l of this.listeners) l(ev);
    return ev;
  }

  on(listener: (e: NetemEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private closed = false;

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.sinks.map((s) => new Promise<void>((res) => s.end(res))));
    this.sinks.length = 0;
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
