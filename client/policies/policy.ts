// The retransmit-policy contract (undici retry style): the transport owns sockets, timers and the transmit queue;
// a policy is a small decision object consulted at three moments of a call's life. One file per policy, each
// naming the kernel function (or the seed's proposal) it models.
//
// Vocabulary (see client/rpc/transport.ts for the mechanism):
// - a transmission is one write of the call's whole record to the socket; the first one, retransmissions after a
//   minor/major timeout, and replays after a reconnect all carry the same XID;
// - its payload is either `borrow` (the caller's Buffer by reference, as Linux's sendpage references pages) or
//   `copy` (a transport-owned copy made when the transmission is queued; later transmissions reuse that copy);
// - "queued": waiting in the transport's transmit queue (Linux: sleeping on xprt->sending/resend, no byte sent);
//   "in the socket": handed to socket.write() whole, some bytes not yet taken by the kernel (Linux: skbs in the
//   socket's send queue still referencing the pages);
// - the call *completes* when its promise settles: from then on the caller owns its Buffer again and may scribble.

import type { PolicyName } from './index';

/** What the transmission being queued reads its payload from. */
export type PayloadSource = 'borrow' | 'copy';

/** Why a transmission is queued. */
export type TransmissionKind = 'first' | 'retransmit' | 'replay';

export interface PayloadDecision {
  kind: TransmissionKind;
  /** 0 for the first transmission, then 1, 2, ... */
  attempt: number;
  /** true when the call has caller Buffers referenced by its message (a WRITE payload) */
  borrows: boolean;
}

export interface ReleaseDecision {
  /** the reply has been matched (or the call failed) */
  settled: boolean;
  /** transmissions of this XID handed to the socket whose last byte is not yet on the wire */
  writing: number;
  /** transmissions of this XID still waiting in the transmit queue */
  queued: number;
}

/** What the matched reply does to this XID's other transmissions. */
export interface ReplyDecision {
  /**
   * A transmission still in the transmit queue: `skip` it (Linux since 2.6: xprt_prepare_transmit / call_status
   * skip a request with rq_received && !rq_bytes_sent; today xprt_request_transmit checks
   * xprt_request_data_received) or `send` it later anyway.
   */
  queued: 'skip' | 'send';
  /**
   * A transmission in the socket that reads caller memory: `finish` it from that memory (the record stream must
   * stay intact, RFC 5531 §11), or `withdraw` it by resetting the connection (Node drops a destroyed socket's
   * unwritten queue) and replaying the other pending calls on a new connection from the same source port.
   */
  inSocket: 'finish' | 'withdraw';
}

export interface RetransmitPolicy {
  /** its key in the POLICIES table (client/policies/index.ts) */
  readonly name: PolicyName;
  /** One sentence: what this policy guarantees about caller memory. */
  readonly guarantee: string;
  /** The kernel function or proposal it models (README's policy table). */
  readonly models: string;
  /** Where the transmission being queued takes its payload from. */
  payload(d: PayloadDecision): PayloadSource;
  /** On the matched reply: what happens to this XID's queued and in-socket transmissions. */
  readonly onReply: ReplyDecision;
  /** May the call complete (give the caller its Buffer back) now? Asked at reply and after every transmit-done. */
  mayComplete(d: ReleaseDecision): boolean;
}
