// A third-party client against our server: Debian's libnfs-utils (nfs-cp, nfs-ls, nfs-cat) over one address
// (MOUNT and NFS on the same port, ?nfsport=P&mountport=P).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { missingTools } from '../lab/peers/tools';
import { TestServer, testServer } from '../testing/server-rpc';
import { payloadHash } from '../core/payload-hash';

const skip = missingTools(['nfs-cp', 'libnfs-utils'], ['nfs-ls', 'libnfs-utils'], ['nfs-cat', 'libnfs-utils']);
const MiB = 1024 * 1024;

/** Runs a program to completion without blocking the event loop (the server lives in this process). */
function run(cmd: string, args: string[], timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    // libnfs resends after a reconnect forever: a server that keeps closing the connection would hang the test
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', () => clearTimeout(timer));
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const c of fs.createReadStream(file)) h.update(c as Buffer);
  return h.digest('hex');
}

let t: TestServer;
let work: string;
before(async () => {
  if (skip) return;
  t = await testServer(); // journal in memory: every WRITE row is checked below
  work = fs.mkdtempSync(path.join(path.dirname(t.dir), 'local-'));
});
after(async () => {
  if (skip) return;
  await t.cleanup();
});

test('nfs-cp copies a 256 MiB random file in and out with identical sha256', { skip }, async () => {
  const src = path.join(work, 'random.bin');
  const fd = fs.openSync(src, 'w');
  for (let i = 0; i < 256; i++) fs.writeSync(fd, crypto.randomBytes(MiB));
  fs.closeSync(fd);
  const want = await sha256File(src);

  const up = await run('nfs-cp', [src, t.server.url('random.bin')]);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(await sha256File(path.join(t.dir, 'random.bin')), want);

  // The journal saw every 1 MiB WRITE, and its hash of each is the hash of that MiB of the source.
  await t.server.flushJournal();
  const rows = t.server.journal!.query({ proc: 'WRITE', limit: 10_000 });
  assert.equal(rows.length, 256);
  const srcFd = fs.openSync(src, 'r');
  const chunk = Buffer.alloc(MiB);
  for (const r of rows) {
    assert.deepEqual([r.outcome, r.status, r.count, r.path], ['executed', 0, MiB, 'random.bin']);
    fs.readSync(srcFd, chunk, 0, MiB, r.offset!);
    assert.equal(r.data_hash, payloadHash(t.server.journal!.payloadHash, chunk), `offset ${r.offset}`);
    assert.equal(r.head_hex, chunk.subarray(0, 16).toString('hex'));
  }
  fs.closeSync(srcFd);

  const back = path.join(work, 'back.bin');
  const down = await run('nfs-cp', [t.server.url('random.bin'), back]);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(await sha256File(back), want);
  const s = t.server.stats();
  assert.equal(s.writeBytes, 256 * MiB);
  assert.equal(s.readBytes, 256 * MiB);
  fs.rmSync(src);
  fs.rmSync(back);
});

test('nfs-ls -R lists a tree of files, directories and symlinks; nfs-cat reads a file', { skip }, async () => {
  const tree = path.join(t.dir, 'tree');
  fs.mkdirSync(path.join(tree, 'd1', 'd2'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'top.txt'), 'top\n');
  fs.writeFileSync(path.join(tree, 'd1', 'mid.txt'), 'mid\n');
  fs.writeFileSync(path.join(tree, 'd1', 'd2', 'deep.txt'), 'deep\n');
  fs.symlinkSync('top.txt', path.join(tree, 'link-in'));
  fs.symlinkSync('/etc/passwd', path.join(tree, 'd1', 'link-out'));
  for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(tree, 'd1', `many-${String(i).padStart(3, '0')}`), ''); // several READDIRPLUS pages

  const ls = await run('nfs-ls', ['-R', t.server.url('tree')]);
  assert.equal(ls.code, 0, ls.stderr);
  const names = ls.stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/).pop()!);
  for (const want of ['top.txt', 'd1', 'd1/mid.txt', 'd1/d2', 'd1/d2/deep.txt', 'link-in', 'd1/link-out', 'd1/many-000', 'd1/many-299']) {
    assert.ok(names.includes(want), `${want} missing from nfs-ls -R:\n${ls.stdout.slice(0, 2000)}`);
  }
  const links = ls.stdout.split('\n').filter((l) => l.startsWith('l'));
  assert.equal(links.length, 2);
  assert.equal(names.filter((n) => n.startsWith('d1/many-')).length, 300);

  const cat = await run('nfs-cat', [t.server.url('tree/d1/d2/deep.txt')]);
  assert.equal(cat.code, 0, cat.stderr);
  assert.equal(cat.stdout, 'deep\n');
});

test('with --max-record-size 64KiB, nfs-cp believes FSINFO (wtmax 60 KiB) and copies 4 MiB in and out', { skip }, async () => {
  // Before, FSINFO said 1 MiB whatever the record limit: libnfs sent 1 MiB WRITEs, the server closed the
  // connection on each, and libnfs reconnected and resent them without end.
  const small = await testServer({ limits: { maxRecordSize: '64KiB' } });
  try {
    const src = path.join(work, 'small-limit.bin');
    fs.writeFileSync(src, crypto.randomBytes(4 * MiB));
    const up = await run('nfs-cp', [src, small.server.url('small-limit.bin')], 60_000);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(await sha256File(path.join(small.dir, 'small-limit.bin')), await sha256File(src));
    await small.server.flushJournal();
    const counts = small.server.journal!.query({ proc: 'WRITE', limit: 10_000 }).map((r) => r.count!);
    assert.ok(counts.length >= 4 * MiB / (60 * 1024), `${counts.length} WRITEs`);
    assert.ok(Math.max(...counts) <= 60 * 1024, `largest WRITE ${Math.max(...counts)}`);
    assert.deepEqual(small.logLines.filter((l) => l.includes('RM_OVERSIZE')), [], 'no connection was closed for an oversize record');
    const back = path.join(work, 'small-limit-back.bin');
    const down = await run('nfs-cp', [small.server.url('small-limit.bin'), back], 60_000);
    assert.equal(down.code, 0, down.stderr);
    assert.equal(await sha256File(back), await sha256File(src));
    fs.rmSync(src);
    fs.rmSync(back);
  } finally {
    await small.cleanup();
  }
});
