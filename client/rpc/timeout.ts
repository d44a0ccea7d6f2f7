// Linux RPC timeout semantics (net/sunrpc/xprt.c xprt_adjust_timeout, nfs(5) timeo/retrans), in modelled ms.
// timeo: first timeout; each minor timeout retransmits and grows the timeout linearly by timeo up to `max`;
// after `retrans` minor timeouts the next one is major: soft calls fail, hard calls log, reset and keep trying.
import { ConfigError } from '../../core/errors';

export interface TimeoutConfig {
  /** modelled ms; nfs(5) TCP default timeo=600 (deciseconds) = 60 s */
  timeo: number;
  /** minor timeouts before a major one; nfs(5) default 2 */
  retrans: number;
  /** cap of the linear backoff; Linux caps NFS over TCP at 600 s */
  max: number;
}

export const DEFAULT_TIMEOUT: TimeoutConfig = Object.freeze({ timeo: 60_000, retrans: 2, max: 600_000 });

export function checkTimeout(c: TimeoutConfig): TimeoutConfig {
  if (!(c.timeo > 0)) throw new ConfigError('BAD_TIMEO', `timeo must be > 0, got ${c.timeo} ms`);
  if (!(Number.isInteger(c.retrans) && c.retrans >= 0)) throw new ConfigError('BAD_RETRANS', `retrans must be an integer >= 0, got ${c.retrans}`);
  if (!(c.max >= c.timeo)) throw new ConfigError('BAD_TIMEO', `timeout cap ${c.max} ms is below timeo ${c.timeo} ms`);
  return c;
}

/** Per-call timer state: what the next expiry means and how long until it. */
export class CallTimeout {
  /** current timeout, modelled ms */
  current: number;
  /** minor timeouts since the last major one */
  retries = 0;
  constructor(private readonly c: TimeoutConfig) {
    this.current = c.timeo;
  }
  /** Called when the timer fires; says whether this expiry is minor or major and moves to the next timeout. */
  expire(): 'minor' | 'major' {
    if (this.retries < this.c.retrans) {
      this.retries++;
      this.current = Math.min(this.current + this.c.timeo, this.c.max);
      return 'minor';
    }
    // xprt_adjust_timeout: a major timeout resets to the initial value and the retry count.
    this.retries = 0;
    this.current = this.c.timeo;
    return 'major';
  }
}
