// copy-on-retransmit: Linux's fix (a6b31d18b02f, 2013, "SUNRPC: Fix a data corruption issue when retransmitting
// RPC calls"). The first transmission is zero-copy; a retransmission copies the payload at the moment it is
// queued, while the call is still pending so the caller has not touched the Buffer yet.
// Guarantee: no byte is read from caller memory after completion. The first transmission's last byte reached the
// kernel before its reply could exist (TCP delivers in order and the server answers only a whole record), and
// every later transmission reads the transport's copy.
import type { RetransmitPolicy } from './policy';

export const copyOnRetransmit: RetransmitPolicy = Object.freeze<RetransmitPolicy>({
  name: 'copy-on-retransmit',
  guarantee: 'no late reads: retransmissions and replays send a copy taken while the call was still pending',
  payload: (d) => (d.kind === 'first' ? 'borrow' : 'copy'),
  cancelQueuedOnReply: false,
  mayComplete: (d) => d.settled,
});
