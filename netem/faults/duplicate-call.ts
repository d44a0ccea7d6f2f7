// duplicate-call: write a second copy of a matching call record (same XID, same bytes) `delay` after the first,
// as a retransmitting client would; the server's duplicate request cache should answer it.
import { ConfigError } from '../../core/errors';
import type { FaultDef, FaultFactory } from '../fault';
import { xidOrCallMatcher } from '../match';
import type { FaultSpecBase, Duration, CallMatch } from '../types';
import { modelMs, probabilityOf } from './common';

export interface DuplicateCallSpec extends FaultSpecBase {
  kind: 'duplicate-call';
  xids?: number[];
  call?: CallMatch;
  /** delay of the copy after the original */
  delay?: Duration;
}

const create: FaultFactory<DuplicateCallSpec> = (spec, ctx) => {
  const match = xidOrCallMatcher(spec.xids, spec.call, ctx.id);
  const p = probabilityOf(spec);
  // Calls are duplicated upstream only: the normalized spec says so, and a spec saying otherwise is refused.
  if (spec.direction !== undefined && spec.direction !== 'upstream') throw new ConfigError('NETEM_DIRECTION', `fault ${ctx.id}: direction is always upstream`);
  const delay = ctx.timeScale.real(modelMs(spec.delay ?? 0, 'delay'));
  return {
    id: ctx.id,
    kind: 'duplicate-call',
    spec: { ...spec, direction: 'upstream' },
    directions: new Set(['upstream'] as const),
    needsRecords: true,
    fired: 0,
    plan(plan) {
      const rec = plan.records.length === 1 ? plan.records[0] : undefined;
      if (!rec || rec.type !== 'call' || !match(rec) || plan.pieces.length === 0) return;
      if (spec.count !== undefined && this.fired >= spec.count) return;
      if (!ctx.rng.chance(p)) return;
      this.fired++;
      const last = plan.pieces[plan.pieces.length - 1];
      // The copy references the same bytes: the proxy never modifies a record it read.
      for (const piece of plan.pieces.slice()) plan.pieces.push({ bytes: piece.bytes, at: last.at + delay });
      ctx.emit({ event: 'duplicate-call', conn: plan.conn.id, direction: 'upstream', xid: rec.xid, proc: rec.procName, callNumber: rec.callNumber, bytes: rec.wireBytes });
    },
  };
};

export const duplicateCall: FaultDef<DuplicateCallSpec> = { keys: { required: [], optional: ['xids', 'call', 'count', 'delay', 'probability', 'direction'] }, create };
