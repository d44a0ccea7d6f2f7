// no-cancel: an amplifier that no Linux shipped, kept to compare against linux-2008. Every transmission
// references caller memory and a reply cancels nothing: a duplicate still waiting in the transmit queue when the
// reply arrives is sent later from whatever the Buffer then holds. Linux never did that (xprt_prepare_transmit
// skips such a request since 2.6), so this overstates the 2008 bug: in the contract suite's stalled relay 16 of its
// 17 late transmissions took the queued path Linux skips (linux-2008: 1, in the socket), and in the reproduction's
// stall cells it had 8-9 where linux-2008 had 1-2. Kept as the testbed's worst case, not as "2008".
// This and linux-2008 are the only places in the project where a borrowed Buffer is read after it was given back.
import type { RetransmitPolicy } from './policy';

export const noCancel: RetransmitPolicy = Object.freeze<RetransmitPolicy>({
  name: 'no-cancel',
  guarantee: 'none: every duplicate, queued or in the socket, is sent later from caller memory the caller already reused',
  models: 'no kernel: linux-2008 without the xprt_prepare_transmit check (an amplifier)',
  payload: () => 'borrow',
  onReply: { queued: 'send', inSocket: 'finish' },
  mayComplete: (d) => d.settled,
});
