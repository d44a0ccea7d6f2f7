// What happens to a duplicate that arrives while the original is still executing.
// drop: Linux nfsd (nfsd_cache_lookup returns RC_DROPIT for RC_INPROG) — the client's retransmit timer copes.
// wait: nfs-ganesha (nfs_dupreq_start returns DUPREQ_BEING_PROCESSED and the duplicate is answered once done).
import type { DrcInProgress } from './config';
import type { DrcEntry, DrcReply } from './table';

export type InProgressDecision = { kind: 'drop' } | { kind: 'wait'; done: Promise<DrcReply | null> };

export function onInProgress(policy: DrcInProgress, entry: DrcEntry): InProgressDecision {
  if (policy === 'drop') return { kind: 'drop' };
  return { kind: 'wait', done: new Promise<DrcReply | null>((resolve) => entry.waiters.push(resolve)) };
}
