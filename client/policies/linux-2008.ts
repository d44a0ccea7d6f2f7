// linux-2008: what Linux 2.6.18 (the seed's kernel) did, and every kernel until a6b31d18b02f (2013).
// Every transmission references caller memory (xs_tcp_send_request -> xs_sendpages -> sendpage: no copy).
// A retransmission still waiting for the transport when the reply arrives is never handed to the socket:
// xprt_prepare_transmit() and call_status() skip a request with `rq_received && !rq_bytes_sent`, and
// xprt_transmit() returns early for it. One already handed to the socket is finished from caller memory: its
// skbs reference the pages until TCP sends them, after write() returned — the seed's events 26/41-29/41 -> 40/41.
// Guarantee: none for that path; late transmissions happen only through it (counted as `inSocket`).
import type { RetransmitPolicy } from './policy';

export const linux2008: RetransmitPolicy = Object.freeze<RetransmitPolicy>({
  name: 'linux-2008',
  guarantee: 'none: a duplicate handed to the socket before the reply leaves later from memory the caller already reused',
  models: 'Linux 2.6.18 xprt_prepare_transmit / xprt_transmit / call_status (today: xprt_request_transmit)',
  payload: () => 'borrow',
  onReply: { queued: 'skip', inSocket: 'finish' },
  mayComplete: (d) => d.settled,
});
