// The admin API (hapi plugin) through server.inject: stats, DRC configuration and flush, the journal with its
// filters, and the verify endpoint that checks a file against the blktest counter pattern (core/pattern.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Hapi from '@hapi/hapi';
import { adminApiPlugin } from '../api/admin';
import { NFS3 } from '../xdr/nfs3/procs';
import { STABLE_HOW } from '../xdr/nfs3/constants';
import { fillDeadbeef, fillPattern, patternBlock, patternWord, verifyPattern } from '../core/pattern';
import { RawRpc, createFile, mountedServer, type MountedServer } from '../testing/server-rpc';

let t: MountedServer;
let api: Hapi.Server;
let rpc: RawRpc;
let root: Buffer;

before(async () => {
  t = await mountedServer();
  ({ rpc, root } = t);
  api = Hapi.server();
  await api.register({ plugin: adminApiPlugin, options: { server: t.server } });
});
after(() => t.cleanup());

const json = async (method: string, url: string, payload?: object) => {
  const r = await api.inject({ method, url, payload });
  return { status: r.statusCode, body: JSON.parse(r.payload) };
};

describe('stats and DRC configuration', () => {
  test('GET /stats counts operations per procedure, bytes and DRC counters', async () => {
    const fh = await createFile(rpc, root, 'stats.bin');
    await rpc.call(NFS3.WRITE, { file: fh, offset: 0n, count: 100, stable: STABLE_HOW.UNSTABLE, data: Buffer.alloc(100) });
    const { status, body } = await json('GET', '/stats');
    assert.equal(status, 200);
    assert.equal(body.ops['MOUNT.MNT'], 1);
    assert.equal(body.ops['NFS.WRITE'], 1);
    assert.equal(body.writeBytes, 100);
    assert.equal(body.drc.mode, 'checksum-256');
    assert.ok(body.drc.misses >= 2);
    assert.equal(body.verifier, t.server.verifier.toString('hex'));
  });

  test('GET and PUT /drc change the running configuration; bad values are 400 with a code', async () => {
    assert.equal((await json('GET', '/drc')).body.config.mode, 'checksum-256');
    const put = await json('PUT', '/drc', { mode: 'xid', inProgress: 'wait', expiryMs: '30s', size: 10 });
    assert.equal(put.status, 200);
    assert.deepEqual([put.body.config.mode, put.body.config.inProgress, put.body.config.expiryMs, put.body.config.size], ['xid', 'wait', 30000, 10]);
    assert.equal(t.server.drc.config.mode, 'xid');
    const bad = await json('PUT', '/drc', { mode: 'sometimes' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'BAD_DRC');
    assert.equal((await json('PUT', '/drc', { mode: 'checksum-256', inProgress: 'drop', expiryMs: 120000, size: 1024 })).status, 200);
  });

  test('POST /drc/flush empties the cache: the next duplicate executes again', async () => {
    const fh = await createFile(rpc, root, 'flush.bin');
    const xid = rpc.xid();
    const msg = RawRpc.message(NFS3.WRITE, { file: fh, offset: 0n, count: 8, stable: STABLE_HOW.FILE_SYNC, data: Buffer.alloc(8, 1) }, xid);
    rpc.send(msg);
    await rpc.waitFor(xid);
    const f = await json('POST', '/drc/flush');
    assert.ok(f.body.flushed >= 2);
    assert.equal(f.body.counters.entries, 0);
    rpc.send(msg);
    await rpc.waitFor(xid, 2);
    assert.deepEqual(t.server.journal!.query({ xid }).map((r) => r.outcome), ['executed', 'executed']);
  });
});

describe('GET /journal', () => {
  test('filters by xid, file and time', async () => {
    const t0 = Date.now();
    const fh = await createFile(rpc, root, 'j.bin');
    const xid = rpc.xid();
    const data = Buffer.from('0123456789abcdefXYZ');
    await rpc.call(NFS3.WRITE, { file: fh, offset: 4096n, count: data.length, stable: STABLE_HOW.DATA_SYNC, data }, xid);
    await t.server.flushJournal(); // the row is queued after the reply
    const byXid = await json('GET', `/journal?xid=${xid}`);
    assert.equal(byXid.body.count, 1);
    const row = byXid.body.rows[0];
    assert.deepEqual(
      [row.proc, row.outcome, row.status, row.path, row.offset, row.count, row.stable, row.committed, row.head_hex],
      ['WRITE', 'executed', 0, 'j.bin', 4096, 19, 1, 1, data.subarray(0, 16).toString('hex')],
    );
    assert.equal(row.fh, fh.toString('hex'));
    assert.match(row.client, /^127\.0\.0\.1:\d+$/);
    const byFile = await json('GET', '/journal?file=j.bin');
    assert.deepEqual(byFile.body.rows.map((r: { proc: string }) => r.proc), ['WRITE']);
    const create = await json('GET', `/journal?proc=CREATE&since=${t0}`);
    assert.deepEqual(create.body.rows.map((r: { name: string }) => r.name), ['j.bin']);
    assert.equal((await json('GET', `/journal?xid=${xid}&until=${t0 - 1}`)).body.count, 0);
    assert.equal((await json('GET', '/journal?xid=notanumber')).status, 400);
  });
});

describe('GET /verify and the blktest counter pattern', () => {
  test('the pattern: the 32-bit big-endian word at byte offset o is o / 4, whatever the block size', () => {
    const b = patternBlock(3, 16);
    assert.deepEqual(b, Buffer.from('0000000c0000000d0000000e0000000f', 'hex'));
    assert.equal(patternWord(4 * 0x12345), 0x12345);
    assert.deepEqual(fillPattern(Buffer.alloc(64), 0), Buffer.concat([patternBlock(0, 32), patternBlock(1, 32)]));
    assert.deepEqual(verifyPattern(fillPattern(Buffer.alloc(8192), 8192), 8192, 512), []);
  });

  test('a clean file verifies; a block overwritten with 0xdeadbeef is listed', async () => {
    const B = 4096;
    const file = Buffer.alloc(8 * B);
    fillPattern(file, 0);
    fs.writeFileSync(path.join(t.dir, 'clean.bin'), file);
    const clean = await json('GET', '/verify?file=clean.bin&blockSize=4096');
    assert.deepEqual([clean.status, clean.body.ok, clean.body.blocks, clean.body.corruptBlocks], [200, true, 8, 0]);

    fillDeadbeef(file.subarray(5 * B + 64, 6 * B)); // the seed: a retransmission carried the reused buffer
    fs.writeFileSync(path.join(t.dir, 'bad.bin'), file);
    const bad = await json('GET', '/verify?file=bad.bin&blockSize=4096');
    assert.equal(bad.body.ok, false);
    assert.equal(bad.body.corruptBlocks, 1);
    const c = bad.body.corrupt[0];
    assert.deepEqual([c.block, c.offset, c.firstBadOffset, c.found, c.expected, c.badWords, c.deadbeefWords], [5, 5 * B, 5 * B + 64, 'deadbeef', ((5 * B + 64) / 4).toString(16).padStart(8, '0'), (B - 64) / 4, (B - 64) / 4]);
  });

  test('verify refuses paths outside the export and symlinks', async () => {
    fs.symlinkSync('/etc/passwd', path.join(t.dir, 'pw'));
    for (const file of ['../outside', 'pw', '/etc/passwd', 'missing.bin']) {
      const r = await json('GET', `/verify?file=${encodeURIComponent(file)}`);
      assert.ok(r.status === 400 || r.status === 404, `${file}: ${r.status}`);
    }
  });
});
