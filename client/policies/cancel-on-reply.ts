// cancel-on-reply: option 2 of seed 000 ("cancel queued duplicates if a response comes in late"), made complete.
// Every transmission references caller memory. On the reply, duplicates still queued are skipped (as Linux's
// xprt_prepare_transmit does); a duplicate already in the socket, which Linux cannot take back, is withdrawn by
// resetting the connection: Node drops a destroyed socket's unwritten queue, so no further byte is read from the
// caller's Buffer. The other pending calls are then replayed on a new connection from the same source port (as
// xs_tcp_reuse_connection / xs_bind with transport->srcport do), so a server's address+port DRC still knows them.
// Guarantee: no late transmission. Cost: one connection reset and reconnect per withdrawn duplicate, counted
// (stats.duplicatesWithdrawn, stats.reconnects) and reported.
import type { RetransmitPolicy } from './policy';

export const cancelOnReply: RetransmitPolicy = Object.freeze<RetransmitPolicy>({
  name: 'cancel-on-reply',
  guarantee: 'no late reads: queued duplicates are skipped and one in the socket is withdrawn by resetting the connection',
  models: "seed 000's proposal 2; the reset is xs_tcp_reuse_connection's connect(AF_UNSPEC) abort, port kept",
  payload: () => 'borrow',
  onReply: { queued: 'skip', inSocket: 'withdraw' },
  mayComplete: (d) => d.settled,
});
