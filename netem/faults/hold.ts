// hold: keep reading but buffer in the proxy and release later (unlike stall, the sender does not back up).
import type { FaultDef, FaultFactory, FaultInstance } from '../fault';
import { TRIGGER_KEYS, Trigger } from '../trigger';
import type { FaultSpecBase, Duration } from '../types';
import { directionsOf, modelMs } from './common';

export interface HoldSpec extends FaultSpecBase {
  kind: 'hold';
  duration: Duration;
}

const create: FaultFactory<HoldSpec> = (spec, ctx) => {
  const durationModel = modelMs(spec.duration, 'duration');
  const directions = directionsOf(spec);
  const inst: FaultInstance = { id: ctx.id, kind: 'hold', spec, directions, needsRecords: false, fired: 0 };
  const trigger = new Trigger(spec, ctx, (f) => {
    const go = () => {
      inst.fired++;
      ctx.hold(directions, ctx.timeScale.real(durationModel));
      ctx.emit({ event: 'hold-start', reason: f.reason, modelDurationMs: durationModel });
    };
    if (f.site) f.site.defer(go);
    else go();
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

export const hold: FaultDef<HoldSpec> = { keys: { required: ['duration'], optional: TRIGGER_KEYS }, create };
