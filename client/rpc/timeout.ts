// Linux RPC retransmit timers, in modelled ms: struct rpc_timeout and xprt_adjust_timeout (net/sunrpc/xprt.c).
// Two models of how NFS fills struct rpc_timeout for TCP, both with Linux's time-based major timeout:
// - linear (nfs_init_timeout_values, fs/nfs/client.c, 2.6.19 to today): to_increment = timeo,
//   to_maxval = timeo + timeo x retrans capped at NFS_MAX_TCP_TIMEOUT (600 s): timeo 60 s, retrans 2 -> 180 s;
// - exponential (nfs_create_client, fs/nfs/inode.c, 2.6.18, the seed's kernel): to_exponential = 1,
//   to_maxval = RPC_MAX_TCP_TIMEOUT (600 s), so the major timeout comes at timeo << retrans (240 s).
// A major timeout is decided by the clock, not by a count: xprt_reset_majortimeo sets rq_majortimeo when the
// request is first transmitted (2.6.18 xprt_transmit), and xprt_adjust_timeout calls a timeout major once that
// time has passed. With timeo 60 s and retrans 2 (linear) the first expiry (60 s) is minor and the second
// (60 + 120 = 180 s) already major: Linux's "retrans" is not the number of minor timeouts.
import { ConfigError } from '../../core/errors';

export const BACKOFFS = ['linear', 'exponential'] as const;
export type Backoff = (typeof BACKOFFS)[number];

/** struct rpc_timeout, modelled ms. */
export interface TimeoutConfig {
  /** to_initval: nfs(5) timeo (TCP default 600 deciseconds = 60 s) */
  timeo: number;
  /** to_retries: nfs(5) retrans (TCP default 2) */
  retrans: number;
  /** to_exponential: double the timeout on each minor timeout instead of adding to_increment */
  backoff: Backoff;
  /** to_maxval: cap of the timeout and of the major timeout's span */
  max: number;
}

/** NFS_MAX_TCP_TIMEOUT and RPC_MAX_TCP_TIMEOUT (include/linux/sunrpc/xprt.h): 600 s. */
export const MAX_TCP_TIMEOUT_MS = 600_000;

/** nfs(5) TCP defaults, filled the way the chosen kernel fills them. */
export function linuxTimeouts(timeo = 60_000, retrans = 2, backoff: Backoff = 'linear'): TimeoutConfig {
  if (backoff === 'exponential') return checkTimeout({ timeo, retrans, backoff, max: MAX_TCP_TIMEOUT_MS });
  // nfs_init_timeout_values: to_maxval = to_initval + to_increment * to_retries, capped, at least to_initval.
  const init = Math.min(timeo, MAX_TCP_TIMEOUT_MS);
  return checkTimeout({ timeo: init, retrans, backoff, max: Math.max(init, Math.min(init + init * retrans, MAX_TCP_TIMEOUT_MS)) });
}

export const DEFAULT_TIMEOUT: TimeoutConfig = Object.freeze(linuxTimeouts());

export function checkTimeout(c: TimeoutConfig): TimeoutConfig {
  if (!(c.timeo > 0)) throw new ConfigError('BAD_TIMEO', `timeo must be > 0, got ${c.timeo} ms`);
  if (!(Number.isInteger(c.retrans) && c.retrans >= 0)) throw new ConfigError('BAD_RETRANS', `retrans must be an integer >= 0, got ${c.retrans}`);
  if (!(BACKOFFS as readonly string[]).includes(c.backoff)) throw new ConfigError('BAD_BACKOFF', `backoff must be one of ${BACKOFFS.join(', ')}, got "${c.backoff}"`);
  if (!(c.max >= c.timeo)) throw new ConfigError('BAD_TIMEO', `timeout cap ${c.max} ms is below timeo ${c.timeo} ms`);
  return c;
}

/** Per-request timer state (struct rpc_rqst rq_timeout, rq_retries, rq_majortimeo), modelled ms. */
export class CallTimeout {
  /** rq_timeout: the timer armed at the next transmission */
  current: number;
  /** rq_retries: minor timeouts since the last major one */
  retries = 0;
  /** rq_majortimeo: modelled clock time from which the next expiry is major (set at the first transmission) */
  majorAt = Number.POSITIVE_INFINITY;
  constructor(private readonly c: TimeoutConfig) {
    this.current = c.timeo;
  }

  /** xprt_reset_majortimeo: rq_timeout + increment x retries (or rq_timeout << retries), capped at to_maxval. */
  resetMajor(now: number): void {
    let span = this.c.backoff === 'exponential' ? this.current * 2 ** this.c.retrans : this.current + this.c.timeo * this.c.retrans;
    if (span > this.c.max || span === 0) span = this.c.max;
    this.majorAt = now + span;
  }

  /** xprt_adjust_timeout, called when the timer fired at modelled time `now`. */
  expire(now: number): 'minor' | 'major' {
    if (now < this.majorAt) {
      this.current = this.c.backoff === 'exponential' ? this.current * 2 : this.current + this.c.timeo;
      if (this.c.max && this.current >= this.c.max) this.current = this.c.max;
      this.retries++;
      return 'minor';
    }
    // Major: back to to_initval, retry count cleared, rq_majortimeo reset from now.
    this.current = this.c.timeo;
    this.retries = 0;
    this.resetMajor(now);
    return 'major';
  }
}
