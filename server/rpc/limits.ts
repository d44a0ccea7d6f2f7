// Resource limits of the RPC transport, with safe defaults: what one peer (or many) can make the server hold.
// Durations are modelled time (they obey the time scale, core/units.ts); sizes accept units ("4MiB").
import { ConfigError } from '../../core/errors';
import { TimeScale, parseDuration, parseSize } from '../../core/units';
import { DEFAULT_MAX_RECORD, MAX_FRAGMENT_LENGTH } from '../../xdr/record';

export interface TransportLimits {
  /** largest record (sum of fragments, RFC 5531 §11) accepted; a larger header closes the connection */
  maxRecordSize: number;
  /** connections open at once across the server's listeners; beyond it a new connection is closed at once */
  maxConnections: number;
  /** calls executing at once on one connection before the server stops reading from it (back-pressure) */
  maxInFlight: number;
  /** real ms a connection may stay silent with no call executing before it is closed (half-open peers) */
  idleTimeoutMs: number;
  /**
   * real ms a started record may take to complete: bytes trickling in do not extend it (slowloris), a completed
   * record restarts it
   */
  recordTimeoutMs: number;
  /**
   * bytes all connections together may have reserved for records announced but not yet received; past it a
   * record's Buffer grows only as its bytes arrive (a header alone pins no memory)
   */
  maxPendingBytes: number;
}

export interface LimitsInput {
  maxRecordSize?: number | string;
  maxConnections?: number | string;
  maxInFlight?: number | string;
  /** modelled duration ("2m"), scaled by the time scale */
  idleTimeout?: number | string;
  recordTimeout?: number | string;
  maxPendingBytes?: number | string;
}

/**
 * The smallest record limit: nfsd's smallest, sv_max_mesg = roundup(sv_max_payload + PAGE_SIZE, PAGE_SIZE)
 * (net/sunrpc/svc.c __svc_create) for its smallest max_block_size, 1024 (fs/nfsd/nfsctl.c write_maxblksize).
 * The READ/WRITE payload FSINFO advertises is derived from it (server/nfs3/limits.ts maxPayload).
 */
export const MIN_RECORD_SIZE = 8 * 1024;

export const DEFAULT_LIMITS = {
  maxRecordSize: DEFAULT_MAX_RECORD,
  maxConnections: 1024,
  maxInFlight: 64,
  // Linux nfsd closes a TCP connection idle for 6 minutes (svc_age_temp_xprts); longer than the DRC's 120 s
  // expiry, so a client that retransmits after a quiet spell still finds its connection.
  idleTimeout: '6m',
  recordTimeout: '2m',
  maxPendingBytes: '256MiB',
} as const;

function count(v: number | string, name: string, min: number, max: number): number {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError('BAD_LIMIT', `${name}: expected an integer in [${min}, ${max}], got "${v}"`);
  return n;
}

export function transportLimits(input: LimitsInput = {}, scale = new TimeScale(1)): TransportLimits {
  const size = parseSize(input.maxRecordSize ?? DEFAULT_LIMITS.maxRecordSize, 'max record size');
  // The top is what a fragment header can express.
  if (!Number.isInteger(size) || size < MIN_RECORD_SIZE || size > MAX_FRAGMENT_LENGTH) throw new ConfigError('BAD_LIMIT', `max record size: expected 8KiB..2GiB, got "${input.maxRecordSize}"`);
  const duration = (v: number | string, name: string) => {
    const ms = scale.real(parseDuration(v, name));
    if (!(ms > 0) || !Number.isFinite(ms)) throw new ConfigError('BAD_LIMIT', `${name}: expected a positive duration, got "${v}"`);
    return Math.min(ms, 2 ** 31 - 1); // setTimeout's ceiling
  };
  return {
    maxRecordSize: size,
    maxConnections: count(input.maxConnections ?? DEFAULT_LIMITS.maxConnections, 'max connections', 1, 1_000_000),
    maxInFlight: count(input.maxInFlight ?? DEFAULT_LIMITS.maxInFlight, 'max in flight', 1, 65536),
    idleTimeoutMs: duration(input.idleTimeout ?? DEFAULT_LIMITS.idleTimeout, 'idle timeout'),
    recordTimeoutMs: duration(input.recordTimeout ?? DEFAULT_LIMITS.recordTimeout, 'record timeout'),
    maxPendingBytes: parseSize(input.maxPendingBytes ?? DEFAULT_LIMITS.maxPendingBytes, 'max pending bytes'),
  };
}
