// copy-always: the bounce-buffer reference point (what a kernel does with sendmsg instead of sendpage). The
// payload is copied when the first transmission is queued and every transmission reads that copy; the caller's
// Buffer is never referenced by the socket. Nothing is cancelled on the reply.
// Guarantee: no late reads, at the cost of one payload copy per call.
import type { RetransmitPolicy } from './policy';

export const copyAlways: RetransmitPolicy = Object.freeze<RetransmitPolicy>({
  name: 'copy-always',
  guarantee: 'no late reads: the socket only ever sees a transport-owned copy made at the first send',
  models: 'a bounce buffer (sendmsg instead of sendpage)',
  payload: () => 'copy',
  onReply: { queued: 'send', inSocket: 'finish' },
  mayComplete: (d) => d.settled,
});
