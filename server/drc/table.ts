// One DRC's storage: entries by full key (xid key + fingerprint), with an index of the xid keys to tell a payload
// miss, time expiry as nfsd did it in its two eras (checked before the lookup, or pruned per hash bucket after a
// miss), and one of two retirement rules: nfsd's capacity with least-recently-used eviction, or nfs-ganesha's
// high-water mark (entries retired oldest first when a request completes; nfs_dupreq_finish).
import type { DrcPrune } from './config';

export interface DrcEntry {
  key: string;
  /** the xid key (without the fingerprint) */
  xidKey: string;
  /** the XID as sent (its hash picks the bucket with bucket pruning) */
  xid: number;
  state: 'in-progress' | 'done';
  /** the complete reply message (without record mark), owned by the cache; set when done */
  reply?: Buffer;
  /** nfsstat3 of the cached reply (or -1 when not an NFS result) */
  status?: number;
  /**
   * real ms (performance.now) of the entry's last use: its arrival, its completion, each hit (nfsd's c_timestamp,
   * set by lru_put_end; 2.6.18 set it in the same three places). Expiry counts from here.
   */
  stamp: number;
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
  /** matches (hits or payload misses) on an entry older than the expiry: bucket pruning had not reached it */
  staleMatches: number;
}

/** nfs-ganesha RETWND_START_BIAS and DUPREQ_MAX_RETRIES (src/RPCAL/nfs_dupreq.c). */
const RETWND_START_BIAS = 16;
const DUPREQ_MAX_RETRIES = 5;
/** fs/nfsd/nfscache.c TARGET_BUCKET_SIZE: nfsd_hashsize = roundup_pow_of_two(max_drc_entries / 64). */
const TARGET_BUCKET_SIZE = 64;
/**
 * nfsd_prune_bucket_locked(nn, b, 3, ...) after a miss: `if (max && ++freed > max) break` frees at most 4 (the
 * guest's 6.1.192 has it, c135e1269f34 backported). Before it prune_bucket's `freed++ > max` freed at most 5, and
 * before the cap every expired entry of the bucket.
 */
const PRUNE_MAX = 3;
/** include/linux/hash.h GOLDEN_RATIO_32. */
const GOLDEN_RATIO_32 = 0x61c88647;

/** log2 of nfsd_hashsize(size): the hash bits (nfsd_reply_cache_init: nn->maskbits = ilog2(hashsize)). */
export function nfsdMaskbits(size: number): number {
  const buckets = Math.max(1, Math.floor(size / TARGET_BUCKET_SIZE));
  return Math.ceil(Math.log2(buckets));
}

/**
 * nfsd_cache_bucket_find (6.1): hash_32((__force u32)xid, maskbits). The XID's wire bytes are read as a host u32
 * (x86: little-endian), then hash_32 = (val * GOLDEN_RATIO_32) >> (32 - bits). 4.20 to 5.16 hashed
 * be32_to_cpu(xid) instead (7578b2f628db removed the swap): another bucket for the same XID, the same spread.
 */
export function nfsdBucket(xid: number, maskbits: number): number {
  if (maskbits === 0) return 0;
  const host = (((xid & 0xff) << 24) | ((xid & 0xff00) << 8) | ((xid >>> 8) & 0xff00) | (xid >>> 24)) >>> 0;
  return Math.imul(host, GOLDEN_RATIO_32) >>> (32 - maskbits);
}

export class DrcTable {
  /** every entry by full key, least recently used first */
  private readonly map = new Map<string, DrcEntry>();
  /** bucket pruning: each hash bucket's entries, least recently used first (nfsd's per-bucket lru_head) */
  private readonly buckets = new Map<number, Map<string, DrcEntry>>();
  /** live entries per xid key (a payload miss adds a second one) */
  private readonly byXid = new Map<string, number>();
  /** ganesha's retwnd: hits postpone retirement by the high-water mark */
  private retwnd = 0;
  private maskbits: number;

  constructor(
    public capacity: number,
    /** real milliseconds an entry stays valid after its last use; 0: no time expiry */
    public expiryRealMs: number,
    /** 0, or ganesha's high-water mark */
    public hiwat: number,
    private readonly counters: TableCounters,
    public prune: DrcPrune = 'lookup',
  ) {
    this.maskbits = nfsdMaskbits(capacity);
  }

  /** Applies a new shape; another bucket count or prune rule rebuilds the buckets (nfsd sizes its table at start). */
  reshape(capacity: number, expiryRealMs: number, hiwat: number, prune: DrcPrune): void {
    const wasByBucket = this.byBucket;
    this.capacity = capacity;
    this.expiryRealMs = expiryRealMs;
    this.hiwat = hiwat;
    this.prune = prune;
    const bits = nfsdMaskbits(capacity);
    if (bits === this.maskbits && wasByBucket === this.byBucket) return;
    this.maskbits = bits;
    this.buckets.clear();
    if (this.byBucket) for (const e of this.map.values()) this.bucketOf(e).set(e.key, e);
  }

  get size(): number {
    return this.map.size;
  }

  private get byBucket(): boolean {
    return this.prune === 'bucket' && this.hiwat === 0;
  }

  private bucketOf(e: DrcEntry): Map<string, DrcEntry> {
    const b = nfsdBucket(e.xid, this.maskbits);
    let m = this.buckets.get(b);
    if (!m) this.buckets.set(b, (m = new Map()));
    return m;
  }

  private expired(e: DrcEntry, now: number): boolean {
    return this.expiryRealMs > 0 && e.state === 'done' && now - e.stamp > this.expiryRealMs;
  }

  /**
   * The entry for a full key. Prune lookup: an expired completed entry is removed and reported absent. Prune
   * bucket: it still answers (counted in staleMatches).
   */
  get(key: string, now: number): DrcEntry | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    if (this.expired(e, now)) {
      if (this.byBucket) {
        this.counters.staleMatches++;
        return e;
      }
      this.delete(e);
      this.counters.expired++;
      return undefined;
    }
    return e;
  }

  /**
   * Another entry has this xid key (same XID from the same sender, other arguments). Prune lookup: only a live
   * one (2.6.18 and 3.10-4.19 never compared against an expired entry).
   */
  hasXid(xidKey: string, now: number): boolean {
    if ((this.byXid.get(xidKey) ?? 0) === 0) return false;
    if (this.byBucket) {
      const stale = [...this.map.values()].some((e) => e.xidKey === xidKey && this.expired(e, now));
      if (stale) this.counters.staleMatches++;
      return true;
    }
    for (const e of this.map.values()) if (e.xidKey === xidKey && !this.expired(e, now)) return true;
    return false;
  }

  /**
   * A hit: nfsd's lru_put_end (c_timestamp = now, to the tail of the LRU); ganesha widens its retire window
   * instead.
   */
  hit(e: DrcEntry, now: number): void {
    if (this.hiwat > 0) {
      this.retwnd = this.retwnd === 0 ? RETWND_START_BIAS : Math.min(this.retwnd + 2, this.capacity);
      return;
    }
    if (this.map.get(e.key) !== e) return;
    e.stamp = now;
    this.touch(e);
  }

  /** The request completed: nfsd_cache_update's lru_put_end; ganesha retires while drc_should_retire() holds. */
  completed(e: DrcEntry, now: number): void {
    e.stamp = now;
    if (this.hiwat === 0) {
      if (this.map.get(e.key) === e) this.touch(e);
      return;
    }
    if (this.retwnd > 0) this.retwnd--;
    for (let n = 0; n <= DUPREQ_MAX_RETRIES; n++) {
      const retire = this.map.size > this.capacity || (this.retwnd === 0 && this.map.size > this.hiwat);
      const oldest = this.map.values().next();
      if (!retire || oldest.done) return;
      this.delete(oldest.value);
      this.counters.retired++;
    }
  }

  /** Inserts a new entry (a payload miss keeps the old one: it is another key), then prunes or trims. */
  put(e: DrcEntry, now: number): void {
    e.stamp = now;
    this.map.set(e.key, e);
    if (this.byBucket) this.bucketOf(e).set(e.key, e);
    this.byXid.set(e.xidKey, (this.byXid.get(e.xidKey) ?? 0) + 1);
    if (this.byBucket) this.pruneBucket(e, now);
    else this.trim(now);
  }

  remove(e: DrcEntry): void {
    if (this.map.get(e.key) === e) this.delete(e);
  }

  private touch(e: DrcEntry): void {
    this.map.delete(e.key);
    this.map.set(e.key, e);
    if (this.byBucket) {
      const b = this.bucketOf(e);
      b.delete(e.key);
      b.set(e.key, e);
    }
  }

  private delete(e: DrcEntry): void {
    this.map.delete(e.key);
    this.buckets.get(nfsdBucket(e.xid, this.maskbits))?.delete(e.key);
    const n = (this.byXid.get(e.xidKey) ?? 1) - 1;
    if (n > 0) this.byXid.set(e.xidKey, n);
    else this.byXid.delete(e.xidKey);
  }

  /**
   * nfsd_prune_bucket_locked after a miss inserted `e`: its bucket's LRU from the oldest, entries in progress
   * skipped, stopping at the first one neither expired nor over max_drc_entries, at most 4 freed.
   */
  private pruneBucket(e: DrcEntry, now: number): void {
    let freed = 0;
    for (const old of this.bucketOf(e).values()) {
      if (old.state !== 'done') continue;
      // num_drc_entries is raised for the new entry only after the prune (nfsd_cache_lookup)
      const over = this.map.size - 1 > this.capacity;
      if (!over && !this.expired(old, now)) break;
      this.delete(old);
      if (over) this.counters.evictions++;
      else this.counters.expired++;
      if (++freed > PRUNE_MAX) break;
    }
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
    this.buckets.clear();
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
