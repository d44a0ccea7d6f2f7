// reset: RST both sides of a connection when the trigger fires (default: its first chunk in the direction).
import type { FaultDef, FaultFactory, FaultInstance } from '../fault';
import { TRIGGER_KEYS, Trigger } from '../trigger';
import type { FaultSpecBase } from '../types';
import { directionsOf } from './common';

export interface ResetSpec extends FaultSpecBase {
  kind: 'reset';
}

const create: FaultFactory<ResetSpec> = (spec, ctx) => {
  const directions = directionsOf(spec);
  const inst: FaultInstance = { id: ctx.id, kind: 'reset', spec, directions, needsRecords: false, fired: 0 };
  const trigger = new Trigger(spec, ctx, (f) => {
    inst.fired++;
    const conns = f.site ? [f.site.conn] : ctx.connections();
    for (const c of conns) {
      ctx.emit({ event: 'reset', conn: c.id, reason: f.reason });
      c.reset(`fault ${ctx.id}`);
    }
  }, 'first-chunk');
  inst.onChunk = (site, chunk) => {
    if (directions.has(site.direction)) trigger.chunk(site, chunk);
  };
  inst.onRecord = (site, rec) => {
    if (spec.call !== undefined || directions.has(site.direction)) trigger.record(site, rec);
  };
  return inst;
};

export const reset: FaultDef<ResetSpec> = { keys: { required: [], optional: TRIGGER_KEYS }, create };
