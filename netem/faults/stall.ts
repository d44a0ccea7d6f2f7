// stall (freeze): stop reading and forwarding for a duration so the sender's kernel buffers fill and its writes
// back up — the seed's fault ("stalling all network traffic with the NFS server for 65s every 1000 packets").
import { ConfigError } from '../../core/errors';
import type { FaultDef, FaultFactory, FaultInstance } from '../fault';
import { TRIGGER_KEYS, Trigger } from '../trigger';
import type { FaultSpecBase, Duration, ResumePolicy } from '../types';
import { directionsOf, modelMs } from './common';

export interface StallSpec extends FaultSpecBase {
  kind: 'stall';
  duration: Duration;
  /**
   * together: both directions resume at the end. backoff: downstream resumes at the end; upstream resumes at the
   * next retransmission of a modelled Linux TCP RTO timer that started with the stall (200 ms doubling, capped),
   * which is how an NFQUEUE stall lets the server's reply beat the client's queued retransmission.
   */
  resume?: ResumePolicy;
  /** Linux TCP_RTO_MIN (200ms) and TCP_RTO_MAX (120s) by default */
  rtoInitial?: Duration;
  rtoMax?: Duration;
  /** for call triggers: stall before the matching call is forwarded, or right after (default after) */
  phase?: 'before' | 'after';
}

/** Linux TCP_RTO_MIN and TCP_RTO_MAX (include/net/tcp.h). */
export const LINUX_RTO_MIN_MS = 200;
export const LINUX_RTO_MAX_MS = 120_000;

/**
 * Modelled ms from the start of a stall to the first TCP retransmission at or after its end, for a sender whose
 * retransmission timer starts with the stall at `rto0` and doubles (RFC 6298 §5.5 backoff) up to `rtoMax`.
 * 65 s with Linux defaults: 0.2+0.4+...+51.2 s = 102.2 s, i.e. upstream resumes 37.2 s after downstream.
 */
export function rtoReleaseAfter(stallMs: number, rto0 = LINUX_RTO_MIN_MS, rtoMax = LINUX_RTO_MAX_MS): number {
  let t = 0;
  let rto = rto0;
  while (t < stallMs) {
    t += rto;
    rto = Math.min(rto * 2, rtoMax);
  }
  return t;
}

const create: FaultFactory<StallSpec> = (spec, ctx) => {
  const durationModel = modelMs(spec.duration, 'duration');
  const resume = spec.resume ?? 'together';
  if (resume !== 'together' && resume !== 'backoff') throw new ConfigError('NETEM_RESUME', `resume must be together or backoff, got "${resume}"`);
  const phase = spec.phase ?? 'after';
  if (phase !== 'before' && phase !== 'after') throw new ConfigError('NETEM_PHASE', `phase must be before or after`);
  const rto0 = modelMs(spec.rtoInitial ?? LINUX_RTO_MIN_MS, 'rtoInitial');
  const rtoMax = modelMs(spec.rtoMax ?? LINUX_RTO_MAX_MS, 'rtoMax');
  if (!(rto0 > 0) || rtoMax < rto0) throw new ConfigError('NETEM_RTO', 'need 0 < rtoInitial <= rtoMax');
  const directions = directionsOf(spec);
  const lagModel = resume === 'backoff' ? rtoReleaseAfter(durationModel, rto0, rtoMax) - durationModel : 0;

  const inst: FaultInstance = {
    id: ctx.id,
    kind: 'stall',
    spec: { ...spec, resume, phase },
    directions,
    needsRecords: spec.call !== undefined && phase === 'before',
    fired: 0,
  };
  const trigger = new Trigger(spec, ctx, (f) => {
    const go = () => {
      const ok = ctx.stall({
        durationMs: ctx.timeScale.real(durationModel),
        resume,
        upstreamLagMs: ctx.timeScale.real(lagModel),
        directions,
        source: ctx.id,
        facts: { reason: f.reason, modelDurationMs: durationModel, modelUpstreamLagMs: lagModel, ...(f.rec ? { xid: f.rec.xid, proc: f.rec.procName } : {}) },
      });
      if (ok) inst.fired++;
    };
    // "after": the unit that crossed the threshold is handed to the socket first, as the 1000th packet was.
    if (phase === 'before' || !f.site) go();
    else f.site.defer(go);
  }, 'install');
  inst.onChunk = (site, chunk) => {
    if (directions.has(site.direction)) trigger.chunk(site, chunk);
  };
  inst.onRecord = (site, rec) => {
    if (spec.call !== undefined || directions.has(site.direction)) trigger.record(site, rec);
  };
  return inst;
};

export const stall: FaultDef<StallSpec> = { keys: { required: ['duration'], optional: ['resume', 'rtoInitial', 'rtoMax', 'phase', ...TRIGGER_KEYS] }, create };
