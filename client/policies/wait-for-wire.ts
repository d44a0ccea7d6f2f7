// wait-for-wire: option 1 of seed 000 ("do not return success to userspace until all duplicated requests have
// actually hit the wire"). Every transmission references caller memory; the caller's completion is held back
// until every transmission of the XID has its last byte handed to the kernel (or was abandoned with its socket).
// Queued duplicates are still sent (nothing is cancelled). No kernel shipped this.
// Guarantee: no late reads; the price is latency when a duplicate waits behind a stalled socket.
import type { RetransmitPolicy } from './policy';

export const waitForWire: RetransmitPolicy = Object.freeze<RetransmitPolicy>({
  name: 'wait-for-wire',
  guarantee: 'no late reads: completion waits until every transmission of the XID is on the wire',
  models: "seed 000's proposal 1 (no kernel)",
  payload: () => 'borrow',
  onReply: { queued: 'send', inSocket: 'finish' },
  mayComplete: (d) => d.settled && d.writing === 0 && d.queued === 0,
});
