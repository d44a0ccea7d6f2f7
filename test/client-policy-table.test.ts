// The policy table is the policy vocabulary (--policy, the matrix axis, the results database): each row's key is the
// name its policy reports in traces and records.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { POLICIES, POLICY_NAMES, getPolicy } from '../client/policies';

test('every policy is named by its row, and the names are the rows in table order', () => {
  for (const [key, p] of Object.entries(POLICIES)) assert.equal(p.name, key);
  assert.deepEqual(POLICY_NAMES, Object.keys(POLICIES));
  for (const n of POLICY_NAMES) assert.equal(getPolicy(n), POLICIES[n]);
  assert.throws(() => getPolicy('toString'), (e: { code?: string }) => e.code === 'BAD_POLICY');
});
