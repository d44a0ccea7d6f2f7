// Record matchers shared by triggers and record-level faults: by XID, or by procedure and call number.
import { ConfigError } from '../core/errors';
import { resolveProc } from './rpc-framer';
import type { CallMatch, RecordInfo } from './types';

export type RecordMatcher = (rec: RecordInfo) => boolean;

/** Matches records (calls, or replies via the call facts they carry) of a procedure, optionally the nth calls. */
export function callMatcher(m: CallMatch, faultId: string): RecordMatcher {
  const p = resolveProc(m.proc, m.prog);
  if (!p) throw new ConfigError('NETEM_PROC', `fault ${faultId}: unknown procedure "${m.proc}"`);
  const nths = m.nth === undefined ? undefined : new Set(Array.isArray(m.nth) ? m.nth : [m.nth]);
  if (nths) for (const n of nths) if (!(Number.isInteger(n) && n >= 1)) throw new ConfigError('NETEM_PROC', `fault ${faultId}: nth must be integers >= 1`);
  return (rec) =>
    rec.proc === p.proc && (p.prog === undefined || rec.prog === p.prog) && (nths === undefined || (rec.callNumber !== undefined && nths.has(rec.callNumber)));
}

/** XID list or call match (at least one required). */
export function xidOrCallMatcher(xids: number[] | undefined, call: CallMatch | undefined, faultId: string): RecordMatcher {
  if (!xids && !call) throw new ConfigError('NETEM_MATCH', `fault ${faultId}: give xids or call`);
  const set = xids ? new Set(xids.map((x) => x >>> 0)) : undefined;
  const byCall = call ? callMatcher(call, faultId) : undefined;
  return (rec) => (set !== undefined && set.has(rec.xid)) || (byCall !== undefined && byCall(rec));
}
