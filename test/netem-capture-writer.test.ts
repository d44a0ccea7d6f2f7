// The proxy's pcap writer (issue 20): headers and the relay's own bytes go out in one synchronous writev per call,
// no payload copy. Its bytes are identical to the copying writer it replaced, and a file that cannot keep up
// slows the relay down without losing a packet.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectFilesDetailed } from '../captures/inspect';
import { createNetemApiServer } from '../api/netem';
import { CaptureError } from '../core/errors';
import { Prng } from '../core/prng';
import { createProxy, NetemRegistry, type Proxy, type CaptureIo, type CaptureIoChoice } from '../netem';
import { DIRECT_BLOCK, DirectFile, type DirectFileOptions } from '../netem/capture/direct-file';
import { CAPTURE_FLUSH_MS, ConnectionCapture, PcapSink } from '../netem/capture/sink';
import { AUTO_DIRECT_AFTER, CAPTURE_IO_DEFAULT } from '../netem/capture/capture-io';
import { NFSPROC3 } from '../xdr/nfs3/constants';
import { XdrWriter } from '../xdr/writer';
import { directIoBase, loopExt4Skip, mountLoopExt4, tmpfsBase } from './support/capture-dirs';
import { RpcTestClient, startEchoServer } from './support/netem-rpc';

/**
 * sha256 of the file the copying, thread-pool writer (netem/capture/sink.ts at 86554d1) wrote for this sequence,
 * its clock made deterministic (performance.timeOrigin 1.7e12 ms, performance.now() stepping 0.25 ms).
 */
const GOLDEN = { sha256: '96189ea5248f5801d74f65a6833d94416bc64bea432bdcecac77991cc2e01568', bytes: 2374566 };

/** The golden sequence: both legs of one connection, payloads across segment and slab boundaries, FIN and RST. */
function writeSequence(sink: PcapSink): void {
  let tick = 1_700_000_000_000_000;
  const cap = new ConnectionCapture(sink, { address: '127.0.0.1', port: 40000 }, { address: '127.0.0.1', port: 2049 }, 12345, () => (tick += 250));
  const pay = (n: number, k: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (i * 7 + k) & 0xff;
    return b;
  };
  cap.serverConnected({ address: '127.0.0.1', port: 50000 }, { address: '127.0.0.1', port: 20049 }, 777);
  [1, 1448, 65495, 65496, 1 << 20, 3000].forEach((n, k) => {
    const b = pay(n, k);
    cap.fromClient(b);
    cap.toServer(b);
    b.fill(0xee); // the relay reads into its slab again as soon as the tap returned
    const r = pay(140, k + 50);
    cap.fromServer(r);
    cap.toClient(r);
  });
  cap.fin('client', true);
  cap.fin('server', true);
  cap.fin('server', false);
  cap.fin('client', false);
  cap.rst('client', true);
}

async function assertGolden(dir: string, io: CaptureIo, expectIo: 'direct' | 'buffered', autoDirectAfter?: number): Promise<CaptureIoChoice> {
  const file = path.join(dir, 'seq.pcap');
  const sink = new PcapSink(file, io, CAPTURE_FLUSH_MS, autoDirectAfter);
  assert.equal(sink.io.io, expectIo, sink.io.reason);
  writeSequence(sink);
  await sink.close();
  const bytes = fs.readFileSync(file);
  assert.equal(bytes.length, GOLDEN.bytes);
  assert.equal(crypto.createHash('sha256').update(bytes).digest('hex'), GOLDEN.sha256);
  return sink.io;
}

const direct = directIoBase();
const tmpfs = tmpfsBase();
/** A fresh directory under `on` (removed after the test). */
function freshDir(t: TestContext, on: { base: string } | { skip: string }): string {
  if (!('base' in on)) throw new Error(on.skip);
  const dir = fs.mkdtempSync(path.join(on.base, 'netem-writer-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('pcap bytes are identical, byte for byte, to the copying writer: through the page cache', async (t) => {
  await assertGolden(freshDir(t, { base: os.tmpdir() }), 'buffered', 'buffered');
});

test('pcap bytes are identical, byte for byte, to the copying writer: O_DIRECT throughout (--capture-io direct)', { skip: 'skip' in direct ? direct.skip : undefined }, async (t) => {
  assert.equal((await assertGolden(freshDir(t, direct), 'direct', 'direct')).reason, 'O_DIRECT');
});

test('auto, the default, writes through the page cache, then O_DIRECT from the write that crosses its threshold: the same bytes wherever it switches', { skip: 'skip' in direct ? direct.skip : undefined }, async (t) => {
  assert.equal(CAPTURE_IO_DEFAULT, 'auto');
  assert.equal(AUTO_DIRECT_AFTER, 64 * 1048576);
  // Thresholds inside the golden sequence's records (its payloads are 1 B to 1 MiB), so the switch lands at a
  // length that is not a multiple of the O_DIRECT block: the partial block is staged again and rewritten.
  for (const after of [1, 4096, 100_000, 1_500_000]) {
    const choice = await assertGolden(freshDir(t, direct), 'auto', 'buffered', after);
    assert.equal(choice.io, 'direct', `switched after ${after} bytes`);
    assert.match(choice.reason, /^O_DIRECT.* after the first .* through the page cache$/);
  }
  // Never reached: the page cache throughout, the probe's descriptor closed with the file.
  const choice = await assertGolden(freshDir(t, direct), 'auto', 'buffered', 1 << 30);
  assert.match(choice.reason, /^the page cache for the first 1024 MiB, then O_DIRECT/);
});

test('auto: a capture read while it runs holds every byte written so far, before and after its switch to O_DIRECT', { skip: 'skip' in direct ? direct.skip : undefined }, async (t) => {
  const file = path.join(freshDir(t, direct), 'live.pcap');
  const sink = new PcapSink(file, 'auto', CAPTURE_FLUSH_MS, 200_000);
  const rng = new Prng(7);
  const expect: Buffer[] = [];
  let length = 24; // the global header
  for (let i = 0; i < 60; i++) {
    const b = Buffer.alloc(1 + Math.floor(rng.next() * 20_000));
    for (let k = 0; k < b.length; k++) b[k] = (k * 13 + i) & 0xff;
    sink.write([b]);
    expect.push(Buffer.from(b));
    length += b.length;
    sink.flush();
    assert.equal(sink.io.io, length >= 200_000 ? 'direct' : 'buffered', `after ${length} bytes`);
    const got = fs.readFileSync(file);
    assert.equal(got.length, length);
    assert.ok(got.subarray(24).equals(Buffer.concat(expect)), `every byte so far, after ${length}`);
  }
  await sink.close();
});

test('auto chooses the page cache on tmpfs (O_DIRECT there would be a second copy), and the bytes are the same', { skip: 'skip' in tmpfs ? tmpfs.skip : undefined }, async (t) => {
  assert.match((await assertGolden(freshDir(t, tmpfs), 'auto', 'buffered')).reason, /^tmpfs: /);
});

test('a FIFO is written through the page cache under auto, and --capture-io direct refuses it with CAPTURE_IO', { skip: spawnSync('mkfifo', ['--version']).status === 0 ? undefined : 'needs mkfifo (coreutils)' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-writer-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const fifo = path.join(dir, 'f.pcap');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  assert.throws(() => new PcapSink(fifo, 'direct'), (e: CaptureError) => e.code === 'CAPTURE_IO');
  // The reader copies to a file: reading its stdout here would deadlock with this thread blocked in writev.
  const copy = path.join(dir, 'copy.pcap');
  const reader = spawn('sh', ['-c', 'cat "$1" > "$2"', 'sh', fifo, copy], { stdio: 'ignore' });
  const done = new Promise((res) => reader.on('close', res));
  const sink = new PcapSink(fifo, 'auto');
  assert.equal(sink.io.io, 'buffered');
  assert.match(sink.io.reason, /not a regular file/);
  writeSequence(sink);
  await sink.close();
  await done;
  assert.equal(crypto.createHash('sha256').update(fs.readFileSync(copy)).digest('hex'), GOLDEN.sha256);
});

/** A fresh O_DIRECT file `name` in `dir`, its DirectFile. */
function directFile(dir: string, name: string, opts: DirectFileOptions): { file: string; w: DirectFile } {
  const file = path.join(dir, name);
  return { file, w: new DirectFile(fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_DIRECT), opts) };
}

test('the O_DIRECT writer: any slab size and ring, flushes anywhere (racing the writer thread), the file always cut at the last byte written', { skip: 'skip' in direct ? direct.skip : undefined }, async (t) => {
  const dir = freshDir(t, direct);
  const prng = new Prng(20);
  const rnd = () => prng.next();
  const layouts: DirectFileOptions[] = [
    ...[DIRECT_BLOCK, 3 * DIRECT_BLOCK, 64 * 1024].map((slabBytes) => ({ slabBytes, thread: false })),
    ...[DIRECT_BLOCK, 3 * DIRECT_BLOCK, 64 * 1024].map((slabBytes) => ({ slabBytes, slabs: 2 })),
    { slabBytes: 3 * DIRECT_BLOCK, slabs: 5 },
  ];
  for (const opts of layouts) {
    const slab = opts.slabBytes!;
    const what = `slab ${slab} x ${opts.slabs ?? 1}${opts.thread === false ? ' on the caller\'s thread' : ''}`;
    const { file, w } = directFile(dir, `slab-${slab}-${opts.slabs ?? 1}.bin`, opts);
    assert.equal(w.threaded, opts.thread !== false);
    const expect: Buffer[] = [];
    for (let i = 0; i < 300; i++) {
      const n = Math.floor(rnd() * (rnd() < 0.1 ? 3 * slab : 300)) + 1;
      const b = Buffer.alloc(n, (i % 250) + 1);
      w.write([b.subarray(0, n >> 1), b.subarray(n >> 1)]);
      b.fill(0); // staged before write() returned
      expect.push(Buffer.alloc(n, (i % 250) + 1));
      const r = rnd();
      // The timer's flush: handed over, not waited for; the writes after it race the thread's write and truncate.
      if (r < 0.2) w.flush(false);
      else if (r < 0.3) {
        w.flush();
        assert.equal(w.inFlight, 0);
        const now = fs.readFileSync(file);
        assert.equal(now.length, w.length, 'cut to the true length at every flush');
        assert.ok(now.equals(Buffer.concat(expect)), `${what}: readable to the last byte after flush ${i}`);
      }
    }
    await w.close();
    const all = Buffer.concat(expect);
    const got = fs.readFileSync(file);
    assert.equal(got.length, all.length, 'close leaves the exact length');
    assert.notEqual(got.length % DIRECT_BLOCK, 0, 'the test ends mid-block, so the padding had to be cut');
    assert.ok(got.equals(all), `${what}: every byte, in order`);
  }
});

test('the O_DIRECT writer copies right from every source page phase (the bounce past rep movsb\'s 1-31 byte window)', { skip: 'skip' in direct ? direct.skip : undefined }, async (t) => {
  const { file, w } = directFile(freshDir(t, direct), 'phases.bin', { slabBytes: 64 * 1024 });
  // A source large enough that malloc maps it (as the relay's 1 MiB slabs), read at every offset modulo 4 KiB.
  const src = Buffer.from(new ArrayBuffer(256 * 1024));
  for (let i = 0; i < src.length; i++) src[i] = (i * 131 + (i >> 12)) & 0xff;
  const expect: Buffer[] = [];
  for (let off = 0; off < 4096; off += 3) {
    const part = src.subarray(off, off + 2500 + (off % 7) * 1000);
    w.write([part]);
    expect.push(Buffer.from(part));
  }
  await w.close();
  assert.ok(fs.readFileSync(file).equals(Buffer.concat(expect)));
});

/** Threads of this process (/proc/self/task). */
const threads = () => fs.readdirSync('/proc/self/task').length;

/**
 * Threads of this process once they number `want`, or after `ms`. A joined thread can still be listed for a moment:
 * pthread_join returns at the CLONE_CHILD_CLEARTID futex wake in the exiting thread's mm_release() (kernel/fork.c),
 * before exit_notify() -> release_task() takes it out of the thread group that /proc/self/task lists; on a loaded
 * machine the test read it in that window (8 against 7).
 */
async function threadsSettled(want: number, ms = 2000): Promise<number> {
  const until = Date.now() + ms;
  let n = threads();
  while (n !== want && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 10));
    n = threads();
  }
  return n;
}

test('close() waits for the O_DIRECT writer thread to exit: no thread is left running', { skip: 'skip' in direct ? direct.skip : undefined }, async (t) => {
  const dir = freshDir(t, direct);
  const before = threads();
  const files = [0, 1, 2].map((i) => directFile(dir, `t${i}.bin`, { slabBytes: DIRECT_BLOCK, slabs: 2 }));
  for (const { w } of files) {
    w.write([Buffer.alloc(5 * DIRECT_BLOCK + 7, 0x11)]);
    w.flush(); // waits for the thread: it is running by now
  }
  assert.equal(threads(), before + files.length, 'one writer thread per file');
  await Promise.all(files.map(({ w }) => w.close()));
  assert.equal(await threadsSettled(before), before, 'every writer thread has exited and been joined');
  for (const { file } of files) assert.ok(fs.readFileSync(file).equals(Buffer.alloc(5 * DIRECT_BLOCK + 7, 0x11)));
});

test('an error the O_DIRECT writer thread meets is thrown to the caller at its next flush or write, and close still ends the thread', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-writer-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'read-only.bin');
  fs.writeFileSync(file, '');
  const before = threads();
  // Opened for reading: every pwrite(2) of the thread answers EBADF.
  const w = new DirectFile(fs.openSync(file, 'r'), { slabBytes: DIRECT_BLOCK, slabs: 2 });
  w.write([Buffer.alloc(100, 1)]);
  assert.throws(() => w.flush(), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
  assert.throws(() => w.write([Buffer.alloc(10)]), (e: NodeJS.ErrnoException) => e.code === 'EBADF', 'kept for every later call');
  await assert.rejects(w.close(), (e: NodeJS.ErrnoException) => e.code === 'EBADF');
  assert.equal(await threadsSettled(before), before, 'the thread has exited');
});

/**
 * A loop-mounted ext4 for this test, thawed, unmounted and removed after it (`holder` first closes whatever keeps a
 * file open on it); undefined when it cannot be mounted here (the test is then skipped).
 */
function loopDisk(t: TestContext, holder: () => Promise<void> | undefined): ReturnType<typeof mountLoopExt4> | undefined {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-writer-'));
  let disk: ReturnType<typeof mountLoopExt4> | undefined;
  t.after(async () => {
    try {
      if (disk) spawnSync('fsfreeze', ['-u', disk.mnt]); // a test that failed while frozen; "not frozen" is fine
      await holder(); // its file holds the mount busy
    } finally {
      try {
        disk?.unmount(); // even when closing failed (a failing test left it mounted under a removed directory)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });
  try {
    disk = mountLoopExt4(dir);
  } catch (e) {
    t.skip(`cannot mount a loop-device ext4 here: ${(e as Error).message}`);
  }
  return disk;
}

test('the relay thread hands slabs over without waiting for the device: a frozen file system holds the writer thread, not the caller, until every slab is full', { skip: loopExt4Skip(), timeout: 60_000 }, async (t) => {
  let w: DirectFile | undefined;
  const disk = loopDisk(t, () => w?.close());
  if (!disk) return;
  const slabBytes = 64 * 1024;
  const slabs = 4;
  const made = directFile(disk.mnt, 'held.bin', { slabBytes, slabs });
  w = made.w;
  const expect: Buffer[] = [];
  const put = (n: number, k: number) => {
    const b = Buffer.alloc(n, k);
    w!.write([b]);
    expect.push(b);
  };
  put(1000, 1);
  w.flush(); // the thread is up and has written the first block
  // Frozen: every write to the file system, O_DIRECT ones included, waits in vfs_write()'s file_start_write().
  assert.equal(spawnSync('fsfreeze', ['-f', disk.mnt]).status, 0);
  // slabs - 1 slabs handed over, the last one half staged, a flush handed over: all without waiting, though not one
  // of them can reach the device (this thread would hang here if write() or flush(false) waited).
  put((slabs - 1) * slabBytes - 1000, 2);
  put(slabBytes / 2, 3);
  w.flush(false);
  assert.equal(w.inFlight, slabs, 'the slabs and the flush are handed over and none is written');
  assert.equal(fs.statSync(made.file).size, 1000, 'the file has not grown');
  // One more slab would need a slab still held: that write waits, until another process thaws the file system.
  const thaw = spawn('sh', ['-c', 'sleep 0.3 && fsfreeze -u "$1" && echo thawed', 'sh', disk.mnt], { stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  thaw.stdout.on('data', (c: Buffer) => (said += c));
  const thawed = new Promise<number | null>((res) => thaw.on('close', res));
  put(slabBytes, 4);
  assert.ok(w.inFlight < slabs + 1, 'write() returned once a slab was free: the device took a write');
  assert.equal(await thawed, 0);
  assert.match(said, /thawed/);
  w.flush();
  assert.ok(fs.readFileSync(made.file).equals(Buffer.concat(expect)), 'every byte, in order, the file cut at the last one');
});

test('a running capture is readable to its last record: on flushCapture(), the control API, and the timer', { skip: 'skip' in direct ? direct.skip : undefined }, async (t) => {
  const dir = freshDir(t, direct);
  const server = await startEchoServer();
  t.after(() => server.close());
  const file = path.join(dir, 'live.pcap');
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: server.port }, capture: file, captureIo: 'direct' });
  t.after(() => proxy.close());
  assert.equal(proxy.captureIo?.io, 'direct');
  const client = await RpcTestClient.connect(proxy.address.port);
  t.after(() => client.close());
  const calls = async (n: number, from: number) => {
    for (let i = from; i < from + n; i++) await client.call(NFSPROC3.WRITE, writeArgs(BigInt(i) * 4096n, Buffer.alloc(3000, i)));
  };
  const inspectNow = async () => {
    const res = await inspectFilesDetailed([file], { leg: 'all' });
    assert.deepEqual(res.report.files[0].trailing, null, 'the file ends at a record boundary');
    return res.report;
  };
  await calls(5, 0); // 5 x ~3 kB x 4 records: well under one slab, nothing on disk yet but the header
  proxy.flushCapture();
  assert.equal((await inspectNow()).rpcCalls, 2 * 5, 'every call so far, on both legs');
  // The control API flushes before it shows a proxy (GET /proxies/{name} names the capture file).
  await calls(3, 5);
  const registry = new NetemRegistry({ timeScale: 1, seed: 1 });
  registry.adopt(proxy);
  const api = await createNetemApiServer(registry, { host: '127.0.0.1', port: 0 });
  const got = await api.inject({ method: 'GET', url: `/proxies/${proxy.name}` });
  assert.equal(got.statusCode, 200);
  assert.deepEqual((got.result as { captureIo: unknown }).captureIo, { io: 'direct', asked: 'direct', reason: 'O_DIRECT' });
  assert.equal((await inspectNow()).rpcCalls, 2 * 8);
  // The timer (every CAPTURE_FLUSH_MS) with no one asking.
  await calls(2, 8);
  await new Promise((res) => setTimeout(res, CAPTURE_FLUSH_MS * 2.5));
  assert.equal((await inspectNow()).rpcCalls, 2 * 10);
});

/** RFC 1813 §3.3.7 WRITE3args with an 8-byte handle. */
function writeArgs(offset: bigint, data: Buffer): Buffer {
  return new XdrWriter().opaque(Buffer.alloc(8, 0xfe), 64).u64(offset).u32(data.length).u32(2).opaque(data).toBuffer();
}

/** n WRITE calls of 60 kB, one at a time, then the client closes; resolves with the wall ms they took. */
async function relayWrites(client: RpcTestClient, n: number): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < n; i++) await client.call(NFSPROC3.WRITE, writeArgs(BigInt(i) * 65536n, Buffer.alloc(60_000, i)));
  const ms = Date.now() - t0;
  client.close();
  return ms;
}

/** The capture holds every call and reply on both legs, undamaged, with no gap and no partial record at the end. */
async function assertEveryCall(file: string, n: number): Promise<void> {
  const res = await inspectFilesDetailed([file], { leg: 'all' });
  assert.equal(res.report.rpcCalls, 2 * n, 'every call on both legs');
  assert.equal(res.report.rpcReplies, 2 * n);
  assert.equal(res.report.damagedCalls.count, 0);
  assert.deepEqual(res.report.files[0].trailing, null);
  assert.equal(res.report.streamFindings.counts['gap-resync'] + res.report.streamFindings.counts['record-lost'], 0);
}

test('a capture FIFO that stalls slows the relay and loses no packet (the page-cache writer)', { skip: spawnSync('mkfifo', ['--version']).status === 0 ? undefined : 'needs mkfifo (coreutils)', timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-writer-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // The "disk": a FIFO drained by another process at about 4 MB/s in 64 KiB reads, with a 300 ms stall first.
  const fifo = path.join(dir, 'slow.pcap');
  const copy = path.join(dir, 'copy.pcap');
  assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
  const reader = spawn(process.execPath, ['-e', `
    const fs = require('fs');
    const fd = fs.openSync(process.argv[1], 'r'), out = fs.openSync(process.argv[2], 'w');
    const b = Buffer.alloc(65536);
    const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    sleep(300);
    for (;;) { const n = fs.readSync(fd, b, 0, b.length, null); if (n === 0) break; fs.writeSync(out, b, 0, n); sleep(15); }
    fs.closeSync(out);`, fifo, copy], { stdio: 'ignore' });
  const readerDone = new Promise<number | null>((res) => reader.on('close', res));
  t.after(() => {
    if (reader.exitCode === null) reader.kill();
  });
  const server = await startEchoServer();
  t.after(() => server.close());
  const proxy = await createProxy({ upstream: { host: '127.0.0.1', port: server.port }, capture: fifo });
  const client = await RpcTestClient.connect(proxy.address.port);
  const n = 40;
  const ms = await relayWrites(client, n);
  await proxy.close();
  assert.equal(await readerDone, 0);
  // 40 calls of 60 kB relayed twice (both legs) and echoed back: ~9.6 MB through a ~4 MB/s file.
  t.diagnostic(`${n} calls took ${ms} ms through a capture file that drains at ~4 MB/s`);
  await assertEveryCall(copy, n);
});

test('an O_DIRECT capture on a file system that stalls (fsfreeze of a loop-mounted ext4) slows the relay and loses no packet', { skip: loopExt4Skip(), timeout: 60_000 }, async (t) => {
  let proxy: Proxy | undefined;
  const disk = loopDisk(t, () => proxy?.close());
  if (!disk) return;
  const server = await startEchoServer();
  t.after(() => server.close());
  const file = path.join(disk.mnt, 'frozen.pcap');
  proxy = await createProxy({ upstream: { host: '127.0.0.1', port: server.port }, capture: file, captureIo: 'direct' });
  assert.equal(proxy.captureIo?.io, 'direct', proxy.captureIo?.reason);
  const client = await RpcTestClient.connect(proxy.address.port);
  // The stall: another process freezes the file system (every write to it, O_DIRECT ones included, waits in
  // sb_start_write) and thaws it 300 ms later. This thread is blocked in pwrite meanwhile, so it cannot thaw it.
  const freezer = spawn('sh', ['-c', 'fsfreeze -f "$1" && echo frozen && sleep 0.3 && fsfreeze -u "$1" && echo thawed', 'sh', disk.mnt], { stdio: ['ignore', 'pipe', 'inherit'] });
  let said = '';
  const frozen = new Promise<void>((res, rej) => {
    freezer.stdout.on('data', (c: Buffer) => ((said += c), said.includes('frozen') && res()));
    freezer.on('close', (code) => (code === 0 ? res() : rej(new Error(`fsfreeze exited ${code}`))));
  });
  const freezerDone = new Promise<number | null>((res) => freezer.on('close', res));
  t.after(() => {
    if (freezer.exitCode === null) freezer.kill();
  });
  await frozen;
  const n = 40;
  const ms = await relayWrites(client, n);
  await proxy.close();
  assert.equal(await freezerDone, 0);
  assert.match(said, /thawed/);
  // 40 calls of 60 kB on both legs and echoed back: ~9.6 MB, more than the writer's ring (DIRECT_SLABS of 1 MiB):
  // its thread's first write waited for the thaw, and the relay waited for it once every slab was full.
  t.diagnostic(`${n} calls took ${ms} ms through a capture whose file system was frozen for 300 ms`);
  await assertEveryCall(file, n);
});
