// zero-copy: the 2008 Linux behaviour and the reproduction baseline (seed 000).
// Guarantee: none beyond TCP ordering. Every transmission of a WRITE references the caller's Buffer; the call
// completes on the reply; a duplicate still queued stays queued and is later sent from whatever the Buffer then
// holds. This is the one place in the project where a borrowed Buffer is read after it was given back.
import type { RetransmitPolicy } from './policy';

export const zeroCopy: RetransmitPolicy = Object.freeze<RetransmitPolicy>({
  name: 'zero-copy',
  guarantee: 'none: a duplicate queued before the reply is sent later from caller memory the caller already reused',
  payload: () => 'borrow',
  cancelQueuedOnReply: false,
  mayComplete: (d) => d.settled,
});
