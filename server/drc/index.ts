// The duplicate request cache (the point of the server): decides, for each call, whether to execute it, replay
// a cached reply, drop it, or make it wait. The RPC layer owns sockets and execution; this owns decisions.
import { performance } from 'node:perf_hooks';
import type { JournalOutcome } from '../../core/journal-schema';
import { TimeScale } from '../../core/units';
import { NFS_PROGRAM, NFS_V3, NFSPROC3 } from '../../xdr/nfs3/constants';
import { DrcConfig, DEFAULT_DRC, drcConfig } from './config';
import { DrcRequest, cacheOf, fingerprint, xidKey } from './key';
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
  /** entries retired by the high-water mark (nfs-ganesha) */
  retired: number;
  /**
   * prune bucket: matches (hits or payload misses) on an entry older than the expiry that no miss in its bucket had
   * pruned yet (nfsd since 4.20 answers from it; until 4.19 it was gone before the lookup)
   */
  staleMatches: number;
  /** per-connection caches taken over by a reconnect from the same address and port (nfs-ganesha) */
  reused: number;
  entries: number;
}

const PROC_BY_NAME = NFSPROC3 as Record<string, number>;

/**
 * Recycled per-connection caches (connection scope with reuse): nfs-ganesha keeps a closed connection's DRC for
 * TCP_Recycle_Expire_S (600 s) in case the client reconnects from the same address and port. At most this many are
 * kept (the oldest go first), so closed connections cannot grow the server without bound.
 */
const RECYCLE_EXPIRE_MS = 600_000;
const MAX_RECYCLED = 1024;

export class DuplicateRequestCache {
  private cfg: DrcConfig;
  private cachedProcs = new Set<number>();
  /** '' -> the client-scope cache; connection scope: one per connection (or per address:port when reused) */
  private readonly tables = new Map<string, DrcTable>();
  /** connection scope with reuse: caches of closed connections waiting for a reconnect, by close time (real ms) */
  private readonly recycled = new Map<string, number>();
  /** The cache each entry lives in (for completion and abandonment). */
  private readonly owner = new WeakMap<DrcEntry, DrcTable>();
  private readonly c = { hits: 0, misses: 0, payloadMisses: 0, inProgressDrops: 0, inProgressWaits: 0, notCached: 0, evictions: 0, expired: 0, retired: 0, staleMatches: 0, reused: 0 };

  constructor(
    config: Partial<DrcConfig> = {},
    private readonly scale = new TimeScale(1),
    private readonly now: () => number = () => performance.now(),
  ) {
    this.cfg = drcConfig(config as Record<string, unknown>, DEFAULT_DRC);
    this.applyProcs();
  }

  get config(): DrcConfig {
    return { ...this.cfg, procs: [...this.cfg.procs] };
  }

  /** Changes the configuration at run time. A change of what keys an entry flushes the cache. */
  configure(input: Partial<Record<keyof DrcConfig | 'expiry', unknown>>): DrcConfig {
    const next = drcConfig(input, this.cfg);
    const rekey = next.mode !== this.cfg.mode || next.scope !== this.cfg.scope || next.keyPort !== this.cfg.keyPort || next.reuse !== this.cfg.reuse;
    this.cfg = next;
    if (rekey) this.flush();
    for (const t of this.tables.values()) this.shape(t);
    this.applyProcs();
    return this.config;
  }

  private applyProcs(): void {
    this.cachedProcs = new Set(this.cfg.procs.map((p) => PROC_BY_NAME[p]));
  }

  private shape(t: DrcTable): DrcTable {
    t.reshape(this.cfg.size, this.scale.real(this.cfg.expiryMs), this.cfg.hiwat, this.cfg.prune);
    return t;
  }

  private tableFor(key: string): DrcTable {
    let t = this.tables.get(key);
    if (!t) {
      this.tables.set(key, (t = this.shape(new DrcTable(this.cfg.size, 0, 0, this.c, this.cfg.prune))));
    } else if (this.recycled.delete(key)) {
      this.c.reused++; // nfs_dupreq_get_drc: "recycle TCP DRC"
    }
    return t;
  }

  /**
   * A connection closed. Connection scope: its cache goes (no reuse), or waits to be taken over by a reconnect from
   * the same address and port (reuse: ganesha's recycle queue, expired after 600 s modelled).
   */
  connectionClosed(req: Pick<DrcRequest, 'connId' | 'clientAddr' | 'clientPort'>): void {
    if (this.cfg.scope !== 'connection') return;
    const key = cacheOf({ ...req, xid: 0, prog: 0, vers: 0, proc: 0, args: Buffer.alloc(0) }, this.cfg);
    if (!this.tables.has(key)) return;
    if (!this.cfg.reuse) {
      this.tables.get(key)!.flush();
      this.tables.delete(key);
      return;
    }
    const now = this.now();
    this.recycled.set(key, now);
    for (const [k, at] of this.recycled) {
      if (this.recycled.size <= MAX_RECYCLED && now - at <= this.scale.real(RECYCLE_EXPIRE_MS)) break;
      this.recycled.delete(k);
      this.tables.get(k)?.flush();
      this.tables.delete(k);
    }
  }

  /** Drops every entry; returns how many there were. */
  flush(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.flush();
    this.tables.clear();
    this.recycled.clear();
    return n;
  }

  counters(): DrcCounters {
    let entries = 0;
    for (const t of this.tables.values()) entries += t.size;
    return { ...this.c, entries };
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
    const table = this.tableFor(cacheOf(req, this.cfg));
    const xk = xidKey(req, this.cfg);
    const key = `${xk}#${fingerprint(req, this.cfg)}`;
    const found = table.get(key, now);
    if (found) {
      table.hit(found, now);
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
    // Same xid key, other arguments: nfsd's "payload miss" (nfsd_cache_key_cmp counts it). It is another key, so
    // a new entry is inserted and the old one stays: a later copy with the old arguments still hits it.
    const payloadMiss = table.hasXid(xk, now);
    if (payloadMiss) this.c.payloadMisses++;
    else this.c.misses++;
    const entry: DrcEntry = { key, xidKey: xk, xid: req.xid, state: 'in-progress', stamp: now, waiters: [] };
    table.put(entry, now);
    this.owner.set(entry, table);
    return { kind: 'execute', outcome: payloadMiss ? 'payload-miss-executed' : 'executed', entry };
  }

  /** Stores the reply of an executed call (the cache keeps `reply`; callers must not change it afterwards). */
  complete(entry: DrcEntry, reply: Buffer, status: number): void {
    entry.state = 'done';
    entry.reply = reply;
    entry.status = status;
    const w = entry.waiters;
    entry.waiters = [];
    for (const f of w) f({ reply, status });
    this.owner.get(entry)?.completed(entry, this.now());
  }

  /** The execution produced no reply (e.g. the connection died): forget the entry, release waiters unanswered. */
  abandon(entry: DrcEntry): void {
    this.owner.get(entry)?.remove(entry);
    const w = entry.waiters;
    entry.waiters = [];
    for (const f of w) f(null);
  }
}
