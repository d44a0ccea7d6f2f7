// netem benchmarks: bulk throughput through the proxy vs direct loopback TCP (target >= 0.9x) and the round-trip
// time added to small RPCs (target p50 <= 100 µs), with capture off and on. The proxy runs in a worker thread, as
// it runs in its own process in real use; sender, receiver and echo server share the main thread in both cases.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createProxy } from '../netem';
import { median, measurement, type Measurement } from './measure';

const BULK = 512 * 1024 * 1024;
const RUNS = 3;
const PINGS = 3000;

if (!isMainThread && (workerData as { netemBench?: boolean })?.netemBench) {
  const wd = workerData as { upstreamPort: number; capture?: string; plain?: boolean };
  if (wd.plain) {
    // Second yardstick: the simplest Node relay (socket.pipe both ways), same thread layout as the proxy.
    const relay = net.createServer((c) => {
      const u = net.connect({ port: wd.upstreamPort, host: '127.0.0.1', noDelay: true });
      c.setNoDelay(true);
      c.pipe(u).pipe(c);
      c.on('error', () => u.destroy());
      u.on('error', () => c.destroy());
    });
    relay.listen(0, '127.0.0.1', () => parentPort!.postMessage({ port: (relay.address() as net.AddressInfo).port }));
    parentPort!.once('message', () => relay.close(() => parentPort!.postMessage({ closed: true })));
  } else void createProxy({ upstream: { host: '127.0.0.1', port: wd.upstreamPort }, capture: wd.capture }).then((p) => {
    parentPort!.postMessage({ port: p.address.port });
    parentPort!.once('message', () => void p.close().then(() => parentPort!.postMessage({ closed: true })));
  });
}

async function proxyInWorker(upstreamPort: number, capture?: string, plain = false): Promise<{ port: number; close(): Promise<void> }> {
  const w = new Worker(__filename, { workerData: { netemBench: true, upstreamPort, capture, plain } });
  const { port } = await new Promise<{ port: number }>((res, rej) => {
    w.once('message', res);
    w.once('error', rej);
  });
  return {
    port,
    close: async () => {
      const closed = new Promise((res) => w.once('message', res));
      w.postMessage('close');
      await closed;
      await w.terminate();
    },
  };
}

function listen(onConn: (s: net.Socket) => void): Promise<net.Server> {
  const s = net.createServer(onConn);
  return new Promise((res) => s.listen(0, '127.0.0.1', () => res(s)));
}

/** MB/s of BULK bytes from a client to a sink server at `port` (the sink counts). */
async function bulk(port: number, sinkDone: () => Promise<void>): Promise<number> {
  const block = Buffer.alloc(1 << 20, 0x5a);
  const t0 = performance.now();
  const c = net.connect(port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  let sent = 0;
  await new Promise<void>((res) => {
    const pump = () => {
      while (sent < BULK) {
        sent += block.length;
        if (!c.write(block)) return void c.once('drain', pump);
      }
      c.end();
      res();
    };
    pump();
  });
  await sinkDone();
  const s = (performance.now() - t0) / 1000;
  c.destroy();
  return BULK / 1e6 / s;
}

/** p50 round trip in µs of 128-byte request / 128-byte reply over one connection to `port`. */
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

export async function run(): Promise<Measurement[]> {
  const out: Measurement[] = [];
  // sink: counts bytes per connection, resolves when BULK arrived
  let waiting: (() => void) | undefined;
  let count = 0;
  const sink = await listen((s) => {
    count = 0;
    s.on('data', (d: Buffer) => {
      count += d.length;
      if (count >= BULK && waiting) waiting();
    });
  });
  const sinkDone = () => new Promise<void>((res) => (count >= BULK ? res() : (waiting = res)));
  const echo = await listen((s) => {
    s.setNoDelay(true);
    s.pipe(s);
  });
  const sinkPort = (sink.address() as net.AddressInfo).port;
  const echoPort = (echo.address() as net.AddressInfo).port;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-bench-'));
  try {
    const direct: number[] = [];
    const directRtt: number[] = [];
    for (let i = 0; i < RUNS; i++) direct.push(await bulk(sinkPort, sinkDone));
    for (let i = 0; i < RUNS; i++) directRtt.push(await rtt(echoPort));
    const plain: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const p = await proxyInWorker(sinkPort, undefined, true);
      plain.push(await bulk(p.port, sinkDone));
      await p.close();
    }
    out.push(measurement('netem', 'throughput, plain socket.pipe relay', median(plain), 'MB/s', 'direct loopback TCP', median(direct), true, 'what any Node relay reaches on this machine'));
    for (const capture of [false, true]) {
      const label = capture ? 'capture on' : 'capture off';
      console.error(`# netem: ${label}`);
      const tput: number[] = [];
      const lat: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const p = await proxyInWorker(sinkPort, capture ? path.join(dir, `bulk-${i}.pcap`) : undefined);
        tput.push(await bulk(p.port, sinkDone));
        await p.close();
        fs.rmSync(path.join(dir, `bulk-${i}.pcap`), { force: true });
        fs.rmSync(path.join(dir, `bulk-${i}.events.jsonl`), { force: true });
        const q = await proxyInWorker(echoPort, capture ? path.join(dir, `rtt-${i}.pcap`) : undefined);
        lat.push(await rtt(q.port));
        await q.close();
      }
      const d = median(direct);
      const dr = median(directRtt);
      out.push(measurement('netem', `throughput, ${label}`, median(tput), 'MB/s', 'direct loopback TCP', d, true, `target >= 0.9x; ${BULK >> 20} MiB x ${RUNS}`));
      out.push(measurement('netem', `throughput, ${label}`, median(tput), 'MB/s', 'plain socket.pipe relay', median(plain), true));
      const added = median(lat) - dr;
      out.push(measurement('netem', `small RPC round trip p50, ${label}`, median(lat), 'µs', 'direct loopback TCP', dr, false, `added ${added.toFixed(1)} µs (target <= 100); ${PINGS} x ${RUNS}`));
    }
  } finally {
    sink.close();
    echo.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
