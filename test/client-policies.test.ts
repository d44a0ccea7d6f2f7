// One contract suite run against every retransmit policy, through a relay that replays seed 000: a 65 s stall
// (timeo 60 s, time scale 0.002), replies to the originals released before the queued retransmissions, every
// Buffer scribbled with 0xdeadbeef as soon as its call completes. Each policy must keep the promise its file
// documents, judged both by the client's own counts and by what arrived on the receiving side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { POLICIES, POLICY_NAMES, getPolicy, type PolicyName } from '../client/policies';
import { ConfigError } from '../core/errors';
import { runStallScenario, type ScenarioResult } from './support/client-stall-scenario';

/** What each policy promises (its file's guarantee), as checks on one stalled run. */
const CONTRACT: Record<PolicyName, (r: ScenarioResult) => void> = {
  'zero-copy': (r) => {
    // The 2008 behaviour: duplicates queued before the reply are sent later from reused memory.
    assert.ok(r.stats.lateTransmissions > 0, 'zero-copy must show late transmissions under the stall');
    assert.ok(r.scribbledRecords > 0, '0xdeadbeef must reach the receiving side');
    assert.ok(r.corrupt.length > 0, 'a server without a DRC executes the scribbled duplicates');
  },
  'copy-on-retransmit': (r) => {
    assert.equal(r.stats.lateTransmissions, 0);
    assert.ok(r.stats.copies > 0, 'retransmissions must have been copied');
  },
  'cancel-on-reply': (r) => {
    assert.ok(r.stats.duplicatesCancelled > 0, 'queued duplicates must have been cancelled');
    // Only duplicates already on the socket may read late, and they are counted.
    assert.ok(r.stats.lateTransmissions <= r.stats.duplicatesFinished, `late ${r.stats.lateTransmissions} > finished ${r.stats.duplicatesFinished}`);
    assert.ok(r.scribbledRecords <= r.stats.duplicatesFinished);
    assert.ok(r.corrupt.length <= r.stats.duplicatesFinished);
  },
  'wait-for-wire': (r) => {
    assert.equal(r.stats.lateTransmissions, 0);
    assert.equal(r.stats.duplicatesCancelled, 0);
  },
  'copy-always': (r) => {
    assert.equal(r.stats.lateTransmissions, 0);
    assert.equal(r.stats.copies, r.stats.calls, 'one payload copy per call');
  },
};

/** The safe policies: nothing scribbled may reach the receiving side at all. */
const SAFE: readonly PolicyName[] = ['copy-on-retransmit', 'wait-for-wire', 'copy-always'];

for (const name of POLICY_NAMES) {
  test(`${name}: ${POLICIES[name].guarantee}`, async () => {
    const r = await runStallScenario(name, { calls: 36 });
    assert.equal(r.stalls, 1, 'the relay stalled once');
    assert.equal(r.stats.completed, 36);
    assert.ok(r.stats.retransmitsQueued > 0, 'the 60 s timer fired during the 65 s stall');
    assert.equal(r.stats.failedTransmissions, 0);
    // The client's own count agrees with the wire: a late transmission is one whose bytes the caller had reused.
    assert.ok(r.scribbledRecords <= r.stats.lateTransmissions, `scribbled records ${r.scribbledRecords} > late ${r.stats.lateTransmissions}`);
    if (SAFE.includes(name)) {
      assert.equal(r.scribbledRecords, 0);
      assert.deepEqual(r.corrupt, []);
    }
    CONTRACT[name](r);
    for (const s of r.stats.perXid.values()) assert.ok(s.lateTransmissions <= s.transmissions);
  });
}

test('decision objects: who copies, who cancels, who holds completion', () => {
  const first = { kind: 'first' as const, attempt: 0, borrows: true };
  const again = { kind: 'retransmit' as const, attempt: 1, borrows: true };
  assert.deepEqual(POLICY_NAMES.map((n) => [POLICIES[n].payload(first), POLICIES[n].payload(again)]), [
    ['borrow', 'borrow'],
    ['borrow', 'copy'],
    ['borrow', 'borrow'],
    ['borrow', 'borrow'],
    ['copy', 'copy'],
  ]);
  assert.deepEqual(POLICY_NAMES.filter((n) => POLICIES[n].cancelQueuedOnReply), ['cancel-on-reply']);
  const heldOnWire = { settled: true, writing: 1, queued: 0 };
  assert.deepEqual(POLICY_NAMES.filter((n) => !POLICIES[n].mayComplete(heldOnWire)), ['wait-for-wire']);
  assert.throws(() => getPolicy('copy-sometimes'), (e: unknown) => e instanceof ConfigError && e.code === 'BAD_POLICY');
});
