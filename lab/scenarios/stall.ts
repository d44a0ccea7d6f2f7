// The seed (shared/seeds/000): a 65 s stall of both directions every 1000 packets of client->server traffic, the
// server's replies released at the end and the client's traffic at its next modelled TCP RTO retransmission
// (netem/faults/stall.ts, resume: 'backoff'), as the seed's NFQUEUE stall let the reply beat the queued retransmission.
import type { FaultSpec } from '../../netem';
import type { Scenario, ScenarioParams } from './scenario';

/** The seed's stall, shared by the scenarios built on it. */
export function seedStall(p: ScenarioParams): FaultSpec {
  return { kind: 'stall', id: 'seed-stall', duration: p.stall, every: p.every, unit: 'packets', direction: 'both', resume: 'backoff' };
}

export const stall: Scenario = {
  description: "the seed's stall every N packets, replies released first",
  cpuBound: false,
  faults: (p) => [seedStall(p)],
};
