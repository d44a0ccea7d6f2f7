// `inspect --json` against tshark extracting the WRITE fields, on one >= 200 MB capture of NFS WRITE traffic.
// The capture is synthesized by the tests' independent pcap builder: real RPC record marking (1 MiB WRITEs,
// one fragment each, as Linux sends them), Ethernet frames with a 1448-byte MSS, 8 interleaved connections, replies and ACKs.
// Wall time (medians of ROUNDS paired rounds of inspect then tshark; RUNS for the annotate and lossy rows) and peak RSS
// via /usr/bin/time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { median } from '../core/stats';
import { Measurement, measurement, pairedRow } from './measure';
import { TcpConv, writeCall, writeReply, record, counter } from '../testing/captures-builder';
import { which } from '../lab/peers/tools';
import { makeLossy } from '../testing/captures-lossy';

const range = (xs: number[], digits = 2) => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;

const TARGET_BYTES = 210 * 1024 * 1024;
const CONNECTIONS = 8;
const WRITE_SIZE = 1024 * 1024;
const MSS = 1448;
const RUNS = 3;
/** paired rounds of inspect and tshark on the big capture: 4 of tshark's runs against their previous one (the band) */
const ROUNDS = 5;

/** Writes the capture; returns the number of WRITE calls in it. */
export function generate(file: string): number {
  const fd = fs.openSync(file, 'w');
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0);
  hdr.writeUInt16LE(2, 4);
  hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(262144, 16);
  hdr.writeUInt32LE(1, 20);
  fs.writeSync(fd, hdr);
  let written = 24;
  let t = 1_700_000_000_000_000; // µs
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  const emit = (frame: Buffer) => {
    const r = Buffer.alloc(16);
    t += 7;
    r.writeUInt32LE(Math.floor(t / 1e6), 0);
    r.writeUInt32LE(t % 1e6, 4);
    r.writeUInt32LE(frame.length, 8);
    r.writeUInt32LE(frame.length, 12);
    pending.push(r, frame);
    pendingBytes += 16 + frame.length;
    written += 16 + frame.length;
    if (pendingBytes > 8 << 20) {
      fs.writeSync(fd, Buffer.concat(pending));
      pending.length = 0;
      pendingBytes = 0;
    }
  };
  const convs = Array.from({ length: CONNECTIONS }, (_, i) => new TcpConv({ cport: 900 + i, cisn: 1000 + i * 7919 }));
  for (const c of convs) c.handshake().forEach(emit);
  const payloads = Array.from({ length: 4 }, (_, i) => counter(WRITE_SIZE, i * 0x100000));
  let calls = 0;
  let xid = 0x40000000;
  while (written < TARGET_BYTES) {
    // One WRITE per connection, their segments interleaved as a busy client would send them.
    const streams = convs.map((c, i) => {
      const id = xid++;
      const rec = record(writeCall(id, BigInt(calls + i) * BigInt(WRITE_SIZE), payloads[(calls + i) % payloads.length]));
      const start = c.cseq;
      return { c, id, start, len: rec.length, segs: c.clientSegments(rec, MSS) };
    });
    calls += convs.length;
    for (let k = 0; streams.some((s) => k < s.segs.length); k++) {
      for (const s of streams) {
        if (k < s.segs.length) emit(s.segs[k]);
        // The server acknowledges every 16th segment, up to what it has received so far.
        if (k % 16 === 15 && k < s.segs.length) emit(s.c.serverAck((s.start + Math.min((k + 1) * MSS, s.len)) >>> 0));
      }
    }
    for (const s of streams) emit(s.c.fromServer(record(writeReply(s.id, WRITE_SIZE))));
  }
  if (pending.length) fs.writeSync(fd, Buffer.concat(pending));
  fs.closeSync(fd);
  return calls;
}

interface Timed {
  seconds: number;
  /** user + system CPU seconds */
  cpu: number;
  maxRssKiB: number;
  stdoutBytes: number;
  status: number | null;
}

/** Runs a command under /usr/bin/time (wall seconds and peak RSS of the child), stdout into a temp file. */
function timeRun(cmd: string, args: string[], outFile: string): Timed {
  const timeOut = `${outFile}.time`;
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', '-o', timeOut, cmd, ...args], { stdio: ['ignore', fs.openSync(outFile, 'w'), 'pipe'] });
  const [e, m, u, s] = fs.readFileSync(timeOut, 'utf8').trim().split('\n').pop()!.split(' ');
  return { seconds: Number(e), cpu: Number(u) + Number(s), maxRssKiB: Number(m), stdoutBytes: fs.statSync(outFile).size, status: r.status };
}

export async function run(): Promise<Measurement[]> {
  if (!which('tshark') || !fs.existsSync('/usr/bin/time')) {
    console.error('bench inspect: needs tshark and /usr/bin/time (Debian: tshark, time); skipped');
    return [];
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-bench-inspect-'));
  try {
    const file = path.join(dir, 'writes.pcap');
    console.error('# generating capture ...');
    const calls = generate(file);
    const size = fs.statSync(file).size;
    console.error(`# ${(size / 1048576).toFixed(0)} MiB, ${calls} WRITE calls of ${WRITE_SIZE} bytes on ${CONNECTIONS} connections`);
    const main = path.join(__dirname, '..', 'cli', 'main.js');
    const out = path.join(dir, 'out');
    const ours: Timed[] = [];
    const theirs: Timed[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const o = timeRun(process.execPath, [main, 'inspect', file, '--json'], out);
      const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as { writeCalls: number };
      if (o.status !== 0 || doc.writeCalls !== calls) throw new Error(`inspect: status ${o.status}, ${doc.writeCalls} WRITE calls (expected ${calls})`);
      ours.push(o);
      console.error(`# inspect run ${i + 1}: ${o.seconds}s wall, ${o.cpu.toFixed(2)}s CPU, ${Math.round(o.maxRssKiB / 1024)} MiB`);
      const t = timeRun('tshark', ['-r', file, '-T', 'fields', '-e', 'rpc.xid', '-e', 'nfs.offset3', '-e', 'nfs.count3', '-e', 'nfs.data'], out);
      if (t.status !== 0) throw new Error(`tshark exited ${t.status}`);
      theirs.push(t);
      console.error(`# tshark run ${i + 1}: ${t.seconds}s wall, ${t.cpu.toFixed(2)}s CPU, ${Math.round(t.maxRssKiB / 1024)} MiB`);
    }
    const s = median(ours.map((x) => x.seconds));
    const ts = median(theirs.map((x) => x.seconds));
    const cpu = median(ours.map((x) => x.cpu));
    const tcpu = median(theirs.map((x) => x.cpu));
    const rss = Math.max(...ours.map((x) => x.maxRssKiB)) / 1024;
    const trss = Math.max(...theirs.map((x) => x.maxRssKiB)) / 1024;
    const mb = size / 1e6;
    // --annotate: the same run plus the pcapng copy; its cost per MB is the difference of CPU seconds.
    const ann: Timed[] = [];
    for (let i = 0; i < RUNS; i++) {
      ann.push(timeRun(process.execPath, [main, 'inspect', file, '--json', '--annotate', path.join(dir, 'annotated.pcapng')], out));
      fs.rmSync(path.join(dir, 'annotated.pcapng'), { force: true });
    }
    const annCpu = median(ann.map((x) => x.cpu));
    // The lossy capture: two thirds of the call segments dropped (testing/captures-lossy.ts), as a busy host loses them.
    console.error('# making the lossy capture ...');
    const lossy = path.join(dir, 'lossy.pcap');
    const made = makeLossy(fs.readFileSync(file), { serverPorts: [2049], dropCalls: 2 / 3, dropReplies: 0, seed: 19 });
    fs.writeFileSync(lossy, made.pcap);
    const lossyMb = made.pcap.length / 1e6;
    const lo: Timed[] = [];
    const lt: Timed[] = [];
    let found = 0;
    for (let i = 0; i < RUNS; i++) {
      const o = timeRun(process.execPath, [main, 'inspect', lossy, '--json'], out);
      const doc = JSON.parse(fs.readFileSync(out, 'utf8')) as { writeCalls: number; rpcReplies: number };
      if (o.status !== 0 || doc.writeCalls !== made.truth.calls.length) throw new Error(`inspect on the lossy capture: status ${o.status}, ${doc.writeCalls} WRITE calls (expected ${made.truth.calls.length})`);
      lo.push(o);
      const t = timeRun('tshark', ['-r', lossy, '-T', 'fields', '-e', 'rpc.xid', '-e', 'nfs.offset3', '-e', 'nfs.count3', '-e', 'nfs.data'], out);
      found = fs.readFileSync(out, 'utf8').split('\n').filter((l) => /\t\d+\t\d+/.test(l)).length;
      lt.push(t);
    }
    const ls = median(lo.map((x) => x.seconds));
    return [
      // Each round runs inspect then tshark: the ratio is tshark's wall / ours within a round (higher is better), and
      // tshark's run against its previous one is the band that ratio moves in by noise alone.
      pairedRow({
        bench: 'inspect',
        case: `inspect --json, ${Math.round(mb)} MB pcap (wall s, median of ${ROUNDS})`,
        unit: 's',
        yardstick: 'tshark -T fields rpc.xid,nfs.offset3,nfs.count3,nfs.data',
        ours: s,
        yardstickValue: ts,
        ratios: ours.map((o, i) => theirs[i].seconds / o.seconds),
        self: theirs.slice(1).map((t, i) => t.seconds / theirs[i].seconds),
        cost: false,
        target: '>= 15x',
        note: `${Math.round(mb / s)} MB/s; inspect runs ${range(ours.map((x) => x.seconds))} s, tshark runs ${range(theirs.map((x) => x.seconds))} s`,
      }),
      measurement('inspect', `CPU seconds (user+sys, median of ${ROUNDS})`, cpu, 's', 'tshark CPU seconds', tcpu, false, 'insensitive to other load on the machine'),
      { ...measurement('inspect', 'peak RSS (max of runs)', rss, 'MiB', 'tshark peak RSS', trss, false), target: '< 256 MiB' },
      measurement('inspect', `lossy ${Math.round(lossyMb)} MB pcap (2/3 of call segments dropped), wall s`, ls, 's', 'tshark on the same file', median(lt.map((x) => x.seconds)), false,
        `peak RSS ${Math.round(Math.max(...lo.map((x) => x.maxRssKiB)) / 1024)} MiB; inspect finds all ${made.truth.calls.length} WRITE calls (${[...made.truth.missing.values()].filter((n) => n > 0).length} damaged), tshark decodes ${found}`),
      measurement('inspect', '--annotate cost, CPU per MB (annotated minus plain run)', ((annCpu - cpu) * 1000) / mb, 'ms/MB', 'plain inspect CPU per MB', (cpu * 1000) / mb, false,
        `a third and fourth read of the capture plus the pcapng write; ${range(ann.map((x) => x.cpu), 2)} s CPU per annotated run`),
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
