// Server throughput: libnfs nfs-cp of a 256 MiB random file into and out of our server (journal on, run as the
// CLI in its own process) and nfs-ganesha 4.3 (the yardstick) in the same run, alternating, medians of RUNS.
// Both exports, the source file and the copies live on tmpfs (/dev/shm) so the disk does not decide; our
// journal file is on the OS temp dir. A third case prices the journal: our server with vs without it.
// CPU is counted too (nfs-cp's, from the shell's `times`; each server's, from /proc, including work it finishes
// after the reply), to say whether a target fits in this machine's cores at all: a client with one 1 MiB call
// outstanding can only go as fast as the client's and the server's CPU per MiB allow.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ganeshaMissing, startGanesha, Ganesha } from '../lab/peers/ganesha';
import { missingTools } from '../lab/peers/tools';
import { startReady } from './child';
import { median } from '../core/stats';
import { Measurement, measurement, processCpuMs, processSettled } from './measure';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_SERVER_MIB ?? 256);
const RUNS = Math.max(5, Number(process.env.BENCH_SERVER_RUNS ?? 5));
const CLI = path.join(__dirname, '..', 'cli', 'main.js');

interface Target {
  url(name: string): string;
  dir: string;
  pid: number;
  stop(): Promise<void>;
}

async function startOurs(exportDir: string, journal?: string): Promise<Target> {
  const args = [CLI, 'server', '--export', exportDir, '--state-dir', `${exportDir}.state`, ...(journal ? ['--journal', journal] : [])];
  const { proc, line, stop } = await startReady(args, 'ignore');
  const base = /url=(\S+)/.exec(line)![1]; // nfs://127.0.0.1/export?nfsport=P&mountport=P&version=3
  const [prefix, query] = base.split('?');
  return {
    dir: exportDir,
    pid: proc.pid!,
    url: (name) => `${prefix}/${name}?${query}`,
    stop,
  };
}

function ganeshaTarget(g: Ganesha): Target {
  return { dir: g.exportDir, pid: g.pid, url: (n) => g.url(n), stop: () => g.stop() };
}

/**
 * One nfs-cp (spawnSync: nothing else runs in this process meanwhile): its seconds, and its CPU ms from the
 * shell's `times` (second line: the children's user and system time, "0m0.351s 0m0.120s").
 */
function cp(src: string, dst: string): { s: number; cpuMs: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('bash', ['-c', 'nfs-cp "$1" "$2" >/dev/null || exit $?; times', 'nfs-cp', src, dst], { encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`nfs-cp ${src} ${dst}: ${r.stderr || r.status}`);
  const ms = [...(r.stdout.trim().split('\n').pop() ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => (Number(m[1]) * 60 + Number(m[2])) * 1000);
  return { s, cpuMs: ms.length === 2 ? ms[0] + ms[1] : NaN };
}

/** One nfs-cp against `target`: seconds, nfs-cp's CPU ms and the server's (once it has gone quiet again). */
async function timedCp(target: Target, src: string, dst: string): Promise<{ s: number; cpuMs: number; serverCpuMs: number }> {
  const c0 = processCpuMs(target.pid);
  const r = cp(src, dst);
  await processSettled(target.pid);
  return { ...r, serverCpuMs: processCpuMs(target.pid) - c0 };
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
  type Run = Awaited<ReturnType<typeof timedCp>>;
  const runs: Record<string, { write: Run[]; read: Run[] }> = { ours: { write: [], read: [] }, plain: { write: [], read: [] }, ganesha: { write: [], read: [] } };
  try {
    for (let i = 0; i < RUNS; i++) {
      for (const [name, target] of [['ours', ours], ['ganesha', ganesha], ['plain', plain]] as const) {
        if (!target) continue;
        const file = `copy-${i}.bin`;
        runs[name].write.push(await timedCp(target, src, target.url(file)));
        runs[name].read.push(await timedCp(target, target.url(file), back));
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
  const times = (name: string, op: 'write' | 'read') => runs[name][op].map((r) => r.s);
  const rate = (xs: number[]) => SIZE_MIB / median(xs);
  const note = (xs: number[], target: string) => `runs=${xs.length}, ${SIZE_MIB} MiB, tmpfs exports, min..max ${(SIZE_MIB / Math.max(...xs)).toFixed(0)}..${(SIZE_MIB / Math.min(...xs)).toFixed(0)} MiB/s, target ${target}`;
  const out = [
    measurement('server', `nfs-cp write ${SIZE_MIB} MiB (journal on)`, rate(times('ours', 'write')), 'MiB/s', 'nfs-ganesha 4.3', ganesha ? rate(times('ganesha', 'write')) : NaN, true, note(times('ours', 'write'), '>= 1.5x')),
    measurement('server', `nfs-cp read ${SIZE_MIB} MiB (journal on)`, rate(times('ours', 'read')), 'MiB/s', 'nfs-ganesha 4.3', ganesha ? rate(times('ganesha', 'read')) : NaN, true, note(times('ours', 'read'), '>= 1.0x')),
    measurement('server', `nfs-cp write ${SIZE_MIB} MiB: journal on vs off`, rate(times('ours', 'write')), 'MiB/s', 'our server without journal', rate(times('plain', 'write')), true, note(times('plain', 'write'), 'close to 1.0x')),
  ];
  if (!ganesha) return out;
  // CPU per MiB (medians), and the cores a target needs at that CPU per MiB: (nfs-cp + server) x the target rate.
  const perMiB = (name: string, op: 'write' | 'read', k: 'cpuMs' | 'serverCpuMs') => median(runs[name][op].map((r) => r[k])) / SIZE_MIB;
  const cores = os.cpus().length;
  for (const [op, factor] of [['write', 1.5], ['read', 1.0]] as const) {
    const client = perMiB('ours', op, 'cpuMs');
    const server = perMiB('ours', op, 'serverCpuMs');
    const gServer = perMiB('ganesha', op, 'serverCpuMs');
    const targetRate = factor * rate(times('ganesha', op));
    const f2 = (x: number) => x.toFixed(2);
    out.push(measurement('server', `server CPU per MiB, nfs-cp ${op} (journal on)`, server, 'ms/MiB', 'nfs-ganesha 4.3', gServer, false, `nfs-cp's own CPU: ${f2(client)} ms/MiB against ours, ${f2(perMiB('ganesha', op, 'cpuMs'))} against ganesha`));
    out.push(
      measurement('server', `cores the ${op} target needs at our CPU per MiB (${factor}x ganesha = ${Math.round(targetRate)} MiB/s)`, ((client + server) * targetRate) / 1000, 'cores', 'cores on this machine', cores, false,
        `(nfs-cp ${f2(client)} + our server ${f2(server)} ms/MiB) x ${Math.round(targetRate)} MiB/s, with perfect overlap; ratio < 1: the target needs more CPU than the machine has. ganesha itself would need ${f2(((perMiB('ganesha', op, 'cpuMs') + gServer) * targetRate) / 1000)}`),
    );
  }
  return out;
}
