// The fault table: kind -> factory, listed explicitly.
import { ConfigError } from '../../core/errors';
import type { FaultContext, FaultFactory, FaultInstance } from '../fault';
import type { FaultKind, FaultSpec } from '../types';
import { bandwidth } from './bandwidth';
import { blackhole } from './blackhole';
import { dropReply } from './drop-reply';
import { duplicateCall } from './duplicate-call';
import { hold } from './hold';
import { latency } from './latency';
import { reset } from './reset';
import { slicer } from './slicer';
import { stall } from './stall';

export const FAULTS: { readonly [K in FaultKind]: FaultFactory<Extract<FaultSpec, { kind: K }>> } = {
  stall,
  hold,
  latency,
  bandwidth,
  slicer,
  reset,
  blackhole,
  'drop-reply': dropReply,
  'duplicate-call': duplicateCall,
};

export const FAULT_KINDS = Object.keys(FAULTS) as FaultKind[];

type Keys<K extends FaultKind> = ReadonlyArray<Exclude<keyof Extract<FaultSpec, { kind: K }>, 'kind' | 'id'>>;

/** What fires stall, hold, reset and blackhole (netem/trigger.ts). */
const TRIGGER = ['every', 'unit', 'mss', 'interval', 'at', 'call', 'count', 'probability', 'direction'] as const;

/**
 * The keys each kind reads (netem/types.ts): a key the kind does not read is refused rather than ignored, and a
 * missing required key is named as such, so `slicer:bytes=100` says "unknown key bytes" and not that `size`
 * cannot be parsed from "undefined".
 */
export const FAULT_KEYS: { readonly [K in FaultKind]: { readonly required: Keys<K>; readonly optional: Keys<K> } } = {
  stall: { required: ['duration'], optional: ['resume', 'rtoInitial', 'rtoMax', 'phase', ...TRIGGER] },
  hold: { required: ['duration'], optional: TRIGGER },
  latency: { required: ['delay'], optional: ['jitter', 'probability', 'direction'] },
  bandwidth: { required: ['rate'], optional: ['direction'] },
  slicer: { required: ['size'], optional: ['variation', 'delay', 'probability', 'direction'] },
  reset: { required: [], optional: TRIGGER },
  blackhole: { required: [], optional: ['duration', 'close', ...TRIGGER] },
  'drop-reply': { required: [], optional: ['xids', 'call', 'count', 'probability', 'direction'] },
  'duplicate-call': { required: [], optional: ['xids', 'call', 'count', 'delay', 'probability', 'direction'] },
};

function checkKeys(spec: FaultSpec, name: string): void {
  const { required, optional } = FAULT_KEYS[spec.kind] as { required: readonly string[]; optional: readonly string[] };
  const takes = `${spec.kind} takes ${[...required, ...optional].join(', ') || 'no keys'}`;
  for (const k of Object.keys(spec)) {
    if (k === 'kind' || k === 'id' || (spec as unknown as Record<string, unknown>)[k] === undefined) continue;
    if (!required.includes(k) && !optional.includes(k)) throw new ConfigError('NETEM_FAULT_KEY', `fault ${name}: unknown key "${k}" (${takes})`, { key: k });
  }
  for (const k of required) {
    if ((spec as unknown as Record<string, unknown>)[k] === undefined) throw new ConfigError('NETEM_FAULT_KEY', `fault ${name}: missing key "${k}" (${takes})`, { key: k });
  }
}

export function createFault(spec: FaultSpec, ctx: FaultContext): FaultInstance {
  const factory = FAULTS[spec?.kind] as FaultFactory | undefined;
  if (!factory) throw new ConfigError('NETEM_FAULT_KIND', `unknown fault kind "${spec?.kind}" (kinds: ${FAULT_KINDS.join(', ')})`);
  checkKeys(spec, ctx.id);
  try {
    return factory(spec, ctx);
  } catch (e) {
    // A value error names its key ("size: cannot parse size ..."); say which fault it belongs to.
    if (e instanceof ConfigError && !e.message.startsWith(`fault ${ctx.id}`)) throw new ConfigError(e.code, `fault ${ctx.id}: ${e.message}`, e.details);
    throw e;
  }
}
