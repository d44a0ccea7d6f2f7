// stall (freeze): stop reading and forwarding for a duration so the sender's kernel buffers fill and its writes
// back up — the seed's fault ("stalling all network traffic with the NFS server for 65s every 1000 packets").
// How traffic resumes is derived from TCP, per direction (netem/proxy.ts stall()):
// - together (held: NFQUEUE keeps the packets and reinjects them): both directions flow at the end of the stall;
// - backoff (dropped: NF_DROP): each direction resumes at its sender's next retransmission (RTO) expiry at or
//   after the end, its timer started by the first segment the stall dropped (at the start if bytes were in
//   flight, else at the sender's first bytes during the stall; a sender that sent nothing resumes at the end).
import { ConfigError } from '../../core/errors';
import type { FaultDef, FaultFactory, FaultInstance } from '../fault';
import { TRIGGER_KEYS, Trigger } from '../trigger';
import type { FaultSpecBase, Duration, ResumePolicy } from '../types';
import { directionsOf, modelMs } from './common';

export interface StallSpec extends FaultSpecBase {
  kind: 'stall';
  duration: Duration;
  /**
   * together (held, as NFQUEUE holding packets): both directions resume at the end. backoff (dropped): each
   * direction resumes at its sender's next TCP retransmission at or after the end, its RTO timer (200 ms doubling,
   * capped) started by the first segment the stall dropped; a direction that sent nothing resumes at the end.
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
 * Ms from a sender's first dropped segment to its first TCP retransmission at or after `stallMs` later, for a
 * retransmission timer of `rto0` doubling (RFC 6298 §5.5, Linux tcp_retransmit_timer) up to `rtoMax`.
 * A segment dropped at the start of a 65 s stall: 0.2+0.4+...+51.2 s = 102.2 s; one dropped 60 s into it: 6.2 s.
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
        rtoInitialMs: ctx.timeScale.real(rto0),
        rtoMaxMs: ctx.timeScale.real(rtoMax),
        directions,
        source: ctx.id,
        facts: { reason: f.reason, modelDurationMs: durationModel, ...(f.rec ? { xid: f.rec.xid, proc: f.rec.procName } : {}) },
      });
      if (ok) inst.fired++;
    };
    // "after": the unit that crossed the threshold is handed to the socket first, as the 1000th packet was.
    if (phase === 'before' || !f.site) go();
    else f.site.defer(go);
  }, 'install');
  inst.installed = () => trigger.installed();
  inst.onChunk = (site, chunk) => {
    if (directions.has(site.direction)) trigger.chunk(site, chunk);
  };
  inst.onRecord = (site, rec) => {
    if (spec.call !== undefined || directions.has(site.direction)) trigger.record(site, rec);
  };
  return inst;
};

export const stall: FaultDef<StallSpec> = { keys: { required: ['duration'], optional: ['resume', 'rtoInitial', 'rtoMax', 'phase', ...TRIGGER_KEYS] }, create };
