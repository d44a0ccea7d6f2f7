// Write-behind (server/nfs3/write-behind.ts): UNSTABLE WRITEs answered before they reach the file must be
// invisible to clients (RFC 1813 §3.3.7: the server may hold UNSTABLE data in memory). Every later call sees
// them, nothing older lands on a newer stable write, a failure after the reply changes the write verifier and
// is reported by COMMIT (§3.3.21), and the record Buffers they held go back to the pool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mount, NfsMount } from '../client/nfs3';
import { memoryLogger } from '../core/log';
import { NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { startServer, RunningServer } from '../server';
import { WriteBehind } from '../server/nfs3/write-behind';

const KiB = 1024;
const MiB = 1024 * KiB;

async function withServer(writeBehind: number, fn: (s: RunningServer, m: NfsMount, dir: string) => Promise<void>, base = os.tmpdir()): Promise<void> {
  const dir = fs.mkdtempSync(path.join(base, 'nfst-wb-'));
  const s = await startServer({ exportDir: dir, stateDir: `${dir}.state`, writeBehind, logger: memoryLogger() });
  const m = await mount({ host: '127.0.0.1', port: s.address.port, exportPath: s.exportPath, transport: { seed: 7 } });
  try {
    await fn(s, m, dir);
  } finally {
    await m.unmount();
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(`${dir}.state`, { recursive: true, force: true });
  }
}

/** Block i's contents: its number in every byte, so a misplaced or lost block shows. */
const block = (i: number, size: number) => Buffer.alloc(size, (i % 250) + 1);

/** WRITEs blocks 0..n-1 of `size` bytes, `inflight` at a time; returns the verifiers the replies carried. */
async function writeBlocks(m: NfsMount, fh: Buffer, n: number, size: number, inflight: number, stable = STABLE_HOW.UNSTABLE): Promise<Buffer[]> {
  const verfs: Buffer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < n) {
        const i = next++;
        const r = await m.nfs.write({ file: fh, offset: BigInt(i * size), count: size, stable, data: block(i, size) });
        assert.equal(r.status, 0, `WRITE ${i}`);
        if (r.status === 0) verfs.push(r.verf);
      }
    }),
  );
  return verfs;
}

for (const writeBehind of [16 * MiB, 0]) {
  test(`write-behind ${writeBehind ? 'on' : 'off'}: GETATTR and READ right after UNSTABLE WRITEs (no COMMIT) see every byte`, async () => {
    await withServer(writeBehind, async (s, m) => {
      const c = await m.nfs.createFile(m.root, 'burst.bin');
      assert.ok('fh' in c);
      const n = 48;
      const size = 256 * KiB;
      await writeBlocks(m, c.fh, n, size, 8);
      const attr = await m.nfs.getattr({ object: c.fh });
      assert.equal(attr.status, 0);
      if (attr.status === 0) assert.equal(attr.objAttributes.size, BigInt(n * size));
      for (let i = 0; i < n; i++) {
        const r = await m.nfs.read({ file: c.fh, offset: BigInt(i * size), count: size });
        assert.equal(r.status, 0);
        if (r.status === 0) assert.ok(r.data.equals(block(i, size)), `block ${i} read back`);
      }
      const wb = s.stats().writeBehind;
      // With it on, every one of these UNSTABLE WRITEs ran behind its reply (16 MiB holds them all).
      assert.equal(wb.completed, writeBehind ? n : 0);
      assert.equal(wb.failed, 0);
      assert.equal(wb.pendingBytes, 0);
    });
  });
}

test('write-behind: a FILE_SYNC WRITE right after UNSTABLE ones to the same range is what stays on disk', async () => {
  await withServer(16 * MiB, async (s, m, dir) => {
    const c = await m.nfs.createFile(m.root, 'order.bin');
    assert.ok('fh' in c);
    const size = 512 * KiB;
    // Pipelined: 8 UNSTABLE WRITEs of the same range, then one FILE_SYNC of that range once they are answered.
    await Promise.all(Array.from({ length: 8 }, (_, k) => m.nfs.write({ file: c.fh, offset: 0n, count: size, stable: STABLE_HOW.UNSTABLE, data: block(k, size) })));
    const last = Buffer.alloc(size, 0xee);
    const r = await m.nfs.write({ file: c.fh, offset: 0n, count: size, stable: STABLE_HOW.FILE_SYNC, data: last });
    assert.equal(r.status, 0);
    // Read the file behind the server's back: FILE_SYNC is on disk when answered, and no older write follows it.
    assert.ok(fs.readFileSync(path.join(dir, 'order.bin')).equals(last));
    await s.drainWrites();
    assert.ok(fs.readFileSync(path.join(dir, 'order.bin')).equals(last));
  });
});

test('write-behind: record Buffers are reused, and all come back once the writes are done', async () => {
  await withServer(8 * MiB, async (s, m) => {
    const c = await m.nfs.createFile(m.root, 'pool.bin');
    assert.ok('fh' in c);
    const n = 96;
    await writeBlocks(m, c.fh, n, MiB, 8);
    await s.drainWrites();
    const p = s.stats().recordPool;
    // A slab is held by a call in flight (at most 8 here), by a queued write (at most 8 MiB of them) or by the
    // framer filling the next record: never more than 17 at once, so never more than 17 allocated.
    assert.ok(p.slabs <= 17, `slabs allocated: ${p.slabs} for ${n} WRITEs`);
    assert.equal(p.inUse, 0);
  });
});

/** True when a pwrite at `offset` fails with EFBIG on the filesystem of `dir` (ext4: files end at 16 TiB). */
function efbigAt(dir: string, offset: number): boolean {
  const probe = path.join(dir, `.efbig-probe-${process.pid}`);
  const fd = fs.openSync(probe, 'w');
  try {
    fs.writeSync(fd, Buffer.alloc(1), 0, 1, offset);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EFBIG';
  } finally {
    fs.closeSync(fd);
    fs.rmSync(probe, { force: true });
  }
}

const HUGE = 2 ** 50; // 1 PiB: past ext4's and xfs's largest file, well inside NFSv3's 64-bit offsets

test(
  'write-behind: a WRITE that fails after its reply changes the verifier, and COMMIT reports the error',
  { skip: efbigAt(os.tmpdir(), HUGE) ? false : `pwrite at 1 PiB does not fail with EFBIG under ${os.tmpdir()}` },
  async () => {
    await withServer(16 * MiB, async (s, m) => {
      const c = await m.nfs.createFile(m.root, 'big.bin');
      assert.ok('fh' in c);
      const w = await m.nfs.write({ file: c.fh, offset: BigInt(HUGE), count: 4096, stable: STABLE_HOW.UNSTABLE, data: Buffer.alloc(4096, 1) });
      assert.equal(w.status, 0, 'answered before the write was tried');
      const before = w.status === 0 ? Buffer.from(w.verf) : Buffer.alloc(0);
      const cm = await m.nfs.commit({ file: c.fh, offset: 0n, count: 0 });
      assert.equal(cm.status, NFSSTAT3.NFS3ERR_FBIG);
      // The error is reported once; the verifier every later reply carries is a new one, so a client resends.
      const cm2 = await m.nfs.commit({ file: c.fh, offset: 0n, count: 0 });
      assert.equal(cm2.status, 0);
      if (cm2.status === 0) assert.notDeepEqual(cm2.verf, before);
      assert.equal(s.stats().writeBehind.failed, 1);
      assert.equal(s.stats().verifier, cm2.status === 0 ? cm2.verf.toString('hex') : '');
    });
    // Without write-behind the same WRITE fails in line.
    await withServer(0, async (_s, m) => {
      const c = await m.nfs.createFile(m.root, 'big.bin');
      assert.ok('fh' in c);
      const w = await m.nfs.write({ file: c.fh, offset: BigInt(HUGE), count: 4096, stable: STABLE_HOW.UNSTABLE, data: Buffer.alloc(4096, 1) });
      assert.equal(w.status, NFSSTAT3.NFS3ERR_FBIG);
    });
  },
);

test('write-behind queue: contiguous writes to one file share a pwritev, in order; a failed batch fails each of its writes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-wbq-'));
  const a = fs.openSync(path.join(dir, 'a'), 'w+');
  const b = fs.openSync(path.join(dir, 'b'), 'w+');
  try {
    const q = new WriteBehind(64 * MiB);
    const failed: string[] = [];
    const w = (fd: number, pos: number, len: number, fill: number, tag = '') => q.enqueue({ fd, data: Buffer.alloc(len, fill), pos, failed: () => failed.push(tag) });
    // 16 contiguous 64 KiB writes to a: one batch. Then one that does not continue them, then one to b, then one
    // over the start of a again, which must land after (and on top of) the first.
    const ps = Array.from({ length: 16 }, (_, i) => w(a, i * 64 * KiB, 64 * KiB, i + 1));
    ps.push(w(a, 2 * MiB, 4 * KiB, 0xaa), w(b, 0, 4 * KiB, 0xbb), w(a, 0, 4 * KiB, 0xcc));
    assert.equal(q.pendingWrites, 19);
    await Promise.all(ps);
    assert.equal(q.barrier(), undefined);
    assert.deepEqual({ completed: q.completed, failed: q.failed, batches: q.batches, pendingBytes: q.pendingBytes }, { completed: 19, failed: 0, batches: 4, pendingBytes: 0 });
    const got = fs.readFileSync(path.join(dir, 'a'));
    assert.equal(got.length, 2 * MiB + 4 * KiB);
    assert.ok(got.subarray(0, 4 * KiB).every((x) => x === 0xcc), 'the later write to the same range is on top');
    for (let i = 0; i < 16; i++) assert.equal(got[i * 64 * KiB + 4 * KiB], i + 1, `block ${i}`);
    assert.ok(got.subarray(1 * MiB, 2 * MiB).every((x) => x === 0), 'the hole stays a hole');
    assert.equal(got[2 * MiB], 0xaa);
    assert.ok(fs.readFileSync(path.join(dir, 'b')).every((x) => x === 0xbb));

    // A read-only descriptor: the batch fails (EBADF), each of its writes is reported, and the queue goes on.
    const ro = fs.openSync(path.join(dir, 'b'), 'r');
    try {
      const bad = [w(ro, 0, 4 * KiB, 1, 'x'), w(ro, 4 * KiB, 4 * KiB, 2, 'y')];
      const good = w(a, 0, 1, 0xdd);
      const settled = await Promise.allSettled([...bad, good]);
      assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected', 'fulfilled']);
      assert.deepEqual(failed, ['x', 'y']);
      assert.deepEqual({ failed: q.failed, batches: q.batches }, { failed: 2, batches: 6 });
      assert.equal(fs.readFileSync(path.join(dir, 'a'))[0], 0xdd);
    } finally {
      fs.closeSync(ro);
    }
  } finally {
    fs.closeSync(a);
    fs.closeSync(b);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
