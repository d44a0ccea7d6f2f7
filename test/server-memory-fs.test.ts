// Files on a memory file system (issue 20): a file on tmpfs is read (server/nfs3/on-read.ts) and written behind
// its reply (write-behind.ts) on the event loop, any other on the thread pool, and both give the same bytes,
// counts and eof. Which path ran is counted on the real `fs` functions the server calls; whether a file is in
// memory is its own file system's statfs (fs-at memoryBacked). Real sockets, real files on /dev/shm and on the
// OS temp dir.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NFS3 } from '../xdr/nfs3/procs';
import { NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { memoryBacked } from '../server/fs-at';
import { WriteBehind } from '../server/nfs3/write-behind';
import { mountedServer, type MountedServer } from '../testing/server-rpc';

const TMPFS_MAGIC = 0x01021994;
const fsType = (dir: string): number => Number(fs.statfsSync(dir).type);
const SHM = '/dev/shm';
const shmWhy = !fs.existsSync(SHM) ? 'no /dev/shm' : fsType(SHM) !== TMPFS_MAGIC ? '/dev/shm is not tmpfs' : undefined;
const tmpWhy = fsType(os.tmpdir()) === TMPFS_MAGIC ? `${os.tmpdir()} is tmpfs: no disk-backed directory to compare with` : undefined;

const SIZE = 3 * (1 << 20) + 123;
/** bytes that differ at every offset within a page and across pages */
const content = Buffer.alloc(SIZE);
for (let i = 0; i < SIZE; i++) content[i] = ((i * 2654435761) >>> 13) & 0xff;

let shmDir: string | undefined;
const servers: MountedServer[] = [];
before(() => {
  if (!shmWhy) shmDir = fs.mkdtempSync(path.join(SHM, 'nfst-read-memory-'));
});
after(async () => {
  for (const s of servers) await s.cleanup();
  if (shmDir) fs.rmSync(shmDir, { recursive: true, force: true });
});

/** Counts calls of the `fs` functions named (the server's thread-pool and event-loop I/O) while `fn` runs. */
async function counting<T, K extends 'read' | 'readSync' | 'writev' | 'writevSync'>(names: K[], fn: () => Promise<T>): Promise<{ value: T } & Record<K, number>> {
  const saved = names.map((k) => [k, fs[k]] as const);
  const n = Object.fromEntries(names.map((k) => [k, 0])) as Record<K, number>;
  for (const [k, f] of saved) (fs as unknown as Record<string, unknown>)[k] = (...a: unknown[]) => (n[k]++, (f as (...x: unknown[]) => unknown)(...a));
  try {
    return { value: await fn(), ...n };
  } finally {
    for (const [k, f] of saved) (fs as unknown as Record<string, unknown>)[k] = f;
  }
}

/** A server exporting `exportDir` (default: one on the OS temp dir) and the handle of the test file in it. */
async function serve(exportDir?: string): Promise<{ t: MountedServer; file: Buffer }> {
  const t = await mountedServer(exportDir ? { exportDir } : {});
  servers.push(t);
  fs.writeFileSync(path.join(t.server.exportDir, 'f.bin'), content);
  const look = await t.rpc.call(NFS3.LOOKUP, { what: { dir: t.root, name: 'f.bin' } });
  assert.equal(look.status, NFSSTAT3.NFS3_OK);
  return { t, file: (look as { object: Buffer }).object };
}

/** READs at page-aligned, odd and end-of-file offsets; each checked against the file's bytes. */
async function readsOf({ t, file }: { t: MountedServer; file: Buffer }): Promise<Array<{ count: number; eof: boolean }>> {
  const out = [];
  for (const [offset, count] of [[0, 1 << 20], [4097, 1 << 20], [(1 << 20) + 7, 5000], [SIZE - 100, 1 << 20], [SIZE, 10], [SIZE + 4096, 10], [0, 2 << 20]]) {
    const r = await t.rpc.call(NFS3.READ, { file, offset: BigInt(offset), count });
    assert.equal(r.status, NFSSTAT3.NFS3_OK);
    const { data, eof, count: n } = r as { data: Buffer; eof: boolean; count: number };
    const want = content.subarray(Math.min(offset, SIZE), Math.min(SIZE, offset + Math.min(count, 1 << 20)));
    assert.ok(data.equals(want), `READ ${offset}+${count}: ${n} bytes, expected ${want.length}`);
    out.push({ count: n, eof });
  }
  return out;
}

test('memoryBacked: a file on tmpfs is memory, one on the OS temp dir is not', { skip: shmWhy ?? tmpWhy }, async () => {
  const onShm = path.join(shmDir!, 'probe');
  fs.writeFileSync(onShm, 'x');
  const onDisk = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-read-memory-'));
  fs.writeFileSync(path.join(onDisk, 'probe'), 'x');
  const fds = [fs.openSync(onShm, 'r'), fs.openSync(path.join(onDisk, 'probe'), 'r')];
  try {
    assert.deepEqual(fds.map(memoryBacked), [true, false]);
  } finally {
    for (const fd of fds) fs.closeSync(fd);
    fs.rmSync(onShm);
    fs.rmSync(onDisk, { recursive: true });
  }
});

test('READ from a tmpfs export runs on the event loop, from a disk export on the thread pool, with the same results', { skip: shmWhy ?? tmpWhy }, async () => {
  const exportDir = path.join(shmDir!, 'export');
  fs.mkdirSync(exportDir);
  const [onShm, onDisk] = [await serve(exportDir), await serve()];
  const mem = await counting(['read', 'readSync'], () => readsOf(onShm));
  const disk = await counting(['read', 'readSync'], () => readsOf(onDisk));
  assert.deepEqual(mem.value, disk.value);
  assert.deepEqual(mem.value.map((r) => r.eof), [false, false, false, true, true, true, false]);
  assert.equal(mem.read, 0, 'no thread-pool read for a tmpfs file');
  assert.ok(mem.readSync >= 7, `event-loop reads: ${mem.readSync}`);
  assert.equal(disk.readSync, 0, 'no event-loop read for a disk file');
  assert.ok(disk.read >= 7, `thread-pool reads: ${disk.read}`);
});

test('UNSTABLE WRITEs to a tmpfs export are written behind their replies on the event loop, to a disk export on the thread pool', { skip: shmWhy ?? tmpWhy }, async () => {
  const exportDir = path.join(shmDir!, 'export-w');
  fs.mkdirSync(exportDir);
  const [onShm, onDisk] = [await serve(exportDir), await serve()];
  // Odd sizes and offsets, one over another: the file must end as the writes say, in arrival order.
  const writes: Array<[number, number]> = [[0, 1 << 20], [1 << 20, 300_001], [4097, 70_000], [(1 << 20) + 300_001, 5]];
  const writeAll = async ({ t, file }: { t: MountedServer; file: Buffer }) => {
    for (const [offset, count] of writes) {
      const data = content.subarray(SIZE - count - offset % 7);
      const r = await t.rpc.call(NFS3.WRITE, { file, offset: BigInt(offset), count, stable: STABLE_HOW.UNSTABLE, data: data.subarray(0, count) });
      assert.deepEqual([r.status, (r as { committed: number }).committed], [NFSSTAT3.NFS3_OK, STABLE_HOW.UNSTABLE]);
    }
    assert.equal((await t.rpc.call(NFS3.COMMIT, { file, offset: 0n, count: 0 })).status, NFSSTAT3.NFS3_OK);
    return fs.readFileSync(path.join(t.server.exportDir, 'f.bin'));
  };
  const mem = await counting(['writev', 'writevSync'], () => writeAll(onShm));
  const disk = await counting(['writev', 'writevSync'], () => writeAll(onDisk));
  assert.ok(mem.value.equals(disk.value), 'the same file on both');
  const want = Buffer.from(content);
  for (const [offset, count] of writes) content.subarray(SIZE - count - offset % 7, SIZE - offset % 7).copy(want, offset);
  assert.ok(mem.value.equals(want), 'every write landed, in arrival order');
  assert.deepEqual([mem.writev, mem.writevSync >= writes.length], [0, true], `event loop: ${mem.writevSync}`);
  assert.deepEqual([disk.writevSync, disk.writev >= 1], [0, true], `thread pool: ${disk.writev}`);
});

test('write-behind queue: batches to a file in memory are written on the event loop, 1 MiB at most; a failed one fails each of its writes', { skip: shmWhy }, async () => {
  const a = fs.openSync(path.join(shmDir!, 'q-a'), 'w+');
  const ro = fs.openSync(path.join(shmDir!, 'q-a'), 'r');
  try {
    const q = new WriteBehind(64 << 20);
    const failed: string[] = [];
    const w = (fd: number, pos: number, len: number, fill: number, tag = '') => q.enqueue({ fd, data: Buffer.alloc(len, fill), pos, inMemory: true, failed: () => failed.push(tag) });
    // 32 contiguous 64 KiB writes: two batches of 1 MiB (the thread pool's limit, 8 MiB, would make one).
    const r = await counting(['writev', 'writevSync'], () => Promise.all(Array.from({ length: 32 }, (_, i) => w(a, i * 65536, 65536, i + 1))));
    assert.deepEqual({ writev: r.writev, writevSync: r.writevSync, batches: q.batches, completed: q.completed }, { writev: 0, writevSync: 2, batches: 2, completed: 32 });
    const got = fs.readFileSync(path.join(shmDir!, 'q-a'));
    for (let i = 0; i < 32; i++) assert.equal(got[i * 65536 + 100], i + 1, `block ${i}`);
    // A read-only descriptor: writevSync throws (EBADF), both writes of the batch fail, the queue goes on.
    const settled = await Promise.allSettled([w(ro, 0, 4096, 1, 'x'), w(ro, 4096, 4096, 2, 'y'), w(a, 0, 1, 0xdd)]);
    assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected', 'fulfilled']);
    assert.deepEqual([failed, q.failed, q.pendingBytes], [['x', 'y'], 2, 0]);
    assert.equal(fs.readFileSync(path.join(shmDir!, 'q-a'))[0], 0xdd);
  } finally {
    fs.closeSync(a);
    fs.closeSync(ro);
  }
});
