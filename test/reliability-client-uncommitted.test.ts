// The client's record of uncommitted writes (RFC 1813 §3.3.7, §3.3.21), sans IO: what a COMMIT makes durable, what
// a changed verifier sends back to be written again; and the blktest CLI's --commit-every with its JSON counters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UncommittedWrites } from '../client/nfs3';
import { STABLE_HOW } from '../xdr/nfs3/constants';
import { spawnServer, runCliAsync } from './support/cli';

const FH = Buffer.from('0102030405060708', 'hex');
const OTHER = Buffer.from('0a0b0c0d', 'hex');
const V1 = Buffer.from('1111111111111111', 'hex');
const V2 = Buffer.from('2222222222222222', 'hex');
const offsets = (rs: Array<{ offset: bigint }>) => rs.map((r) => r.offset).sort((a, b) => (a < b ? -1 : 1));

test('a COMMIT with the verifier the writes got makes them durable: nothing is left', () => {
  const u = new UncommittedWrites();
  u.written(FH, 0n, 4096, STABLE_HOW.UNSTABLE, V1);
  u.written(FH, 4096n, 4096, STABLE_HOW.DATA_SYNC, V1);
  assert.equal(u.pendingBytes(FH), 8192, 'UNSTABLE and DATA_SYNC both wait for a COMMIT');
  assert.deepEqual(u.committed(FH, u.ranges(FH), V1), []);
  assert.equal(u.pendingBytes(FH), 0);
  assert.equal(u.verifierChanges, 0);
});

test('FILE_SYNC writes are not tracked, and one over an uncommitted range supersedes it', () => {
  const u = new UncommittedWrites();
  u.written(FH, 0n, 4096, STABLE_HOW.FILE_SYNC, V1);
  assert.equal(u.pendingBytes(FH), 0);
  u.written(FH, 0n, 4096, STABLE_HOW.UNSTABLE, V1);
  u.written(FH, 0n, 4096, STABLE_HOW.FILE_SYNC, V1);
  assert.equal(u.pendingBytes(FH), 0);
});

test('a COMMIT with another verifier returns the writes made before it, and keeps them until rewritten', () => {
  const u = new UncommittedWrites();
  u.written(FH, 0n, 4096, STABLE_HOW.UNSTABLE, V1);
  u.written(FH, 4096n, 4096, STABLE_HOW.UNSTABLE, V1);
  u.written(OTHER, 0n, 100, STABLE_HOW.UNSTABLE, V1);
  u.written(FH, 8192n, 4096, STABLE_HOW.UNSTABLE, V2); // written after the restart
  assert.equal(u.verifierChanges, 1, 'the WRITE reply with V2 is a change');
  const lost = u.committed(FH, u.ranges(FH), V2);
  assert.deepEqual(offsets(lost), [0n, 4096n], 'only the writes with the old verifier are lost');
  assert.equal(u.pendingBytes(FH), 8192, 'lost ranges stay until written again');
  u.written(FH, 0n, 4096, STABLE_HOW.UNSTABLE, V2);
  u.written(FH, 4096n, 4096, STABLE_HOW.UNSTABLE, V2);
  assert.deepEqual(u.committed(FH, u.ranges(FH), V2), []);
  assert.equal(u.pendingBytes(FH), 0);
  assert.equal(u.pendingBytes(OTHER), 100, 'another file is committed separately');
  assert.equal(u.verifierChanges, 1);
});

test('a range written again while a COMMIT was in flight waits for the next COMMIT', () => {
  const u = new UncommittedWrites();
  u.written(FH, 0n, 4096, STABLE_HOW.UNSTABLE, V1);
  const covered = u.ranges(FH);
  u.written(FH, 0n, 4096, STABLE_HOW.UNSTABLE, V2); // its reply came after the COMMIT was sent
  u.written(FH, 4096n, 4096, STABLE_HOW.UNSTABLE, V1);
  assert.deepEqual(u.committed(FH, covered, V1), [], 'the superseded range is not resent');
  assert.deepEqual(offsets(u.ranges(FH)), [0n, 4096n]);
});

const cli = (args: string[]) => runCliAsync(args);

test('CLI: blktest --commit-every commits during the loop and reports the resend counters in --json', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-rel-commit-'));
  fs.mkdirSync(path.join(dir, 'export'));
  const server = await spawnServer(['--export', path.join(dir, 'export'), '--state-dir', path.join(dir, 'state')]);
  try {
    const base = ['blktest', '--server', `127.0.0.1:${server.nfsPort}`, '--file', 'every.bin', '--count', '12', '--block-size', '64KiB', '--wsize', '16KiB', '--json'];
    const r = await cli([...base, '--commit-every', '4']);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.equal(doc.ok, true);
    assert.equal(doc.commits, 12 / 4 + 1, 'after writes 4, 8, 12, and the final one');
    assert.equal(doc.verifierChanges, 0);
    assert.equal(doc.resentBlocks, 0);
    assert.deepEqual(doc.resentBlockIndices, []);
    const atEnd = JSON.parse((await cli(base)).out);
    assert.equal(atEnd.commits, 1, 'default: one COMMIT at the end');
    const bad = await cli([...base, '--commit-every', '0']);
    assert.equal(bad.code, 2);
  } finally {
    await server.stop('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
