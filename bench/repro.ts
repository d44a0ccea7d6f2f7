// npm run bench -- repro: how long the whole time-scaled matrix takes (issue 7: <= 60 s) with the default --jobs,
// where each cell's time goes (phases summed over the cells), and one seed run next to the modelled time it stands
// for (what the seed's real-time scenario would take).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultJobs, runMatrix } from '../lab/matrix';
import { DEFAULTS, runRepro, type ReproPhases } from '../lab/repro';
import { median } from '../core/stats';
import { measurement, type Measurement } from './measure';

export async function run(): Promise<Measurement[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-bench-repro-'));
  try {
    const single: number[] = [];
    let modelMs = 0;
    for (let seed = 1; seed <= 3; seed++) {
      const t = performance.now();
      const { record } = await runRepro({ ...DEFAULTS, seed, outDir: path.join(root, `single-${seed}`) });
      single.push(performance.now() - t);
      modelMs = record.durationMs / DEFAULTS.timeScale;
      fs.rmSync(path.join(root, `single-${seed}`), { recursive: true, force: true });
    }
    const jobs = defaultJobs();
    const phases: ReproPhases = { start: 0, blktest: 0, stop: 0, inspect: 0, judge: 0 };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const recs = await runMatrix({
      outRoot: root,
      matrixId: 'bench',
      jobs,
      onRun: (r, i, n, p) => {
        for (const k of Object.keys(phases) as Array<keyof ReproPhases>) phases[k] += p[k];
        fs.rmSync(path.join(root, r.runId), { recursive: true, force: true });
        console.error(`  matrix ${i}/${n} ${r.config.scenario} ${r.config.policy} ${r.config.drc}: ${r.verdict}`);
      },
    });
    const wall = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cellMedian = median(recs.map((r) => r.durationMs)) / 1000;
    const where = (Object.keys(phases) as Array<keyof ReproPhases>).map((k) => `${k} ${(phases[k] / 1000).toFixed(1)}`).join(', ');
    return [
      measurement('repro', `one seed run (${DEFAULTS.policy}, DRC ${DEFAULTS.drc}), wall s`, median(single) / 1000, 's', 'the same run in modelled (real) time', modelMs / 1000, false, `time scale ${DEFAULTS.timeScale}; median of 3`),
      measurement(
        'repro',
        `full matrix, ${recs.length} cells, --jobs ${jobs}, wall s`,
        wall,
        's',
        'issue 7 target (60 s)',
        60,
        false,
        `cell median ${cellMedian.toFixed(2)} s; cell-seconds by phase: ${where}; CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s`,
      ),
    ];
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
