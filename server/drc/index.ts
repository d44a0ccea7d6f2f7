// The duplicate request cache (the point of the server): decides, for each call, whether to execute it, replay
// a cached reply, drop it, or make it wait. The RPC layer owns sockets and execution; this owns decisions.
import { performance } from 'node:perf_hooks';
import type { JournalOutcome } from '../../core/journal-schema';
import { TimeScale } from '../../core/units';
import { NFS_PROGRAM, NFS_V3, NFSPROC3 } from '../../xdr/nfs3/constants';
import { DrcConfig, DEFAULT_DRC, drcConfig } from './config';
import { DrcRequest, fingerprint, xidKey } from './key';
import { DrcEntry, DrcTable } from './table';
import { onInProgress } from './in-progress';

export * from './config';
export type { DrcRequest } from './key';
export type { DrcEntry, DrcReply } from './table';
import type { DrcReply } from './table';

/** What the DRC decided for a call, in the journal's vocabulary (core/journal-schema.ts JOURNAL_OUTCOMES). */
export type DrcOutcome = JournalOutcome;


export type DrcDecision =
  | { kind: 'execute'; outcome: 'executed' | 'payload-miss-executed' | 'not-cached'; entry?: DrcEntry }
  | { kind: 'replay'; outcome: 'replayed'; reply: Buffer; status: number }
  | { kind: 'drop'; outcome: 'dropped-in-progress' }
  /** `done` resolves with the original's reply, or null when it produced none (abandoned) */
  | { kind: 'wait'; outcome: 'waited'; done: Promise<DrcReply | null> };

export interface DrcCounters {
  hits: number;
  misses: number;
  payloadMisses: number;
  inProgressDrops: number;
  inProgressWaits: number;
  notCached: number;
  evictions: number;
  expired: number;
  entries: number;
}

const PROC_BY_NAME = NFSPROC3 as Record<string, number>;

export class DuplicateRequestCache {
  private cfg: DrcConfig;
  private cachedProcs = new Set<number>();
  private table: DrcTable;
  private readonly c = { hits: 0, misses: 0, payloadMisses: 0, inProgressDrops: 0, inProgressWaits: 0, notCached: 0, evictions: 0, expired: 0 };

  constructor(
    config: Partial<DrcConfig> = {},
    private readonly scale = new TimeScale(1),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.cfg = drcConfig(config as Record<string, unknown>, DEFAULT_DRC);
    this.table = new DrcTable(this.cfg.size, scale.real(this.cfg.expiryMs), this.c);
    this.applyProcs();
  }

  get config(): DrcConfig {
    return { ...this.cfg, procs: [...this.cfg.procs] };
  }

  /** Changes the configuration at run time. A change of mode, scope or key shape flushes the cache. */
  configure(input: Partial<Record<keyof DrcConfig | 'expiry', unknown>>): DrcConfig {
    const next = drcConfig(input, this.cfg);
    const rekey = next.mode !== this.cfg.mode || next.scope !== this.cfg.scope || next.keyPort !== this.cfg.keyPort || next.csumBytes !== this.cfg.csumBytes;
    this.cfg = next;
    if (rekey) this.table.flush();
    this.table.capacity = next.size;
    this.table.expiryRealMs = this.scale.real(next.expiryMs);
    this.applyProcs();
    return this.config;
  }

  private applyProcs(): void {
    this.cachedProcs = new Set(this.cfg.procs.map((p) => PROC_BY_NAME[p]));
  }

  /** Drops every entry; returns how many there were. */
  flush(): number {
    return this.table.flush();
  }

  counters(): DrcCounters {
    return { ...this.c, entries: this.table.size };
  }

  /** True when calls to this procedure go through the cache at all. */
  caches(prog: number, vers: number, proc: number): boolean {
    return this.cfg.mode !== 'off' && prog === NFS_PROGRAM && vers === NFS_V3 && this.cachedProcs.has(proc);
  }

  /** Decides what to do with a call. An 'execute' with an entry must be followed by complete() or abandon(). */
  begin(req: DrcRequest): DrcDecision {
    if (!this.caches(req.prog, req.vers, req.proc)) {
      if (this.cfg.mode !== 'off') this.c.notCached++;
      return { kind: 'execute', outcome: this.cfg.mode === 'off' ? 'executed' : 'not-cached' };
    }
    const now = this.now();
    const key = xidKey(req, this.cfg);
    const fp = fingerprint(req, this.cfg);
    const found = this.table.get(key, now);
    if (found && found.fp === fp) {
      this.table.touch(found);
      if (found.state === 'done') {
        this.c.hits++;
        return { kind: 'replay', outcome: 'replayed', reply: found.reply!, status: found.status ?? -1 };
      }
      const d = onInProgress(this.cfg.inProgress, found);
      if (d.kind === 'drop') {
        this.c.inProgressDrops++;
        return { kind: 'drop', outcome: 'dropped-in-progress' };
      }
      this.c.inProgressWaits++;
      return { kind: 'wait', outcome: 'waited', done: d.done };
    }
    // Same xid key, different arguments: nfsd's "payload miss" (the retransmission is not the same request).
    const payloadMiss = found !== undefined;
    if (payloadMiss) this.c.payloadMisses++;
    else this.c.misses++;
    const entry: DrcEntry = { key, fp, state: 'in-progress', doneAt: 0, waiters: [] };
    this.table.put(entry, now);
    return { kind: 'execute', outcome: payloadMiss ? 'payload-miss-executed' : 'executed', entry };
  }

  /** Stores the reply of an executed call (the cache keeps `reply`; callers must not change it afterwards). */
  complete(entry: DrcEntry, reply: Buffer, status: number): void {
    entry.state = 'done';
    entry.reply = reply;
    entry.status = status;
    entry.doneAt = this.now();
    const w = entry.waiters;
    entry.waiters = [];
    for (const f of w) f({ reply, status });
  }

  /** The execution produced no reply (e.g. the connection died): forget the entry, release waiters unanswered. */
  abandon(entry: DrcEntry): void {
    this.table.remove(entry);
    const w = entry.waiters;
    entry.waiters = [];
    for (const f of w) f(null);
  }
}
