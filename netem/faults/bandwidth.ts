// bandwidth: each direction of each connection drains at `rate` bytes per modelled second.
import type { FaultDef, FaultFactory } from '../fault';
import type { FaultSpecBase } from '../types';
import { bytesOf, directionsOf, PerFlow } from './common';

export interface BandwidthSpec extends FaultSpecBase {
  kind: 'bandwidth';
  /** bytes per modelled second; accepts sizes ("10MiB") */
  rate: string | number;
}

const create: FaultFactory<BandwidthSpec> = (spec, ctx) => {
  // model bytes per model second -> bytes per real ms
  const perRealMs = bytesOf(spec.rate, 'rate') / 1000 / ctx.timeScale.factor;
  const nextFree = new PerFlow(() => ({ t: 0 }));
  return {
    id: ctx.id,
    kind: 'bandwidth',
    spec,
    directions: directionsOf(spec),
    needsRecords: false,
    fired: 0,
    plan(plan) {
      this.fired++;
      const s = nextFree.get(plan.conn.id, plan.direction);
      for (const piece of plan.pieces) {
        piece.at = Math.max(piece.at, s.t);
        s.t = piece.at + piece.bytes.length / perRealMs;
      }
    },
    onClose(conn) {
      nextFree.drop(conn);
    },
  };
};

export const bandwidth: FaultDef<BandwidthSpec> = { keys: { required: ['rate'], optional: ['direction'] }, create };
