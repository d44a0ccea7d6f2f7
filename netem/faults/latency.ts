// latency: every unit is written `delay` +- `jitter` after it was read (order kept, as TCP keeps it).
import type { FaultDef, FaultFactory } from '../fault';
import type { FaultSpecBase, Duration } from '../types';
import { directionsOf, modelMs, probabilityOf } from './common';

export interface LatencySpec extends FaultSpecBase {
  kind: 'latency';
  delay: Duration;
  jitter?: Duration;
}

const create: FaultFactory<LatencySpec> = (spec, ctx) => {
  const delay = ctx.timeScale.real(modelMs(spec.delay, 'delay'));
  const jitter = ctx.timeScale.real(modelMs(spec.jitter ?? 0, 'jitter'));
  const p = probabilityOf(spec);
  return {
    id: ctx.id,
    kind: 'latency',
    spec,
    directions: directionsOf(spec),
    needsRecords: false,
    fired: 0,
    plan(plan) {
      if (!ctx.rng.chance(p)) return;
      this.fired++;
      const d = Math.max(0, delay + (jitter ? jitter * (2 * ctx.rng.next() - 1) : 0));
      for (const piece of plan.pieces) piece.at += d;
    },
  };
};

export const latency: FaultDef<LatencySpec> = { keys: { required: ['delay'], optional: ['jitter', 'probability', 'direction'] }, create };
