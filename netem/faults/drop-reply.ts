// drop-reply: swallow whole reply records (chosen XIDs, or the reply to the Nth call of a procedure) so the
// client times out and retransmits and the server's duplicate request cache is exercised (RFC 5531 §11 records).
import { ConfigError } from '../../core/errors';
import type { FaultDef, FaultFactory } from '../fault';
import { xidOrCallMatcher } from '../match';
import type { FaultSpecBase, CallMatch } from '../types';
import { probabilityOf } from './common';

export interface DropReplySpec extends FaultSpecBase {
  kind: 'drop-reply';
  /** drop replies to these XIDs */
  xids?: number[];
  /** drop the reply to a matching call (nth = call number of that procedure) */
  call?: CallMatch;
}

const create: FaultFactory<DropReplySpec> = (spec, ctx) => {
  const match = xidOrCallMatcher(spec.xids, spec.call, ctx.id);
  const p = probabilityOf(spec);
  // Replies flow downstream only: the normalized spec says so, and a spec saying otherwise is refused.
  if (spec.direction !== undefined && spec.direction !== 'downstream') throw new ConfigError('NETEM_DIRECTION', `fault ${ctx.id}: direction is always downstream`);
  return {
    id: ctx.id,
    kind: 'drop-reply',
    spec: { ...spec, direction: 'downstream' },
    directions: new Set(['downstream'] as const),
    needsRecords: true,
    fired: 0,
    plan(plan) {
      const rec = plan.records.length === 1 ? plan.records[0] : undefined;
      if (!rec || rec.type !== 'reply' || !match(rec)) return;
      if (spec.count !== undefined && this.fired >= spec.count) return;
      if (!ctx.rng.chance(p)) return;
      this.fired++;
      plan.pieces = [];
      ctx.emit({ event: 'drop-reply', conn: plan.conn.id, direction: 'downstream', xid: rec.xid, proc: rec.procName, callNumber: rec.callNumber, bytes: rec.wireBytes });
    },
  };
};

export const dropReply: FaultDef<DropReplySpec> = { keys: { required: [], optional: ['xids', 'call', 'count', 'probability', 'direction'] }, create };
