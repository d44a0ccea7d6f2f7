// Duplicate request cache configuration: what the CLI flags, the programmatic API and PUT /drc all speak.
import { ConfigError } from '../../core/errors';
import { parseDuration, parseNumber } from '../../core/units';
import { NFSPROC3 } from '../../xdr/nfs3/constants';

export const DRC_MODES = ['off', 'xid', 'checksum'] as const;
export const DRC_SCOPES = ['client', 'connection'] as const;
export const DRC_IN_PROGRESS = ['drop', 'wait'] as const;
export type DrcMode = (typeof DRC_MODES)[number];
export type DrcScope = (typeof DRC_SCOPES)[number];
export type DrcInProgress = (typeof DRC_IN_PROGRESS)[number];

/** The non-idempotent NFSv3 procedures Linux nfsd caches (RC_REPLBUFF / RC_REPLSTAT in nfs3proc.c). */
export const DEFAULT_CACHED_PROCS = ['SETATTR', 'WRITE', 'CREATE', 'MKDIR', 'SYMLINK', 'MKNOD', 'REMOVE', 'RMDIR', 'RENAME', 'LINK'] as const;

export interface DrcConfig {
  mode: DrcMode;
  /** checksum mode: bytes of the procedure arguments hashed; 'all' hashes everything (nfsd: RC_CSUMLEN = 256) */
  csumBytes: number | 'all';
  /** client: key on the client address (+ port, see keyPort); connection: key on the connection (ganesha) */
  scope: DrcScope;
  /** client scope: include the source port in the key (nfsd compares address and port) */
  keyPort: boolean;
  /** a duplicate of a request still executing: drop it (nfsd) or wait and answer from the cache (ganesha) */
  inProgress: DrcInProgress;
  /** modelled milliseconds an entry stays valid (nfsd: 120 s); multiplied by the server's time scale */
  expiryMs: number;
  /** capacity in entries; the least recently used completed entry is evicted beyond it */
  size: number;
  /** NFSv3 procedure names that are cached */
  procs: string[];
}

export const DEFAULT_DRC: DrcConfig = {
  mode: 'checksum',
  csumBytes: 256,
  scope: 'client',
  keyPort: true,
  inProgress: 'drop',
  expiryMs: 120_000,
  size: 1024,
  procs: [...DEFAULT_CACHED_PROCS],
};

/** Loose input (strings from the CLI or JSON) -> a checked DrcConfig; unknown keys and bad values throw ConfigError. */
export function drcConfig(raw: Partial<Record<keyof DrcConfig | 'expiry', unknown>> = {}, base: DrcConfig = DEFAULT_DRC): DrcConfig {
  // `expiry` ("120s") is accepted as another name for expiryMs.
  const { expiry, ...input } = raw;
  if (expiry !== undefined && input.expiryMs === undefined) input.expiryMs = expiry;
  const known = new Set(Object.keys(DEFAULT_DRC));
  for (const k of Object.keys(input)) if (!known.has(k)) throw new ConfigError('BAD_DRC', `unknown DRC setting "${k}"`);
  const c: DrcConfig = { ...base, procs: [...base.procs] };
  if (input.mode !== undefined) c.mode = oneOf(input.mode, DRC_MODES, 'drc mode');
  if (input.scope !== undefined) c.scope = oneOf(input.scope, DRC_SCOPES, 'drc scope');
  if (input.inProgress !== undefined) c.inProgress = oneOf(input.inProgress, DRC_IN_PROGRESS, 'drc in-progress');
  if (input.csumBytes !== undefined) {
    c.csumBytes = input.csumBytes === 'all' ? 'all' : Math.trunc(parseNumber(input.csumBytes as string | number, 'drc csum bytes', 1, 2 ** 31));
  }
  if (input.keyPort !== undefined) {
    if (typeof input.keyPort !== 'boolean') throw new ConfigError('BAD_DRC', 'drc keyPort must be true or false');
    c.keyPort = input.keyPort;
  }
  if (input.expiryMs !== undefined) c.expiryMs = parseDuration(input.expiryMs as string | number, 'drc expiry');
  if (input.size !== undefined) c.size = Math.trunc(parseNumber(input.size as string | number, 'drc size', 1, 1e7));
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
