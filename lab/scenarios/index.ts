// The scenario table: `--scenario NAME` selects one of these (explicit table, no registration side effects). Its
// keys are the scenario vocabulary of the CLI, the matrix and the results database.
import { ConfigError } from '../../core/errors';
import { dropReply } from './drop-reply';
import type { Scenario } from './scenario';
import { stall } from './stall';
import { stallRestart } from './stall-restart';

export * from './scenario';

export const SCENARIOS = {
  stall,
  'stall-restart': stallRestart,
  'drop-reply': dropReply,
} as const satisfies Record<string, Scenario>;

export type ScenarioName = keyof typeof SCENARIOS;
/** Table order: the matrix runs and prints scenarios in this order. */
export const SCENARIO_NAMES = Object.keys(SCENARIOS) as ScenarioName[];

export function getScenario(name: string): Scenario {
  if (!Object.hasOwn(SCENARIOS, name)) throw new ConfigError('BAD_SCENARIO', `unknown scenario "${name}" (one of: ${SCENARIO_NAMES.join(', ')})`);
  return SCENARIOS[name as ScenarioName];
}
