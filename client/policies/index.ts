// The policy table: `--policy NAME` selects one of these (explicit table, no registration side effects).
import { ConfigError } from '../../core/errors';
import { cancelOnReply } from './cancel-on-reply';
import { copyAlways } from './copy-always';
import { copyOnRetransmit } from './copy-on-retransmit';
import { POLICY_NAMES, type PolicyName, type RetransmitPolicy } from './policy';
import { waitForWire } from './wait-for-wire';
import { zeroCopy } from './zero-copy';

export * from './policy';

export const POLICIES: Readonly<Record<PolicyName, RetransmitPolicy>> = Object.freeze({
  'zero-copy': zeroCopy,
  'copy-on-retransmit': copyOnRetransmit,
  'cancel-on-reply': cancelOnReply,
  'wait-for-wire': waitForWire,
  'copy-always': copyAlways,
});

export function getPolicy(name: string): RetransmitPolicy {
  if (!(POLICY_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError('BAD_POLICY', `unknown policy "${name}" (one of: ${POLICY_NAMES.join(', ')})`);
  }
  return POLICIES[name as PolicyName];
}
