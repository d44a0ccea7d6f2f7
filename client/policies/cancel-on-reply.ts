// cancel-on-reply: option 2 of seed 000 ("cancel queued duplicates if a response comes in late").
// Every transmission references caller memory. On the reply, every duplicate still waiting in the transmit queue
// is removed; one already handed to the socket must be finished to keep the record stream intact (RFC 5531 §11),
// so it is finished from caller memory and counted (`duplicatesFinished`), and if its last byte reaches the kernel
// after completion it is also counted as a late transmission.
// Guarantee: late transmissions <= duplicatesFinished; the residual window is measured, not assumed away.
import type { RetransmitPolicy } from './policy';

export const cancelOnReply: RetransmitPolicy = Object.freeze<RetransmitPolicy>({
  name: 'cancel-on-reply',
  guarantee: 'queued duplicates are dropped on the reply; only duplicates already on the socket can read late, and they are counted',
  payload: () => 'borrow',
  cancelQueuedOnReply: true,
  mayComplete: (d) => d.settled,
});
