// Duplicate request cache configuration: the one vocabulary the server CLI, the programmatic API, PUT /drc, the
// reproduction, the matrix and the results database speak.
import { ConfigError } from '../../core/errors';
import { parseDuration, parseNumber } from '../../core/units';
import { NFSPROC3 } from '../../xdr/nfs3/constants';

/**
 * What identifies a retransmission:
 * - off: nothing is cached (a server without a DRC);
 * - xid: XID, program, version, procedure and sender (Linux nfsd until 3.9, the seed's server: nfsd_cache_lookup
 *   compared rc_xid, rc_proc, rc_prot, rc_vers and the address);
 * - checksum-256: the same plus the argument length and csum_partial over the first 256 argument bytes (Linux nfsd
 *   since 3.10, RC_CSUMLEN; nfs-ganesha hashes the same 256 bytes with CityHash64);
 * - checksum-all: the checksum over every argument byte (no shipped server; the testbed's upper bound).
 */
export const DRC_MODES = ['off', 'xid', 'checksum-256', 'checksum-all'] as const;
export const DRC_SCOPES = ['client', 'connection'] as const;
export const DRC_IN_PROGRESS = ['drop', 'wait'] as const;
/**
 * When an entry older than the expiry stops answering (fs/nfsd/nfscache.c over the years):
 * - lookup: before the duplicate is looked up. 2.6.18's nfsd_cache_lookup matched only entries with
 *   time_before(jiffies, c_timestamp + 120*HZ); 3.10's pruned the expired head of its LRU (prune_cache_entries)
 *   before nfsd_cache_search, and 4.3's per-bucket prune_bucket ran before the search as well.
 * - bucket: only when a *miss* lands in the entry's hash bucket (nfsd since 4.20, the rbtree: nfsd_cache_insert
 *   finds the old entry first; nfsd_prune_bucket_locked runs after a new entry was inserted, oldest first, at most
 *   4 entries per miss) or under memory pressure (the shrinker, not modelled). An expired entry still matches
 *   until then: a hit, or a payload miss.
 */
export const DRC_PRUNES = ['lookup', 'bucket'] as const;
export type DrcMode = (typeof DRC_MODES)[number];
export type DrcScope = (typeof DRC_SCOPES)[number];
export type DrcInProgress = (typeof DRC_IN_PROGRESS)[number];
export type DrcPrune = (typeof DRC_PRUNES)[number];

/** The non-idempotent NFSv3 procedures Linux nfsd caches (RC_REPLBUFF / RC_REPLSTAT in nfs3proc.c). */
export const DEFAULT_CACHED_PROCS = ['SETATTR', 'WRITE', 'CREATE', 'MKDIR', 'SYMLINK', 'MKNOD', 'REMOVE', 'RMDIR', 'RENAME', 'LINK'] as const;

export interface DrcConfig {
  mode: DrcMode;
  /** client: one cache keyed on the sender (nfsd); connection: one cache per connection (nfs-ganesha's TCP DRC) */
  scope: DrcScope;
  /** client scope: include the source port in the key (nfsd compares address and port: rpc_cmp_addr_port) */
  keyPort: boolean;
  /**
   * connection scope: a new connection from the address and port of a closed one takes over its cache
   * (nfs-ganesha nfs_dupreq_get_drc finds it in tcp_drc_recycle_t by sockaddr, for TCP_Recycle_Expire_S)
   */
  reuse: boolean;
  /** a duplicate of a request still executing: drop it (nfsd) or wait and answer from the cache (ganesha) */
  inProgress: DrcInProgress;
  /**
   * modelled ms after its last use (arrival, completion or hit: nfsd's c_timestamp, lru_put_end) an entry expires
   * (nfsd: 120 s, RC_EXPIRE); 0: no time expiry (ganesha's TCP DRC)
   */
  expiryMs: number;
  /** when an expired entry stops answering: lookup (nfsd until 4.19) or bucket (nfsd since 4.20) */
  prune: DrcPrune;
  /**
   * capacity in entries (per cache): beyond it the least recently used completed entry goes. With bucket pruning it
   * is nfsd's max_drc_entries and sets the hash size as nfsd_hashsize does (size / 64, rounded up to a power of 2)
   */
  size: number;
  /**
   * 0, or nfs-ganesha's high-water mark: when a request completes and its cache holds more than this many entries
   * with no hit among the recent requests (retwnd), the oldest entries are retired (nfs_dupreq_finish,
   * drc_should_retire; TCP default 64)
   */
  hiwat: number;
  /** NFSv3 procedure names that are cached */
  procs: string[];
}

/**
 * What a mode brings unless prune or size is given: its era's nfsd. xid is 2.6.18's cache (CACHESIZE 1024, the
 * age check in the lookup); the checksum modes are today's (bucket pruning, nfsd_cache_size_limit's 32768 entries
 * for 1 GiB of low memory, 512 buckets: the linux peer's guest). nfsd 3.10-4.19 is checksum-256 with prune lookup.
 */
export const MODE_ERA: Record<DrcMode, Pick<DrcConfig, 'prune' | 'size'>> = {
  off: { prune: 'lookup', size: 1024 },
  xid: { prune: 'lookup', size: 1024 },
  'checksum-256': { prune: 'bucket', size: 32768 },
  'checksum-all': { prune: 'bucket', size: 32768 },
};

/** Linux nfsd today. */
export const DEFAULT_DRC: DrcConfig = {
  mode: 'checksum-256',
  scope: 'client',
  keyPort: true,
  reuse: false,
  inProgress: 'drop',
  expiryMs: 120_000,
  ...MODE_ERA['checksum-256'],
  hiwat: 0,
  procs: [...DEFAULT_CACHED_PROCS],
};

/** nfs-ganesha's TCP DRC (src/RPCAL/nfs_dupreq.c with its defaults: TCP_Size 1024, TCP_Hiwat 64). */
export const GANESHA_TCP_DRC: Partial<DrcConfig> = { scope: 'connection', reuse: true, inProgress: 'wait', expiryMs: 0, size: 1024, hiwat: 64 };

/** Loose input (strings from the CLI or JSON) -> a checked DrcConfig; unknown keys and bad values throw ConfigError. */
export function drcConfig(raw: Partial<Record<keyof DrcConfig | 'expiry', unknown>> = {}, base: DrcConfig = DEFAULT_DRC): DrcConfig {
  // `expiry` ("120s", or "none") is accepted as another name for expiryMs.
  const { expiry, ...input } = raw;
  if (expiry !== undefined && input.expiryMs === undefined) input.expiryMs = expiry;
  const known = new Set(Object.keys(DEFAULT_DRC));
  for (const k of Object.keys(input)) if (!known.has(k)) throw new ConfigError('BAD_DRC', `unknown DRC setting "${k}"`);
  const c: DrcConfig = { ...base, procs: [...base.procs] };
  if (input.mode !== undefined) {
    c.mode = oneOf(input.mode, DRC_MODES, 'drc mode');
    if (c.mode !== base.mode) Object.assign(c, MODE_ERA[c.mode]); // prune and size below override
  }
  if (input.prune !== undefined) c.prune = oneOf(input.prune, DRC_PRUNES, 'drc prune');
  if (input.scope !== undefined) c.scope = oneOf(input.scope, DRC_SCOPES, 'drc scope');
  if (input.inProgress !== undefined) c.inProgress = oneOf(input.inProgress, DRC_IN_PROGRESS, 'drc in-progress');
  for (const k of ['keyPort', 'reuse'] as const) {
    if (input[k] === undefined) continue;
    if (typeof input[k] !== 'boolean') throw new ConfigError('BAD_DRC', `drc ${k} must be true or false`);
    c[k] = input[k] as boolean;
  }
  if (input.expiryMs !== undefined) c.expiryMs = input.expiryMs === 'none' ? 0 : parseDuration(input.expiryMs as string | number, 'drc expiry');
  if (input.size !== undefined) c.size = Math.trunc(parseNumber(input.size as string | number, 'drc size', 1, 1e7));
  if (input.hiwat !== undefined) c.hiwat = Math.trunc(parseNumber(input.hiwat as string | number, 'drc hiwat', 0, 1e7));
  if (input.procs !== undefined) {
    const list = Array.isArray(input.procs) ? input.procs : String(input.procs).split(',');
    c.procs = list.map((p) => String(p).trim().toUpperCase()).filter(Boolean);
    for (const p of c.procs) if (!(p in NFSPROC3)) throw new ConfigError('BAD_DRC', `drc procs: unknown NFSv3 procedure "${p}"`);
  }
  return c;
}

function oneOf<T extends string>(v: unknown, allowed: readonly T[], name: string): T {
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new ConfigError('BAD_DRC', `${name}: expected one of ${allowed.join(', ')}, got "${String(v)}"`);
  }
  return v as T;
}
