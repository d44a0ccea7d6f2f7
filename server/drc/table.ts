// One DRC's storage: entries by full key (xid key + fingerprint), with an index of the xid keys to tell a payload
// miss, time expiry, and one of two retirement rules: nfsd's capacity with least-recently-used eviction, or
// nfs-ganesha's high-water mark (entries retired oldest first when a request completes; nfs_dupreq_finish).

export interface DrcEntry {
  key: string;
  /** the xid key (without the fingerprint) */
  xidKey: string;
  state: 'in-progress' | 'done';
  /** the complete reply message (without record mark), owned by the cache; set when done */
  reply?: Buffer;
  /** nfsstat3 of the cached reply (or -1 when not an NFS result) */
  status?: number;
  /** real ms (performance.now) of the first transmission's completion, for expiry */
  doneAt: number;
  /** duplicates waiting for this entry (inProgress = wait): given its reply and status, or null when abandoned */
  waiters: Array<(done: DrcReply | null) => void>;
}

/** A completed entry's reply and its nfsstat3 (-1 when not an NFS result). */
export interface DrcReply {
  reply: Buffer;
  status: number;
}

export interface TableCounters {
  evictions: number;
  expired: number;
  retired: number;
}

/** nfs-ganesha RETWND_START_BIAS and DUPREQ_MAX_RETRIES (src/RPCAL/nfs_dupreq.c). */
const RETWND_START_BIAS = 16;
const DUPREQ_MAX_RETRIES = 5;

export class DrcTable {
  private readonly map = new Map<string, DrcEntry>();
  /** live entries per xid key (a payload miss adds a second one) */
  private readonly byXid = new Map<string, number>();
  /** ganesha's retwnd: hits postpone retirement by the high-water mark */
  private retwnd = 0;

  constructor(
    public capacity: number,
    /** real milliseconds an entry stays valid after completion; 0: no time expiry */
    public expiryRealMs: number,
    /** 0, or ganesha's high-water mark */
    public hiwat: number,
    private readonly counters: TableCounters,
  ) {}

  get size(): number {
    return this.map.size;
  }

  private expired(e: DrcEntry, now: number): boolean {
    return this.expiryRealMs > 0 && e.state === 'done' && now - e.doneAt > this.expiryRealMs;
  }

  /** The live entry for a full key; an expired completed entry is removed and reported absent. */
  get(key: string, now: number): DrcEntry | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (this.expired(e, now)) {
      this.delete(e);
      this.counters.expired++;
      return undefined;
    }
    return e;
  }

  /** Another live entry has this xid key (same XID from the same sender, other arguments). */
  hasXid(xidKey: string): boolean {
    return (this.byXid.get(xidKey) ?? 0) > 0;
  }

  /** A hit: least recently used order (nfsd's LRU list); ganesha widens its retire window instead. */
  hit(e: DrcEntry): void {
    if (this.hiwat > 0) {
      this.retwnd = this.retwnd === 0 ? RETWND_START_BIAS : Math.min(this.retwnd + 2, this.capacity);
      return;
    }
    if (this.map.get(e.key) !== e) return;
    this.map.delete(e.key);
    this.map.set(e.key, e);
  }

  /** Inserts a new entry (a payload miss keeps the old one: it is another key), then trims. */
  put(e: DrcEntry, now: number): void {
    this.map.set(e.key, e);
    this.byXid.set(e.xidKey, (this.byXid.get(e.xidKey) ?? 0) + 1);
    this.trim(now);
  }

  /** A request completed: ganesha retires the oldest entries while drc_should_retire() holds. */
  completed(): void {
    if (this.hiwat === 0) return;
    if (this.retwnd > 0) this.retwnd--;
    for (let n = 0; n <= DUPREQ_MAX_RETRIES; n++) {
      const retire = this.map.size > this.capacity || (this.retwnd === 0 && this.map.size > this.hiwat);
      const oldest = this.map.values().next();
      if (!retire || oldest.done) return;
      this.delete(oldest.value);
      this.counters.retired++;
    }
  }

  remove(e: DrcEntry): void {
    if (this.map.get(e.key) === e) this.delete(e);
  }

  private delete(e: DrcEntry): void {
    this.map.delete(e.key);
    const n = (this.byXid.get(e.xidKey) ?? 1) - 1;
    if (n > 0) this.byXid.set(e.xidKey, n);
    else this.byXid.delete(e.xidKey);
  }

  private trim(now: number): void {
    // Expired entries sit at the front when nothing touched them since; stop at the first live one.
    for (const e of this.map.values()) {
      if (!this.expired(e, now)) break;
      this.delete(e);
      this.counters.expired++;
    }
    if (this.hiwat > 0 || this.map.size <= this.capacity) return;
    for (const e of this.map.values()) {
      if (this.map.size <= this.capacity) break;
      if (e.state !== 'done') continue; // a request still executing is never evicted under its own feet
      this.delete(e);
      this.counters.evictions++;
    }
  }

  /** Forgets everything; waiters of in-progress entries get no reply (as if dropped). */
  flush(): number {
    const n = this.map.size;
    for (const e of this.map.values()) release(e);
    this.map.clear();
    this.byXid.clear();
    return n;
  }

  entries(): IterableIterator<DrcEntry> {
    return this.map.values();
  }
}

function release(e: DrcEntry): void {
  const w = e.waiters;
  e.waiters = [];
  for (const f of w) f(e.state === 'done' && e.reply ? { reply: e.reply, status: e.status ?? -1 } : null);
}
