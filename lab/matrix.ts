// The policy x DRC x scenario matrix: every cell is a full reproduction run (lab/repro.ts), repeated with
// different seeds, stored in the results database under one matrix id.
import path from 'node:path';
import { POLICY_NAMES, type PolicyName } from '../client/policies';
import { DEFAULTS, DRC_MODES, SCENARIOS, runRepro, type DrcModeName, type ReproOptions, type Scenario } from './repro';
import type { ResultsDb } from './results-db';
import type { RunRecord } from './run-record';

export interface MatrixOptions {
  policies?: readonly PolicyName[];
  drcs?: readonly DrcModeName[];
  scenarios?: readonly Scenario[];
  repeat?: number;
  /** cell r of every combination runs with seed baseSeed + r */
  baseSeed?: number;
  /** folder under which each run gets its own folder */
  outRoot: string;
  matrixId: string;
  db?: ResultsDb;
  /** overrides of the embedded repro defaults (time scale, sizes ...) */
  repro?: Partial<Omit<ReproOptions, 'policy' | 'drc' | 'scenario' | 'seed' | 'outDir'>>;
  onRun?(rec: RunRecord, index: number, total: number): void;
}

export async function runMatrix(o: MatrixOptions): Promise<RunRecord[]> {
  const policies = o.policies ?? POLICY_NAMES;
  const drcs = o.drcs ?? DRC_MODES;
  const scenarios = o.scenarios ?? SCENARIOS;
  const repeat = o.repeat ?? 1;
  const total = policies.length * drcs.length * scenarios.length * repeat;
  const out: RunRecord[] = [];
  for (const scenario of scenarios)
    for (const policy of policies)
      for (const drc of drcs)
        for (let r = 0; r < repeat; r++) {
          const seed = (o.baseSeed ?? 1) + r;
          const outDir = path.join(o.outRoot, o.matrixId, `${scenario}-${policy}-${drc}-s${seed}`);
          const { record } = await runRepro({ ...DEFAULTS, ...o.repro, policy, drc, scenario, seed, outDir, matrixId: o.matrixId });
          record.runId = `${o.matrixId}/${path.basename(outDir)}`;
          o.db?.saveRun(record);
          out.push(record);
          o.onRun?.(record, out.length, total);
        }
  return out;
}
