// Server throughput: libnfs nfs-cp of a 256 MiB random file into and out of our server (journal on, run as the
// CLI in its own process) and nfs-ganesha 4.3 (the yardstick) in the same run, alternating, medians of RUNS.
// Both exports, the source file and the copies live on tmpfs (/dev/shm) so the disk does not decide; our
// journal file is on the OS temp dir. A third case prices the journal: our server with vs without it.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ganeshaMissing, startGanesha, Ganesha } from '../lab/peers/ganesha';
import { missingTools } from '../lab/peers/tools';
import { Measurement, measurement, median } from './measure';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_SERVER_MIB ?? 256);
const RUNS = Math.max(5, Number(process.env.BENCH_SERVER_RUNS ?? 5));
const CLI = path.join(__dirname, '..', 'cli', 'main.js');

interface Target {
  url(name: string): string;
  dir: string;
  stop(): Promise<void>;
}

async function startOurs(exportDir: string, journal?: string): Promise<Target> {
  const args = [CLI, 'server', '--export', exportDir, '--state-dir', `${exportDir}.state`, ...(journal ? ['--journal', journal] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c) => {
      out += c;
      const l = out.split('\n').find((x) => x.startsWith('ready '));
      if (l) resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  const base = /url=(\S+)/.exec(line)![1]; // nfs://127.0.0.1/export?nfsport=P&mountport=P&version=3
  const [prefix, query] = base.split('?');
  return {
    dir: exportDir,
    url: (name) => `${prefix}/${name}?${query}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        process.kill(child.pid!, 'SIGTERM');
      }),
  };
}

function ganeshaTarget(g: Ganesha): Target {
  return { dir: g.exportDir, url: (n) => g.url(n), stop: () => g.stop() };
}

/** Seconds for one nfs-cp (spawnSync: nothing else runs in this process meanwhile). */
function cp(src: string, dst: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('nfs-cp', [src, dst], { encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`nfs-cp ${src} ${dst}: ${r.stderr || r.status}`);
  return s;
}

export async function run(): Promise<Measurement[]> {
  const missing = missingTools(['nfs-cp', 'libnfs-utils']);
  if (missing) throw new Error(`bench server ${missing}`);
  const tmpfs = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const work = fs.mkdtempSync(path.join(tmpfs, 'nfst-bench-server-'));
  const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-bench-journal-'));
  const src = path.join(work, 'src.bin');
  const fd = fs.openSync(src, 'w');
  for (let i = 0; i < SIZE_MIB; i++) fs.writeSync(fd, crypto.randomBytes(MiB));
  fs.closeSync(fd);
  const back = path.join(work, 'back.bin');
  const dirs = ['ours', 'plain', 'ganesha'].map((d) => {
    fs.mkdirSync(path.join(work, d));
    return path.join(work, d);
  });
  const ours = await startOurs(dirs[0], path.join(journalDir, 'journal.db'));
  const plain = await startOurs(dirs[1]);
  const why = ganeshaMissing();
  const ganesha = why ? undefined : ganeshaTarget(await startGanesha({ exportDir: dirs[2] }));
  if (why) console.error(`# bench server: no yardstick: ${why}`);
  const times: Record<string, { write: number[]; read: number[] }> = { ours: { write: [], read: [] }, plain: { write: [], read: [] }, ganesha: { write: [], read: [] } };
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const [name, target] of [['ours', ours], ['ganesha', ganesha], ['plain', plain]] as const) {
        if (!target) continue;
        const file = `copy-${i}.bin`;
        times[name].write.push(cp(src, target.url(file)));
        times[name].read.push(cp(target.url(file), back));
        fs.rmSync(back);
        fs.rmSync(path.join(target.dir, file));
      }
      console.error(`# bench server: run ${i + 1}/${RUNS} done`);
    }
  } finally {
    await ours.stop();
    await plain.stop();
    await ganesha?.stop();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(journalDir, { recursive: true, force: true });
  }
  const rate = (xs: number[]) => SIZE_MIB / median(xs);
  const note = (xs: number[], target: string) => `runs=${xs.length}, ${SIZE_MIB} MiB, tmpfs exports, min..max ${(SIZE_MIB / Math.max(...xs)).toFixed(0)}..${(SIZE_MIB / Math.min(...xs)).toFixed(0)} MiB/s, target ${target}`;
  const g = ganesha ? times.ganesha : { write: [NaN], read: [NaN] };
  return [
    measurement('server', `nfs-cp write ${SIZE_MIB} MiB (journal on)`, rate(times.ours.write), 'MiB/s', 'nfs-ganesha 4.3', rate(g.write), true, note(times.ours.write, '>= 1.5x')),
    measurement('server', `nfs-cp read ${SIZE_MIB} MiB (journal on)`, rate(times.ours.read), 'MiB/s', 'nfs-ganesha 4.3', rate(g.read), true, note(times.ours.read, '>= 1.0x')),
    measurement('server', `nfs-cp write ${SIZE_MIB} MiB: journal on vs off`, rate(times.ours.write), 'MiB/s', 'our server without journal', rate(times.plain.write), true, note(times.plain.write, 'close to 1.0x')),
  ];
}
