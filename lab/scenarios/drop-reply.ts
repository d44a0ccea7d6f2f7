// The proxy swallows three WRITE replies chosen from the seed, and nothing stalls: the client retransmits after
// timeo while the caller's buffer is still intact, so the DRC only decides whether the same bytes are written twice.
import { Prng } from '../../core/prng';
import type { Scenario } from './scenario';

export const dropReply: Scenario = {
  description: 'the proxy swallows three WRITE replies chosen from the seed; no stall',
  cpuBound: true,
  faults(p) {
    const rng = new Prng(p.seed);
    const nth = new Set<number>();
    const want = Math.min(3, p.writeCalls);
    while (nth.size < want) nth.add(1 + Math.floor(rng.next() * p.writeCalls));
    return [{ kind: 'drop-reply', id: 'drop-writes', call: { proc: 'WRITE', nth: [...nth].sort((a, b) => a - b) } }];
  },
};
