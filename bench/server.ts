// Server cost (issue 20): libnfs nfs-cp of a 256 MiB random file into and out of our server (journal on, run as
// the CLI in its own process) and nfs-ganesha 4.3 (the yardstick), judged on the server's CPU per MiB from
// schedstat (every thread: event loop, thread pool, the journal's hasher), over runs of 1 GiB (4 copies of the
// file), after an untimed warm-up (WARM_COPIES connections each way, then one full run). Each round runs ganesha,
// our server with and without the journal and the two READ floors
// (bench/read-floor.ts: a minimal C and a minimal Node reader, what each language costs before any NFS), then
// ganesha again: ratios are per round, and ganesha's second run against its first is the noise band printed
// beside them. MiB/s ratios are information (one 1 MiB call outstanding makes them latency-bound), printed with
// the same band.
// Exports, the source file and the read-back copies live on tmpfs (/dev/shm) so the disk does not decide; our
// journal file is on the OS temp dir.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ganeshaMissing, startGanesha } from '../lab/peers/ganesha';
import { missingTools } from '../lab/peers/tools';
import { startReady, type ReadyChild } from './child';
import { buildFloorProgram, floorCopy, startFloorServer } from './read-floor';
import { median } from '../core/stats';
import { CpuMeter, pairedRounds, pairedRow, processSettled, type Measurement, type Sample } from './measure';

const MiB = 1024 * 1024;
const SIZE_MIB = Number(process.env.BENCH_SERVER_MIB ?? 256);
/** copies of the file per measured run: runs of at least 1 GiB */
const COPIES = Math.max(1, Math.ceil(1024 / SIZE_MIB));
/** per-round ratios spread 0.98-1.57 in one quiet run of 5 rounds: 7 steady the median, as in bench/netem.ts */
const ROUNDS = Math.max(3, Number(process.env.BENCH_SERVER_ROUNDS ?? 7));
/**
 * Untimed warm-up copies of a 64 MiB file, written and read back, per server before its full-size warm-up run.
 * nfs-cp opens a connection per copy, and V8 optimizes the per-connection code (socket set-up, MOUNT, LOOKUP,
 * the stream machinery) only after dozens of connections: with one warm-up run, TurboFan was still compiling
 * 1-2 functions per measured copy (`--trace-opt`: 163 optimizations by 8 read copies, then +16, +15, +12, +8 per 8
 * copies, +2 to +5 after 64), 4% of our server's samples in its WRITE rounds on compiler threads (`perf`). A
 * server that has been up a while has paid that once; ganesha, compiled ahead of time, never pays it. So each
 * server, ganesha too, sees this many connections each way first, as the client bench sends 4 GiB before its rounds.
 */
const WARM_COPIES = Math.max(0, Number(process.env.BENCH_SERVER_WARM ?? 48));
const WARM_MIB = 64;
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
  return { dir: exportDir, pid: proc.pid!, url: (name) => `${prefix}/${name}?${query}`, stop };
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

/**
 * One measured run against `target`: COPIES copies written, then read back. The server's CPU is counted until it
 * has gone quiet after the last copy (work it finishes behind the replies, write-behind and hashing, counts).
 */
async function writeThenRead(target: Target, src: string, back: string, tag: string): Promise<Sample> {
  const bytes = COPIES * SIZE_MIB * MiB;
  const names = Array.from({ length: COPIES }, (_, i) => `copy-${tag}-${i}.bin`);
  const out: Sample = {};
  for (const op of ['write', 'read'] as const) {
    const meter = new CpuMeter({ server: target.pid }).start();
    let s = 0;
    let cpMs = 0;
    for (const n of names) {
      const r = op === 'write' ? cp(src, target.url(n)) : cp(target.url(n), back);
      s += r.s;
      cpMs += r.cpuMs;
      if (op === 'read') fs.rmSync(back);
    }
    await processSettled(target.pid);
    const cpu = meter.perMiB(bytes);
    out[`${op}Cpu`] = cpu.server;
    out[`${op}CpuMain`] = cpu['server/main'];
    out[`${op}CpuExited`] = cpu["server/exited"];
    out[`${op}MiBs`] = bytes / MiB / s;
    out[`${op}CpCpu`] = cpMs / (bytes / MiB);
  }
  for (const n of names) dropCopy(target, n);
  return out;
}

/**
 * Removes a copy from `target`'s export, truncated before unlinked: a server may keep a descriptor of a copy open
 * after it is removed (ganesha's fd LRU kept 18 removed 256 MiB copies open for 40 minutes here: 4.5 GiB of
 * /dev/shm), and whoever drops the last reference frees the pages. Truncating frees them here, in the bench
 * process, for every target alike.
 */
function dropCopy(target: Target, name: string): void {
  fs.truncateSync(path.join(target.dir, name), 0);
  fs.rmSync(path.join(target.dir, name));
}

export async function run(): Promise<Measurement[]> {
  const missing = missingTools(['nfs-cp', 'libnfs-utils'], ['gcc', 'gcc']);
  if (missing) throw new Error(`bench server ${missing}`);
  const why = ganeshaMissing();
  if (why) throw new Error(`bench server: no yardstick: ${why}`);
  const tmpfs = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const work = fs.mkdtempSync(path.join(tmpfs, 'nfst-bench-server-'));
  const journalDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-bench-journal-'));
  const src = path.join(work, 'src.bin');
  const fd = fs.openSync(src, 'w');
  for (let i = 0; i < SIZE_MIB; i++) fs.writeSync(fd, crypto.randomBytes(MiB));
  fs.closeSync(fd);
  const back = path.join(work, 'back.bin');
  const dir = (d: string) => (fs.mkdirSync(path.join(work, d)), path.join(work, d));
  const targets: Target[] = [];
  const floors: ReadyChild[] = [];
  let rounds;
  let warmS = 0;
  try {
    const ours = await startOurs(dir('ours'), path.join(journalDir, 'journal.db'));
    targets.push(ours);
    const plain = await startOurs(dir('plain'));
    targets.push(plain);
    const g = await startGanesha({ exportDir: dir('ganesha') });
    const ganesha: Target = { dir: g.exportDir, pid: g.pid, url: (n) => g.url(n), stop: () => g.stop() };
    targets.push(ganesha);
    // The READ floor (bench/read-floor.ts): a minimal C and a minimal Node reader of the same source file, in the
    // same rounds, so what Node costs before any NFS is measured under the same conditions as the READ row.
    const floorClient = buildFloorProgram('client', work);
    const cFloor = await startFloorServer(src, buildFloorProgram('server', work));
    floors.push(cFloor);
    const nodeFloor = await startFloorServer(src);
    floors.push(nodeFloor);
    const floorOnce = (s: ReadyChild) => async (): Promise<Sample> => {
      const meter = new CpuMeter({ server: s.proc.pid! }).start();
      floorCopy(floorClient, Number(s.line.split(' ')[1]), SIZE_MIB * MiB, MiB, COPIES, back);
      await processSettled(s.proc.pid!);
      return { readCpu: meter.perMiB(COPIES * SIZE_MIB * MiB).server };
    };
    // Warm-up, untimed: WARM_COPIES connections each way, then a full run before the first measured one.
    const warmSrc = path.join(work, 'warm.bin');
    fs.copyFileSync(src, warmSrc);
    fs.truncateSync(warmSrc, Math.min(WARM_MIB, SIZE_MIB) * MiB);
    const warmStart = performance.now();
    for (const t of targets) {
      for (let k = 0; k < WARM_COPIES; k++) {
        const name = `warm-${k}.bin`;
        cp(warmSrc, t.url(name));
        cp(t.url(name), back);
        fs.rmSync(back);
        dropCopy(t, name);
      }
      await writeThenRead(t, src, back, 'warm');
    }
    warmS = (performance.now() - warmStart) / 1000;
    for (const s of floors) await floorOnce(s)();
    let n = 0;
    const once = (t: Target) => () => writeThenRead(t, src, back, String(n++));
    rounds = await pairedRounds({
      rounds: ROUNDS,
      yardsticks: { ganesha: once(ganesha) },
      cases: { ours: once(ours), plain: once(plain), cFloor: floorOnce(cFloor), nodeFloor: floorOnce(nodeFloor) },
      progress: (i) => console.error(`# bench server: round ${i + 1}/${ROUNDS} (ganesha; ours, ours without journal, the C and the Node READ floor in rotation; ganesha; ${COPIES} x ${SIZE_MIB} MiB each way)`),
    });
  } finally {
    for (const t of targets) await t.stop();
    for (const s of floors) await s.stop();
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(journalDir, { recursive: true, force: true });
  }
  const r = rounds;
  const f2 = (x: number) => x.toFixed(2);
  const runs = `${ROUNDS} rounds of ${COPIES} x ${SIZE_MIB} MiB after ${WARM_COPIES} untimed ${WARM_MIB} MiB copies each way and one full run per server (${warmS.toFixed(0)} s)`;
  const out: Measurement[] = [];
  for (const op of ['write', 'read'] as const) {
    const OP = op.toUpperCase();
    out.push(
      pairedRow({
        bench: 'server',
        case: `server CPU per MiB, nfs-cp ${OP} ${SIZE_MIB} MiB, journal on`,
        unit: 'ms/MiB',
        yardstick: 'nfs-ganesha 4.3, same rounds',
        ours: r.median('ours', `${op}Cpu`),
        yardstickValue: r.median('ganesha', `${op}Cpu`),
        ratios: r.ratios('ours', 'ganesha', `${op}Cpu`),
        self: r.self('ganesha', `${op}Cpu`),
        cost: true,
        target: '<= 1.0',
        note: `${runs}; every thread (schedstat), event loop alone ${f2(r.median('ours', `${op}CpuMain`))}; without the journal ${f2(r.median('plain', `${op}Cpu`))}; nfs-cp's own CPU ${f2(r.median('ours', `${op}CpCpu`))} against ours, ${f2(r.median('ganesha', `${op}CpCpu`))} against ganesha`,
      }),
    );
  }
  // The READ floor, same rounds: Node's own cost before any NFS (minimal Node reader / minimal C reader), and the
  // READ row with it divided out (ours / ganesha over Node reader / C reader, per round). What each real server
  // costs above its language's floor (ours above the Node reader, ganesha above the C reader) goes in the note:
  // the floors' client is not nfs-cp (it speaks no NFS), so those differences are indicative, not exact.
  const floorRatio = r.cases.nodeFloor.map((s, i) => s.readCpu / r.cases.cFloor[i].readCpu);
  const readRatio = r.ratios('ours', 'ganesha', 'readCpu');
  const gMean = (i: number) => (r.first.ganesha[i].readCpu + r.again.ganesha[i].readCpu) / 2;
  const oursAbove = r.cases.ours.map((s, i) => s.readCpu - r.cases.nodeFloor[i].readCpu);
  const ganeshaAbove = r.cases.cFloor.map((s, i) => gMean(i) - s.readCpu);
  out.push(
    pairedRow({
      bench: 'server',
      case: `READ floor: server CPU per MiB, minimal Node reader / minimal C reader, ${SIZE_MIB} MiB copies`,
      unit: 'ms/MiB',
      yardstick: 'minimal C reader, same rounds',
      ours: r.median('nodeFloor', 'readCpu'),
      yardstickValue: r.median('cFloor', 'readCpu'),
      ratios: floorRatio,
      self: r.self('ganesha', 'readCpu'),
      cost: true,
      note: `information, no target: what a Node server pays on READ before any NFS (bench/read-floor.ts); ${runs}; noise band: ganesha's`,
    }),
    pairedRow({
      bench: 'server',
      case: `server CPU per MiB, nfs-cp READ / ganesha's, over the READ floor's Node / C`,
      unit: 'x',
      yardstick: 'READ floor, Node reader / C reader, same rounds',
      ours: median(readRatio),
      yardstickValue: median(floorRatio),
      ratios: readRatio.map((x, i) => x / floorRatio[i]),
      self: r.self('ganesha', 'readCpu'),
      cost: true,
      note: `information, no target: the READ row with what Node itself costs divided out, per round (below 1: our RPC and NFS layers cost less than ganesha's, relative to each language's floor); above the floor, per round, ours ${oursAbove.map(f2).join('/')} ms/MiB, ganesha ${ganeshaAbove.map(f2).join('/')} (the floors' client is not nfs-cp, so indicative)`,
    }),
  );
  out.push(
    pairedRow({
      bench: 'server',
      case: `server CPU per MiB, nfs-cp WRITE ${SIZE_MIB} MiB, journal on / off`,
      unit: 'ms/MiB',
      yardstick: 'our server without journal, same rounds',
      ours: r.median('ours', 'writeCpu'),
      yardstickValue: r.median('plain', 'writeCpu'),
      ratios: r.cases.ours.map((s, i) => s.writeCpu / r.cases.plain[i].writeCpu),
      self: r.self('ganesha', 'writeCpu'),
      cost: true,
      note: `what the journal costs; noise band: ganesha's, as both ours run once a round`,
    }),
  );
  for (const op of ['write', 'read'] as const) {
    out.push(
      pairedRow({
        bench: 'server',
        case: `throughput, nfs-cp ${op.toUpperCase()} ${SIZE_MIB} MiB, journal on`,
        unit: 'MiB/s',
        yardstick: 'nfs-ganesha 4.3, same rounds',
        ours: r.median('ours', `${op}MiBs`),
        yardstickValue: r.median('ganesha', `${op}MiBs`),
        ratios: r.ratios('ours', 'ganesha', `${op}MiBs`),
        self: r.self('ganesha', `${op}MiBs`),
        cost: false,
        note: `information, no target: nfs-cp keeps one 1 MiB call outstanding, so this is latency-bound; ${runs}`,
      }),
    );
  }
  return out;
}
