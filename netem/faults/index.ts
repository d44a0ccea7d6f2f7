// The fault table: kind -> its definition (keys and factory, one file per kind), listed explicitly. The kinds and the
// FaultSpec union come from this table: adding a fault is one file and one row here.
import { ConfigError } from '../../core/errors';
import type { FaultContext, FaultDef, FaultInstance } from '../fault';
import { bandwidth } from './bandwidth';
import { blackhole } from './blackhole';
import { dropReply } from './drop-reply';
import { duplicateCall } from './duplicate-call';
import { hold } from './hold';
import { latency } from './latency';
import { reset } from './reset';
import { slicer } from './slicer';
import { stall } from './stall';

export const FAULTS = {
  stall,
  hold,
  latency,
  bandwidth,
  slicer,
  reset,
  blackhole,
  'drop-reply': dropReply,
  'duplicate-call': duplicateCall,
} as const;

type SpecOfDef<D> = D extends FaultDef<infer S> ? S : never;
/** The fault kinds: the table's keys. */
export type FaultKind = keyof typeof FAULTS;
/** A fault as users write it (CLI, schedule, API): one of the kinds' specs. */
export type FaultSpec = { [K in FaultKind]: SpecOfDef<(typeof FAULTS)[K]> }[FaultKind];
export type FaultSpecOf<K extends FaultKind> = Extract<FaultSpec, { kind: K }>;

export const FAULT_KINDS = Object.keys(FAULTS) as FaultKind[];

/**
 * The keys each kind reads (its file's FaultKeys): a key the kind does not read is refused rather than ignored,
 * and a missing required key is named as such, so `slicer:bytes=100` says "unknown key bytes" and not that `size`
 * cannot be parsed from "undefined".
 */
export const FAULT_KEYS = Object.fromEntries(FAULT_KINDS.map((k) => [k, FAULTS[k].keys])) as { readonly [K in FaultKind]: (typeof FAULTS)[K]['keys'] };

function checkKeys(spec: FaultSpec, name: string): void {
  const { required, optional } = FAULTS[spec.kind].keys as { required: readonly string[]; optional: readonly string[] };
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
  const def = (Object.hasOwn(FAULTS, spec?.kind) ? FAULTS[spec.kind] : undefined) as FaultDef<FaultSpec> | undefined;
  if (!def) throw new ConfigError('NETEM_FAULT_KIND', `unknown fault kind "${spec?.kind}" (kinds: ${FAULT_KINDS.join(', ')})`);
  checkKeys(spec, ctx.id);
  try {
    return def.create(spec, ctx);
  } catch (e) {
    // A value error names its key ("size: cannot parse size ..."); say which fault it belongs to.
    if (e instanceof ConfigError && !e.message.startsWith(`fault ${ctx.id}`)) throw new ConfigError(e.code, `fault ${ctx.id}: ${e.message}`, e.details);
    throw e;
  }
}
