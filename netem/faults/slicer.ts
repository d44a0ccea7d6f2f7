// slicer: cut every unit into small pieces (size +- variation bytes) written `delay` apart (Toxiproxy's slicer).
import type { FaultDef, FaultFactory, Piece } from '../fault';
import type { FaultSpecBase, Duration } from '../types';
import { bytesOf, directionsOf, modelMs, probabilityOf } from './common';

export interface SlicerSpec extends FaultSpecBase {
  kind: 'slicer';
  /** average slice size in bytes */
  size: string | number;
  /** slices are size +- variation bytes */
  variation?: string | number;
  /** delay between slices */
  delay?: Duration;
}

const create: FaultFactory<SlicerSpec> = (spec, ctx) => {
  const size = bytesOf(spec.size, 'size');
  const variation = spec.variation === undefined ? 0 : bytesOf(spec.variation, 'variation', 0);
  const delay = ctx.timeScale.real(modelMs(spec.delay ?? 0, 'delay'));
  const p = probabilityOf(spec);
  return {
    id: ctx.id,
    kind: 'slicer',
    spec,
    directions: directionsOf(spec),
    needsRecords: false,
    fired: 0,
    plan(plan) {
      if (!ctx.rng.chance(p)) return;
      this.fired++;
      const out: Piece[] = [];
      for (const piece of plan.pieces) {
        let at = piece.at;
        for (let o = 0; o < piece.bytes.length; ) {
          const n = Math.max(1, variation ? ctx.rng.between(size - variation, size + variation) : size);
          out.push({ bytes: piece.bytes.subarray(o, o + n), at });
          o += n;
          at += delay;
        }
      }
      plan.pieces = out;
    },
  };
};

export const slicer: FaultDef<SlicerSpec> = { keys: { required: ['size'], optional: ['variation', 'delay', 'probability', 'direction'] }, create };
