// copy-on-retransmit: Linux's fix (a6b31d18b02f, 2013, "SUNRPC: Fix a data corruption issue when retransmitting
// RPC calls"): xprt_transmit's retransmission path sends from a copy of the pages taken while the call was still
// pending (the first transmission stays zero-copy). On the reply it behaves as every Linux since 2.6 does:
// queued duplicates are skipped (xprt_prepare_transmit), one in the socket is finished — from the copy.
// Guarantee: no byte is read from caller memory after completion. The first transmission's last byte reached the
// kernel before its reply could exist (TCP delivers in order and the server answers only a whole record), and
// every later transmission reads the transport's copy.
import type { RetransmitPolicy } from './policy';

export const copyOnRetransmit: RetransmitPolicy = Object.freeze<RetransmitPolicy>({
  name: 'copy-on-retransmit',
  guarantee: 'no late reads: retransmissions and replays send a copy taken while the call was still pending',
  models: 'Linux a6b31d18b02f (2013): copy on resend; xprt_prepare_transmit skips queued duplicates',
  payload: (d) => (d.kind === 'first' ? 'borrow' : 'copy'),
  onReply: { queued: 'skip', inSocket: 'finish' },
  mayComplete: (d) => d.settled,
});
