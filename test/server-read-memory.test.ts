// READ on a memory file system (server/nfs3/on-read.ts): a file on tmpfs is read on the event loop (preadNow),
// any other on the thread pool (pread), and both give the same bytes, counts and eof for the same READs. Which
// path ran is counted on the real `fs` functions the server calls; whether a file is in memory is its own
// file system's statfs (fs-at memoryBacked). Real sockets, real files on /dev/shm and on the OS temp dir.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NFS3 } from '../xdr/nfs3/procs';
import { NFSSTAT3 } from '../xdr/nfs3/constants';
import { memoryBacked } from '../server/fs-at';
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

/** Counts the server's thread-pool reads (fs.read) and event-loop reads (fs.readSync) while `fn` runs. */
async function countingReads<T>(fn: () => Promise<T>): Promise<{ value: T; pool: number; loop: number }> {
  const { read, readSync } = fs;
  let pool = 0;
  let loop = 0;
  (fs as { read: unknown }).read = (...a: unknown[]) => (pool++, (read as (...x: unknown[]) => void)(...a));
  (fs as { readSync: unknown }).readSync = (...a: unknown[]) => (loop++, (readSync as (...x: unknown[]) => number)(...a));
  try {
    return { value: await fn(), pool, loop };
  } finally {
    Object.assign(fs, { read, readSync });
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
    assert.deepEqual(await Promise.all(fds.map(memoryBacked)), [true, false]);
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
  const mem = await countingReads(() => readsOf(onShm));
  const disk = await countingReads(() => readsOf(onDisk));
  assert.deepEqual(mem.value, disk.value);
  assert.deepEqual(mem.value.map((r) => r.eof), [false, false, false, true, true, true, false]);
  assert.equal(mem.pool, 0, 'no thread-pool read for a tmpfs file');
  assert.ok(mem.loop >= 6, `event-loop reads: ${mem.loop}`);
  assert.equal(disk.loop, 0, 'no event-loop read for a disk file');
  assert.ok(disk.pool >= 6, `thread-pool reads: ${disk.pool}`);
});
