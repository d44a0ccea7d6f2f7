// The seed (shared/seeds/000): a 65 s stall of both directions every 1000 packets of client->server traffic. The
// seed's NFQUEUE program held the packets and let them go ("introducing delays"): resume together, the default;
// --resume backoff drops them instead, so each side resumes at its own TCP RTO expiry (netem/faults/stall.ts).
import type { FaultSpec } from '../../netem';
import type { Scenario, ScenarioParams } from './scenario';

/** The seed's stall, shared by the scenarios built on it. */
export function seedStall(p: ScenarioParams): FaultSpec {
  return { kind: 'stall', id: 'seed-stall', duration: p.stall, every: p.every, unit: 'packets', direction: 'both', resume: p.resume };
}

export const stall: Scenario = {
  description: "the seed's stall of both directions every N packets",
  cpuBound: false,
  faults: (p) => [seedStall(p)],
};
