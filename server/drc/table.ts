// DRC storage: entries by xid key in least-recently-used order, with expiry and a capacity.
// A Map iterates in insertion order, so re-inserting on use keeps the least recently used entry first.

export interface DrcEntry {
  key: string;
  /** checksum-mode fingerprint ('' in xid mode) */
  fp: string;
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
}

export class DrcTable {
  private readonly map = new Map<string, DrcEntry>();

  constructor(
    public capacity: number,
    /** real milliseconds an entry stays valid after completion */
    public expiryRealMs: number,
    private readonly counters: TableCounters,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** The live entry for a key; an expired completed entry is removed and reported absent. */
  get(key: string, now: number): DrcEntry | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (e.state === 'done' && now - e.doneAt > this.expiryRealMs) {
      this.map.delete(key);
      this.counters.expired++;
      return undefined;
    }
    return e;
  }

  /** Marks an entry most recently used. */
  touch(e: DrcEntry): void {
    if (this.map.get(e.key) !== e) return;
    this.map.delete(e.key);
    this.map.set(e.key, e);
  }

  /** Inserts (replacing any entry with the same key), then trims expired and least recently used entries. */
  put(e: DrcEntry, now: number): void {
    const old = this.map.get(e.key);
    if (old && old !== e) release(old);
    this.map.delete(e.key);
    this.map.set(e.key, e);
    this.trim(now);
  }

  remove(e: DrcEntry): void {
    if (this.map.get(e.key) === e) this.map.delete(e.key);
  }

  private trim(now: number): void {
    // Expired entries sit at the front when nothing touched them since; stop at the first live one.
    for (const e of this.map.values()) {
      if (e.state !== 'done' || now - e.doneAt <= this.expiryRealMs) break;
      this.map.delete(e.key);
      this.counters.expired++;
    }
    if (this.map.size <= this.capacity) return;
    for (const e of this.map.values()) {
      if (this.map.size <= this.capacity) break;
      if (e.state !== 'done') continue; // a request still executing is never evicted under its own feet
      this.map.delete(e.key);
      this.counters.evictions++;
    }
  }

  /** Forgets everything; waiters of in-progress entries get no reply (as if dropped). */
  flush(): number {
    const n = this.map.size;
    for (const e of this.map.values()) release(e);
    this.map.clear();
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
