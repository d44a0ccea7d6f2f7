// When a trigger-driven fault (stall, hold, reset, blackhole) fires: every N packets / records / chunks / bytes,
// every T, at time T, or on the Nth call of a procedure. Probability and a total count limit apply per firing.
import { ConfigError } from '../core/errors';
import type { FaultContext, HookSite } from './fault';
import { callMatcher, type RecordMatcher } from './match';
import type { CountUnit, FaultSpecBase, RecordInfo } from './types';

export const DEFAULT_MSS = 1448;

/** The spec keys a trigger reads (stall, hold, reset and blackhole fire through one). */
export const TRIGGER_KEYS = ['every', 'unit', 'mss', 'interval', 'at', 'call', 'count', 'probability', 'direction'] as const;

export interface Firing {
  /** absent for time-based firings */
  site?: HookSite;
  rec?: RecordInfo;
  reason: string;
}

export class Trigger {
  private counted = 0;
  private next: number;
  private fires = 0;
  /** fires once when the proxy has installed the fault (no trigger given, defaultMode 'install') */
  private readonly onInstall: boolean;
  readonly every?: number;
  readonly unit: CountUnit;
  readonly mss: number;
  private readonly call?: RecordMatcher;
  readonly timeBased: boolean;

  constructor(
    private readonly spec: FaultSpecBase,
    private readonly ctx: FaultContext,
    private readonly fire: (f: Firing) => void,
    /** without a trigger: fire on the first chunk (reset), once when installed (stall, hold, blackhole), or never */
    defaultMode: 'first-chunk' | 'install' | 'none' = 'none',
  ) {
    const kinds = [spec.every !== undefined, spec.interval !== undefined, spec.at !== undefined, spec.call !== undefined].filter(Boolean).length;
    if (kinds > 1) throw new ConfigError('NETEM_TRIGGER', `fault ${ctx.id}: give at most one of every, interval, at, call`);
    this.unit = spec.unit ?? 'packets';
    this.mss = spec.mss ?? DEFAULT_MSS;
    this.every = spec.every ?? (kinds === 0 && defaultMode === 'first-chunk' ? 1 : undefined);
    if (kinds === 0 && defaultMode === 'first-chunk') this.unit = spec.unit ?? 'chunks';
    this.next = this.every ?? Infinity;
    if (this.every !== undefined && !(Number.isInteger(this.every) && this.every >= 1)) throw new ConfigError('NETEM_TRIGGER', `fault ${ctx.id}: every must be an integer >= 1`);
    if (spec.call) this.call = callMatcher(spec.call, ctx.id);
    this.timeBased = spec.interval !== undefined || spec.at !== undefined;
    if (spec.interval !== undefined) {
      const ms = ctx.timeScale.parse(spec.interval, 'interval');
      if (!(ms > 0)) throw new ConfigError('NETEM_TRIGGER', `fault ${ctx.id}: interval must be > 0`);
      const tick = () => {
        this.maybeFire({ reason: 'interval' });
        ctx.setTimer(tick, ms);
      };
      ctx.setTimer(tick, ms);
    }
    this.onInstall = kinds === 0 && defaultMode === 'install';
    if (spec.at !== undefined) {
      for (const at of Array.isArray(spec.at) ? spec.at : [spec.at]) ctx.setTimer(() => this.maybeFire({ reason: 'at' }), ctx.timeScale.parse(at, 'at'));
    }
  }

  /**
   * The proxy has installed the fault (FaultInstance.installed): a fault without a trigger acts now, before
   * addFault returns, so every byte read after the API call meets it. (A timer of 0 ms let up to a turn of reads
   * through first: 191 KiB relayed "during" a hold in one CI run.)
   */
  installed(): void {
    if (this.onInstall) this.maybeFire({ reason: 'installed' });
  }

  /** Counts a chunk read in a direction this fault applies to. */
  chunk(site: HookSite, chunk: Buffer): void {
    if (this.every === undefined || this.unit === 'records') return;
    this.counted += this.unit === 'chunks' ? 1 : this.unit === 'bytes' ? chunk.length : Math.ceil(chunk.length / this.mss);
    this.check(site);
  }

  /** Counts a record / matches a call. */
  record(site: HookSite, rec: RecordInfo): void {
    if (this.call) {
      // replies carry their call's facts; a call trigger fires on the call itself
      if (rec.type === 'call' && this.call(rec)) this.maybeFire({ site, rec, reason: `call ${rec.procName} #${rec.callNumber}` });
      return;
    }
    if (this.every === undefined || this.unit !== 'records') return;
    this.counted += 1;
    this.check(site, rec);
  }

  private check(site: HookSite, rec?: RecordInfo): void {
    if (this.counted < this.next) return;
    // One firing per crossing, however many thresholds a big chunk crossed (the fault cannot fire twice at once).
    while (this.next <= this.counted) this.next += this.every!;
    this.maybeFire({ site, rec, reason: `${this.unit} ${this.counted}` });
  }

  private maybeFire(f: Firing): void {
    if (this.spec.count !== undefined && this.fires >= this.spec.count) return;
    if (!this.ctx.rng.chance(this.spec.probability ?? 1)) return;
    this.fires++;
    this.fire(f);
  }
}
