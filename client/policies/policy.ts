// The retransmit-policy contract (undici retry style): the transport owns sockets, timers and the transmit queue;
// a policy is a small decision object consulted at three moments of a call's life. One file per policy.
//
// Vocabulary (see client/rpc/transport.ts for the mechanism):
// - a transmission is one write of the call's whole record to the socket; the first one, retransmissions after a
//   minor/major timeout, and replays after a reconnect all carry the same XID;
// - its payload is either `borrow` (the caller's Buffer by reference, as the 2008 kernel did with pages) or
//   `copy` (a transport-owned copy made when the transmission is queued; later transmissions reuse that copy);
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

export interface RetransmitPolicy {
  /** its key in the POLICIES table (client/policies/index.ts) */
  readonly name: PolicyName;
  /** One sentence: what this policy guarantees about caller memory. */
  readonly guarantee: string;
  /** Where the transmission being queued takes its payload from. */
  payload(d: PayloadDecision): PayloadSource;
  /**
   * On the matched reply: remove this XID's duplicates still waiting in the transmit queue? A transmission already
   * handed to the socket cannot be removed without corrupting the record stream (RFC 5531 §11): it is finished
   * and counted as `duplicatesFinished`.
   */
  cancelQueuedOnReply: boolean;
  /** May the call complete (give the caller its Buffer back) now? Asked at reply and after every transmit-done. */
  mayComplete(d: ReleaseDecision): boolean;
}
