// blackhole: read and discard (the sender sees its writes accepted, nothing arrives), then close the connections.
import type { FaultDef, FaultFactory, FaultInstance } from '../fault';
import { TRIGGER_KEYS, Trigger } from '../trigger';
import type { FaultSpecBase, Duration } from '../types';
import { directionsOf, modelMs, probabilityOf } from './common';

export interface BlackholeSpec extends FaultSpecBase {
  kind: 'blackhole';
  /** how long data is read and discarded; absent: until the connection closes */
  duration?: Duration;
  /** close (FIN) the connection when the blackhole ends; default true */
  close?: boolean;
}

const create: FaultFactory<BlackholeSpec> = (spec, ctx) => {
  const directions = directionsOf(spec);
  const durationModel = spec.duration === undefined ? undefined : modelMs(spec.duration, 'duration');
  const p = probabilityOf(spec);
  let active = false;
  let dropped = 0;
  const inst: FaultInstance = { id: ctx.id, kind: 'blackhole', spec, directions, needsRecords: false, fired: 0 };
  const trigger = new Trigger({ ...spec, probability: 1 }, ctx, (f) => {
    if (active) return;
    active = true;
    inst.fired++;
    ctx.emit({ event: 'blackhole-start', reason: f.reason });
    if (durationModel === undefined) return;
    ctx.setTimer(() => {
      active = false;
      ctx.emit({ event: 'blackhole-end', droppedBytes: dropped });
      if (spec.close !== false) for (const c of ctx.connections()) c.end(`fault ${ctx.id}`);
    }, ctx.timeScale.real(durationModel));
  }, 'install');
  inst.installed = () => trigger.installed();
  inst.onChunk = (site, chunk) => {
    if (directions.has(site.direction)) trigger.chunk(site, chunk);
  };
  inst.onRecord = (site, rec) => {
    if (spec.call !== undefined || directions.has(site.direction)) trigger.record(site, rec);
  };
  inst.plan = (plan) => {
    if (!active || !ctx.rng.chance(p)) return;
    for (const piece of plan.pieces) dropped += piece.bytes.length;
    plan.pieces = [];
  };
  return inst;
};

export const blackhole: FaultDef<BlackholeSpec> = { keys: { required: [], optional: ['duration', 'close', ...TRIGGER_KEYS] }, create };
