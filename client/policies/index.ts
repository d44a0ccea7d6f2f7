// The policy table: `--policy NAME` selects one of these (explicit table, no registration side effects). Its keys are
// the policy vocabulary of the CLI, the matrix and the results database: adding a policy is one file and one row.
import { ConfigError } from '../../core/errors';
import { cancelOnReply } from './cancel-on-reply';
import { copyAlways } from './copy-always';
import { copyOnRetransmit } from './copy-on-retransmit';
import { linux2008 } from './linux-2008';
import { noCancel } from './no-cancel';
import type { RetransmitPolicy } from './policy';
import { waitForWire } from './wait-for-wire';

export * from './policy';

export const POLICIES = Object.freeze({
  'linux-2008': linux2008,
  'copy-on-retransmit': copyOnRetransmit,
  'cancel-on-reply': cancelOnReply,
  'wait-for-wire': waitForWire,
  'copy-always': copyAlways,
  'no-cancel': noCancel,
} as const satisfies Record<string, RetransmitPolicy>);

/** The policy names, in table order (the matrix runs and prints them in this order). */
export type PolicyName = keyof typeof POLICIES;
export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[];

export function getPolicy(name: string): RetransmitPolicy {
  if (!(POLICY_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError('BAD_POLICY', `unknown policy "${name}" (one of: ${POLICY_NAMES.join(', ')})`);
  }
  return POLICIES[name as PolicyName];
}
