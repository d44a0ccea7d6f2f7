// netem benchmarks: bulk throughput through the proxy vs direct loopback TCP (target >= 0.9x) and the round-trip
// time added to small RPCs (target p50 <= 100 µs), with capture off and on. The proxy runs in a worker thread, as
// it runs in its own process in real use; sender, receiver and echo server share the main thread in both cases.
//
// Fairness: the machine may be busy with other work, so every round measures direct TCP and each relay back to
// back (in a rotating order) and the ratio reported is the median of the per-round ratios; every relay and the
// direct path get an untimed warm-up transfer first. The bulk stream is record-marked NFS WRITE-like calls
// (1 MiB records), so the proxy's RPC awareness is on the measured path.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { startTimerLag } from '../core/timer-lag';
import { createProxy, type CaptureIo } from '../netem';
import { DIRECT_SLABS } from '../netem/capture/direct-file';
import { LAST_FRAGMENT } from '../xdr/record';
import { MSG_TYPE, RPC_VERSION } from '../xdr/rpc';
import { NFS_PROGRAM, NFSPROC3 } from '../xdr/nfs3/constants';
import { median } from '../core/stats';
import { measurement, pairedRow, selfCpuMs, tasksCpuNs, type Measurement } from './measure';

/** bytes per measured run: runs of at least 1 GiB (issue 20's yardsticks) */
const BULK = 1024 * 1024 * 1024;
const WARM = 64 * 1024 * 1024;
const ROUNDS = Math.max(2, Number(process.env.BENCH_NETEM_ROUNDS ?? 7));
const PINGS = 1000;

/** ns this thread has run on a CPU (Linux /proc/thread-self/schedstat), or NaN elsewhere. */
function threadCpuNs(): number {
  try {
    return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}

if (!isMainThread && (workerData as { netemBench?: boolean })?.netemBench) {
  const wd = workerData as { upstreamPort: number; capture?: string; plain?: boolean; captureIo?: CaptureIo };
  // The relay's event-loop delay between two 'cpu' questions (a capture write holding the loop shows here).
  const lag = startTimerLag(1);
  const serve = (port: number, close: () => Promise<void>, io?: () => string | undefined, flush?: () => void) => {
    parentPort!.postMessage({ port });
    parentPort!.on('message', (m: string) => {
      if (m === 'cpu') {
        // The capture's writer thread finishes what it holds first, so its CPU for these bytes is in the count.
        flush?.();
        const l = lag.read();
        parentPort!.postMessage({ cpuNs: threadCpuNs(), lagP99Ms: l.p99, lagMaxMs: l.max, io: io?.() });
        lag.reset();
      } else void close().then(() => parentPort!.postMessage({ closed: true }));
    });
  };
  if (wd.plain) {
    // Second yardstick: the simplest Node relay (socket.pipe both ways), same thread layout as the proxy.
    const relay = net.createServer((c) => {
      const u = net.connect({ port: wd.upstreamPort, host: '127.0.0.1', noDelay: true });
      c.setNoDelay(true);
      c.pipe(u).pipe(c);
      c.on('error', () => u.destroy());
      u.on('error', () => c.destroy());
    });
    relay.listen(0, '127.0.0.1', () => serve((relay.address() as net.AddressInfo).port, () => new Promise((res) => relay.close(() => res()))));
  } else
    void createProxy({ upstream: { host: '127.0.0.1', port: wd.upstreamPort }, capture: wd.capture, captureIo: wd.captureIo }).then((p) =>
      serve(p.address.port, () => p.close(), () => p.captureIo && `${p.captureIo.io} (${p.captureIo.reason})`, () => p.flushCapture()),
    );
}

interface InWorker {
  port: number;
  /**
   * ns the relay's thread has been on a CPU (not the capture's O_DIRECT writer thread, whose slabs are written by
   * the time this answers), the relay's event-loop delay since the last question (p99 and max, ms), and what the
   * capture is written with now (auto switches to O_DIRECT past its first 64 MiB)
   */
  cpu(): Promise<{ cpuNs: number; lagP99Ms: number; lagMaxMs: number; io?: string }>;
  close(): Promise<void>;
}

async function proxyInWorker(upstreamPort: number, capture?: string, plain = false, captureIo?: CaptureIo): Promise<InWorker> {
  const w = new Worker(__filename, { workerData: { netemBench: true, upstreamPort, capture, plain, captureIo } });
  const { port } = await new Promise<{ port: number }>((res, rej) => {
    w.once('message', res);
    w.once('error', rej);
  });
  const ask = <T>(m: string) => new Promise<T>((res) => (w.once('message', res), w.postMessage(m)));
  return {
    port,
    cpu: () => ask('cpu'),
    close: async () => {
      await ask('close');
      await w.terminate();
    },
  };
}

function listen(onConn: (s: net.Socket) => void): Promise<net.Server> {
  const s = net.createServer(onConn);
  return new Promise((res) => s.listen(0, '127.0.0.1', () => res(s)));
}

/** A 1 MiB record: record mark, an NFSv3 WRITE call header (RFC 5531 §9), then payload bytes. */
function writeRecord(): Buffer {
  const block = Buffer.alloc(1 << 20, 0x5a);
  block.writeUInt32BE((LAST_FRAGMENT | (block.length - 4)) >>> 0, 0);
  [0x1234, MSG_TYPE.CALL, RPC_VERSION, NFS_PROGRAM, 3, NFSPROC3.WRITE].forEach((v, i) => block.writeUInt32BE(v, 4 + 4 * i));
  return block;
}

/** MB/s of `bytes` bytes from a client to a sink server at `port` (the sink counts). */
async function bulk(port: number, bytes: number, sinkDone: (bytes: number) => Promise<void>): Promise<number> {
  const block = writeRecord();
  const t0 = performance.now();
  const c = net.connect(port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  let sent = 0;
  await new Promise<void>((res) => {
    const pump = () => {
      while (sent < bytes) {
        sent += block.length;
        if (!c.write(block)) return void c.once('drain', pump);
      }
      c.end();
      res();
    };
    pump();
  });
  await sinkDone(bytes);
  const s = (performance.now() - t0) / 1000;
  c.destroy();
  return bytes / 1e6 / s;
}

/** p50 round trip in µs of 128-byte request / 128-byte reply over one connection to `port` (after 200 warm-up). */
async function rtt(port: number): Promise<number> {
  const c = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await new Promise((r) => c.once('connect', r));
  const msg = Buffer.alloc(128, 1);
  msg.writeUInt32BE((0x80000000 | 124) >>> 0, 0);
  const samples: number[] = [];
  for (let i = 0; i < PINGS + 200; i++) {
    const t0 = performance.now();
    c.write(msg);
    let got = 0;
    await new Promise<void>((res) => {
      const on = (d: Buffer) => {
        got += d.length;
        if (got >= msg.length) {
          c.off('data', on);
          res();
        }
      };
      c.on('data', on);
    });
    if (i >= 200) samples.push((performance.now() - t0) * 1000);
  }
  c.destroy();
  return median(samples);
}

const range = (xs: number[], digits = 0) => `${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)}`;

export async function run(): Promise<Measurement[]> {
  const out: Measurement[] = [];
  // sink: counts bytes per connection, resolves when the expected bytes arrived
  let waiting: (() => void) | undefined;
  let count = 0;
  let expect = 0;
  const sink = await listen((s) => {
    count = 0;
    s.on('data', (d: Buffer) => {
      count += d.length;
      if (count >= expect && waiting) waiting();
    });
  });
  const sinkDone = (bytes: number) => new Promise<void>((res) => ((expect = bytes), count >= bytes ? res() : (waiting = res)));
  const echo = await listen((s) => {
    s.setNoDelay(true);
    s.pipe(s);
  });
  const sinkPort = (sink.address() as net.AddressInfo).port;
  const echoPort = (echo.address() as net.AddressInfo).port;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-bench-'));
  // on: the capture as --capture-io auto, the default (CAPTURE_IO_DEFAULT), writes it: its first 64 MiB through the
  // page cache, in the warm-up (WARM, both legs), then O_DIRECT where the file system takes it; onBuffered: through
  // the page cache throughout (--capture-io buffered), in the same rounds.
  type Case = 'plain' | 'off' | 'on' | 'onBuffered';
  const cases: Case[] = ['plain', 'off', 'on', 'onBuffered'];
  const tput: Record<Case | 'direct', number[]> = { direct: [], plain: [], off: [], on: [], onBuffered: [] };
  const cpu: Record<Case, number[]> = { plain: [], off: [], on: [], onBuffered: [] }; // relay thread µs per MB
  const cpuAll: Record<Case | 'direct', number[]> = { direct: [], plain: [], off: [], on: [], onBuffered: [] }; // whole process µs per MB
  const cpuTasks: Record<Case, number[]> = { plain: [], off: [], on: [], onBuffered: [] }; // every thread's schedstat, µs per MB
  let onIo = '';
  const lagOf: Record<Case, { p99: number; max: number }[]> = { plain: [], off: [], on: [], onBuffered: [] }; // relay loop delay, ms
  const lat: Record<'direct' | 'off' | 'on', number[]> = { direct: [], off: [], on: [] };
  const added: Record<'off' | 'on', number[]> = { off: [], on: [] };
  const again = { plainCpu: [] as number[], plainTput: [] as number[], direct: [] as number[] };
  try {
    await bulk(sinkPort, WARM, sinkDone);
    // One relay run of BULK bytes: throughput, and CPU per MB of the relay thread, of every thread, of the process.
    const relayRun = async (c: Case, tag: string) => {
      const pcap = c === 'on' || c === 'onBuffered' ? path.join(dir, `bulk-${tag}.pcap`) : undefined;
      const p = await proxyInWorker(sinkPort, pcap, c === 'plain', c === 'onBuffered' ? 'buffered' : 'auto');
      await bulk(p.port, WARM, sinkDone);
      const c0 = (await p.cpu()).cpuNs;
      const all0 = selfCpuMs();
      const s0 = tasksCpuNs();
      const v = await bulk(p.port, BULK, sinkDone);
      const c1 = await p.cpu(); // the capture is written by now (the answer waits for its writer thread)
      if (c === 'on') onIo = c1.io ?? '';
      const relay = (c1.cpuNs - c0) / 1e3 / (BULK / 1e6);
      const tasks = (tasksCpuNs() - s0) / 1e3 / (BULK / 1e6); // every thread alive, the capture's writer included
      await p.close();
      const all = ((selfCpuMs() - all0) * 1000) / (BULK / 1e6); // µs per MB: main thread, the proxy's worker, the pool
      fs.rmSync(path.join(dir, `bulk-${tag}.pcap`), { force: true });
      fs.rmSync(path.join(dir, `bulk-${tag}.events.jsonl`), { force: true });
      return { v, relay, tasks, all, lagP99: c1.lagP99Ms, lagMax: c1.lagMaxMs };
    };
    const directRun = async () => {
      const d0 = selfCpuMs();
      const d = await bulk(sinkPort, BULK, sinkDone);
      return { d, all: ((selfCpuMs() - d0) * 1000) / (BULK / 1e6) };
    };
    for (let r = 0; r < ROUNDS; r++) {
      console.error(`# netem: round ${r + 1}/${ROUNDS} (direct, socket.pipe, capture off, capture on, capture on through the page cache, socket.pipe and direct again; ${BULK >> 20} MiB each)`);
      const { d, all: dAll } = await directRun();
      cpuAll.direct.push(dAll);
      tput.direct.push(d);
      for (let k = 0; k < cases.length; k++) {
        const c = cases[(k + r) % cases.length];
        const { v, relay, tasks, all, lagP99, lagMax } = await relayRun(c, String(r));
        lagOf[c].push({ p99: lagP99, max: lagMax });
        cpu[c].push(relay);
        cpuTasks[c].push(tasks);
        cpuAll[c].push(all);
        tput[c].push(v);
      }
      // The yardsticks again: their second run against their first is the noise band of this round's ratios.
      const p2 = await relayRun('plain', `${r}-again`);
      again.plainCpu.push(p2.relay);
      again.plainTput.push(p2.v);
      again.direct.push((await directRun()).d);
      const dr = await rtt(echoPort);
      lat.direct.push(dr);
      for (const c of ['off', 'on'] as const) {
        const q = await proxyInWorker(echoPort, c === 'on' ? path.join(dir, `rtt-${r}.pcap`) : undefined);
        const l = await rtt(q.port);
        await q.close();
        lat[c].push(l);
        added[c].push(l - dr);
      }
    }
    const rounds = `${BULK >> 20} MiB x ${ROUNDS} rounds; ratio = median of per-round ratios`;
    if (cpuTasks.on.every(Number.isFinite)) {
      // Issue 20: what capturing costs, CPU per MB of every thread (schedstat), on minus off in the same round.
      const extra = (c: Case) => cpuTasks[c].map((x, i) => x - cpuTasks.off[i]);
      const capIn = `pcaps in ${os.tmpdir()}`;
      out.push(
        // The target row is the default writer (CAPTURE_IO_DEFAULT, auto): what a user's bulk capture costs.
        measurement('netem', 'capture cost (--capture-io auto, the default; past its first 64 MiB): CPU per MB, capture on minus off (all threads, schedstat)', median(extra('on')) / 1000, 'ms/MB', 'target', 0.4, false,
          `written ${onIo}, its writer thread counted, ${capIn}; median of per-round differences, range ${range(extra('on').map((x) => x / 1000), 2)} ms/MB; every byte is written twice (both legs); capture off alone ${range(cpuTasks.off.map((x) => x / 1000), 2)} ms/MB across rounds (its noise band)`),
        measurement('netem', 'capture cost through the page cache throughout (--capture-io buffered), same rounds', median(extra('onBuffered')) / 1000, 'ms/MB', 'the default (auto, O_DIRECT past 64 MiB)', median(extra('on')) / 1000, false,
          `comparison: writev of headers + the relay's slabs on the relay thread, the kernel copying into the page cache; range ${range(extra('onBuffered').map((x) => x / 1000), 2)} ms/MB; a buffered file's later writeback by kworkers is in no thread of this process; throughput ${Math.round(median(tput.onBuffered))} MB/s against ${Math.round(median(tput.on))} MB/s with the default (its O_DIRECT writer's thread writes at the device's pace: once its ${DIRECT_SLABS} slabs are full the relay waits for it)`),
      );
      // Whether the O_DIRECT writer holds the relay's event loop longer than the page cache does (on a slow device it
      // did: CAPTURE_IO_DEFAULT): the relay's loop delay over each bulk run, medians of rounds.
      const lagMed = (c: Case, k: 'p99' | 'max') => median(lagOf[c].map((x) => x[k]));
      out.push(
        measurement('netem', 'relay event-loop delay p99 during bulk, capture on (--capture-io auto, the default)', lagMed('on', 'p99'), 'ms', 'through the page cache (--capture-io buffered)', lagMed('onBuffered', 'p99'), false,
          `written ${onIo}; timer lateness in the relay's thread (core/timer-lag.ts) over each ${BULK >> 20} MiB run; max ${lagMed('on', 'max').toFixed(1)} ms against ${lagMed('onBuffered', 'max').toFixed(1)} ms through the page cache, ${lagMed('off', 'max').toFixed(1)} ms with capture off (p99 ${lagMed('off', 'p99').toFixed(2)}); ratio > 1: the O_DIRECT writer holds the loop less`),
      );
    }
    if (cpu.on.every(Number.isFinite) && cpu.onBuffered.every(Number.isFinite)) {
      // The writer's cost on the relay thread (its schedstat holds none of the sender's or receiver's work, whose
      // wake-ups per MB change with the relay's pace): the page cache's writev and copy, or the O_DIRECT writer's
      // copy into its ring and hand-over (its device writes run on its own thread: in the all-threads row).
      const onThread = (c: Case) => cpu[c].map((x, i) => x - cpu.off[i]);
      out.push(
        measurement('netem', 'capture cost on the relay thread: CPU per MB, on minus off', median(onThread('on')) / 1000, 'ms/MB', 'the same through the page cache (--capture-io buffered)', median(onThread('onBuffered')) / 1000, false,
          `written ${onIo}; median of per-round differences, range ${range(onThread('on').map((x) => x / 1000), 2)} ms/MB against ${range(onThread('onBuffered').map((x) => x / 1000), 2)} through the page cache; ratio > 1: O_DIRECT costs the relay thread less`),
      );
    }
    const pair = (xs: number[], ys: number[], ys2: number[]) => xs.map((x, i) => x / ((ys[i] + ys2[i]) / 2));
    const selfOf = (ys: number[], ys2: number[]) => ys2.map((y, i) => y / ys[i]);
    const tputRow = (c: Case, label: string) =>
      pairedRow({
        bench: 'netem',
        case: `throughput, ${label}`,
        unit: 'MB/s',
        yardstick: 'direct loopback TCP, same rounds',
        ours: median(tput[c]),
        yardstickValue: median([...tput.direct, ...again.direct]),
        ratios: pair(tput[c], tput.direct, again.direct),
        self: selfOf(tput.direct, again.direct),
        cost: false,
        note: `information, no target (issue 20); ${rounds}`,
      });
    out.push(tputRow('plain', 'plain socket.pipe relay'));
    for (const c of ['off', 'on'] as const) {
      const label = c === 'on' ? 'capture on' : 'capture off';
      out.push(tputRow(c, label));
      if (c === 'on') out.push(tputRow('onBuffered', 'capture on through the page cache (--capture-io buffered)'));
      if (cpu[c].every(Number.isFinite)) {
        out.push(
          pairedRow({
            bench: 'netem',
            case: `relay thread CPU per MB, ${label}`,
            unit: 'µs/MB',
            yardstick: 'plain socket.pipe relay, same rounds',
            ours: median(cpu[c]),
            yardstickValue: median([...cpu.plain, ...again.plainCpu]),
            ratios: pair(cpu[c], cpu.plain, again.plainCpu),
            self: selfOf(cpu.plain, again.plainCpu),
            cost: true,
            ...(c === 'off' ? { target: '<= 0.6' } : {}),
            note: `the relay's own thread (schedstat); ${rounds}${c === 'on' ? `; includes the capture writer's work on this thread (written ${onIo}: the copy into its ring and hand-over, the device writes on its writer thread; through the page cache: the writev)` : ''}`,
          }),
        );
      }
      // Whether 0.9x fits in this machine at all: the whole path's CPU per MB times the target rate, in cores.
      const want = 0.9 * median(tput.direct);
      out.push(
        measurement('netem', `cores the 0.9x target needs, ${label} (${Math.round(want)} MB/s)`, (median(cpuAll[c]) * want) / 1e6, 'cores', 'cores on this machine', os.cpus().length, false,
          `sender, receiver, relay${c === 'on' ? ' and pcap writes' : ''}: ${Math.round(median(cpuAll[c]))} µs of CPU per MB (direct TCP: ${Math.round(median(cpuAll.direct))}) x ${Math.round(want)} MB/s, with perfect overlap; ratio < 1: the target needs more CPU than the machine has`),
      );
      out.push(
        measurement('netem', `small RPC round trip p50, ${label}`, median(lat[c]), 'µs', 'direct loopback TCP', median(lat.direct), false,
          `added ${median(added[c]).toFixed(1)} µs (median of rounds, range ${range(added[c], 1)}; target <= 100); ${PINGS} x ${ROUNDS}`),
      );
    }
  } finally {
    sink.close();
    echo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
