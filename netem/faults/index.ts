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

export function createFault(spec: FaultSpec, ctx: FaultContext): FaultInstance {
  const factory = FAULTS[spec?.kind] as FaultFactory | undefined;
  if (!factory) throw new ConfigError('NETEM_FAULT_KIND', `unknown fault kind "${spec?.kind}" (kinds: ${FAULT_KINDS.join(', ')})`);
  return factory(spec, ctx);
}
