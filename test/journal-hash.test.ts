// Issue 20: the journal identifies payloads with a fast hash (xxh3 by default; xxh64, the default before, and sha256
// on request), and the three
// that compare payloads by it (the server's journal, the inspector's journal join, the reproduction's disk
// witness) must agree. Two transmissions of one XID whose payloads differ only in their last byte go through a
// real proxy capture into a server with no DRC: each side must tell them apart, with either hash.
// Then the schema: a version 1 journal (data_sha256) is read by the inspector as it is, migrated by the server,
// which then refuses to mix another hash into it; a journal from a newer build is refused by both. Both fast hashes
// agree with the reference implementation's `xxhsum` (Debian's xxhash package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { inspectFiles } from '../captures';
import { JournalReader } from '../captures/journal';
import { fillPattern } from '../core/pattern';
import { PAYLOAD_HASH_NAMES, payloadHash } from '../core/payload-hash';
import { diskWitness } from '../lab/witnesses';
import { createProxy } from '../netem';
import { Journal } from '../server/journal';
import { NFS3 } from '../xdr/nfs3/procs';
import { STABLE_HOW } from '../xdr/nfs3/constants';
import { RawRpc, createFile, mountRoot, testServer } from '../testing/server-rpc';
import { runCli } from './support/cli';
import { missingTools } from '../lab/peers/tools';

for (const algo of PAYLOAD_HASH_NAMES) {
  test(`${algo}: the journal, the inspector and the disk witness tell apart two payloads that differ in their last byte`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-journal-hash-'));
    const journal = path.join(dir, 'journal.sqlite');
    const capture = path.join(dir, 'capture.pcap');
    const s = await testServer({ drc: { mode: 'off' }, journal, journalHash: algo });
    // The server first (it writes the journal until it closes), then the folder its journal is in.
    t.after(async () => {
      await s.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    const proxy = await createProxy({ upstream: s.server.address, capture });
    const rpc = await RawRpc.connect(proxy.address.port);
    const fh = await createFile(rpc, await mountRoot(rpc), 'blktest.dat');
    // 64 KiB: the record lands in a pooled SharedArrayBuffer, so sha256 takes the hasher's worker path too.
    const BLOCK = 64 * 1024;
    const first = fillPattern(Buffer.alloc(BLOCK), 0); // blktest's pattern of block 0
    const second = Buffer.from(first);
    second[second.length - 1] ^= 0x01;
    const xid = rpc.xid();
    for (const [n, data] of [first, second].entries()) {
      rpc.send(RawRpc.message(NFS3.WRITE, { file: fh, offset: 0n, count: data.length, stable: STABLE_HOW.FILE_SYNC, data }, xid));
      await rpc.waitFor(xid, n + 1);
    }
    rpc.close();
    await proxy.close();
    await s.server.flushJournal();

    // The server: two executed rows, each with the hash of its own payload.
    assert.equal(s.server.journal!.payloadHash, algo);
    const rows = s.server.journal!.query({ proc: 'WRITE' });
    assert.deepEqual(
      rows.map((r) => [r.outcome, r.data_hash]),
      [
        ['executed', payloadHash(algo, first)],
        ['executed', payloadHash(algo, second)],
      ],
    );
    assert.notEqual(rows[0].data_hash, rows[1].data_hash);

    // The inspector: each row is matched to its own transmission, and the file holds transmission 2.
    const report = await inspectFiles([capture], { journal });
    const d = report.differingDuplicates.find((x) => Number(x.xid) === xid);
    assert.ok(d?.journal, JSON.stringify(report.differingDuplicates));
    assert.deepEqual(d.journal.rows.map((r) => r.transmission), [1, 2]);
    assert.deepEqual(d.journal.executed, [1, 2]);
    assert.equal(d.journal.blocks[0].transmission, 2);

    // The disk witness: the second copy is not the pattern, and explains the corrupt block.
    const disk = diskWitness({ file: path.join(s.dir, 'blktest.dat'), blockSize: BLOCK, journalRows: rows, payloadHash: algo, scribbledXids: new Set() });
    assert.equal(disk.executedScribbled, 1);
    assert.deepEqual([...disk.executedScribbledXids], [xid]);
    assert.equal(disk.corrupt.length, 1);
    assert.equal(disk.explained, 1);
  });
}

/** A journal as the schema 1 server wrote it (server/journal.ts before issue 20), with one WRITE row. */
function schema1Journal(file: string, payload: Buffer): void {
  const db = new Database(file);
  db.exec(`
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta VALUES ('schema_version', '1');
    CREATE TABLE journal (
      id INTEGER PRIMARY KEY,
      t_ms REAL NOT NULL, instance TEXT NOT NULL, conn INTEGER NOT NULL, client TEXT NOT NULL,
      xid INTEGER NOT NULL, proc TEXT NOT NULL, outcome TEXT NOT NULL, status INTEGER,
      fh TEXT, path TEXT, name TEXT, offset INTEGER, count INTEGER, stable INTEGER, committed INTEGER,
      data_sha256 TEXT, head_hex TEXT
    );`);
  db.prepare(`INSERT INTO journal (t_ms, instance, conn, client, xid, proc, outcome, status, fh, path, name, offset, count, stable, committed, data_sha256, head_hex)
    VALUES (1, 'beef', 1, '127.0.0.1:800', 7, 'WRITE', 'executed', 0, 'aa', 'f', NULL, 0, ?, 2, 2, ?, ?)`).run(payload.length, payloadHash('sha256', payload), payload.subarray(0, 16).toString('hex'));
  db.close();
}

test('a schema 1 journal: read as it is, migrated by the server to schema 2 with sha256, never mixed with another hash', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-journal-schema-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'old.sqlite');
  const payload = fillPattern(Buffer.alloc(4096), 0);
  schema1Journal(file, payload);

  const reader = new JournalReader(file);
  assert.equal(reader.payloadHash, 'sha256');
  reader.close();

  // Another hash asked for: the file is migrated (its rows are sha256), then refused with the option that fits it.
  assert.throws(
    () => new Journal(file, undefined, undefined, undefined, 'xxh3'),
    (e: Error & { code?: string }) => e.code === 'JOURNAL_HASH' && /identifies payloads with sha256, not xxh3: run with --journal-hash sha256 \(or without the option\)/.test(e.message),
  );
  const db = new Database(file, { readonly: true });
  const meta = Object.fromEntries((db.prepare('SELECT key, value FROM meta').all() as Array<{ key: string; value: string }>).map((r) => [r.key, r.value]));
  assert.deepEqual(meta, { schema_version: '2', payload_hash: 'sha256' });
  assert.equal((db.prepare('SELECT data_hash FROM journal').get() as { data_hash: string }).data_hash, payloadHash('sha256', payload));
  db.close();

  // With sha256, or with no hash asked for (the journal's own), the server adds to it, and the inspector reads old
  // and new rows alike.
  const j = new Journal(file, undefined, undefined, undefined, 'sha256');
  assert.equal(j.query({ xid: 7 })[0].data_hash, payloadHash('sha256', payload));
  j.close();
  const own = new Journal(file);
  assert.equal(own.payloadHash, 'sha256');
  own.close();
  const again = new JournalReader(file);
  assert.equal(again.payloadHash, 'sha256');
  again.close();
});

test('a journal from a newer schema is refused by the server and the inspector, with what this build reads', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-journal-schema-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'new.sqlite');
  const db = new Database(file);
  db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); INSERT INTO meta VALUES ('schema_version', '99'); CREATE TABLE journal (id INTEGER PRIMARY KEY);");
  db.close();
  assert.throws(() => new Journal(file), (e: Error & { code?: string }) => e.code === 'BAD_JOURNAL' && /schema version 99 is newer/.test(e.message));
  assert.throws(() => new JournalReader(file), (e: Error & { code?: string }) => e.code === 'JOURNAL_SCHEMA' && /schema 99, this inspector reads 1 to 2/.test(e.message));
});

test('CLI: an unknown --journal-hash, or a journal holding another hash, is a usage error (exit 2)', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-journal-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const bad = runCli(['server', '--export', dir, '--state-dir', path.join(dir, 'state'), '--journal', path.join(dir, 'j.sqlite'), '--journal-hash', 'md5']);
  assert.equal(bad.code, 2, bad.err);
  assert.match(bad.err, /--journal-hash md5: one of xxh3, xxh64, sha256/);
  const old = path.join(dir, 'old.sqlite');
  schema1Journal(old, Buffer.alloc(16));
  const mixed = runCli(['server', '--export', dir, '--state-dir', path.join(dir, 'state'), '--journal', old, '--journal-hash', 'xxh64']);
  assert.equal(mixed.code, 2, mixed.err);
  assert.match(mixed.err, /run with --journal-hash sha256/);
});

test('without --journal-hash: a new journal gets xxh3, an existing one goes on with its own (xxh64 from before)', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-journal-default-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const meta = (file: string) => {
    const db = new Database(file, { readonly: true });
    const m = Object.fromEntries((db.prepare('SELECT key, value FROM meta').all() as Array<{ key: string; value: string }>).map((r) => [r.key, r.value]));
    db.close();
    return m;
  };
  const fresh = path.join(dir, 'fresh.sqlite');
  const a = new Journal(fresh);
  assert.equal(a.payloadHash, 'xxh3');
  a.close();
  assert.equal(meta(fresh).payload_hash, 'xxh3');
  const before = path.join(dir, 'before.sqlite');
  new Journal(before, undefined, undefined, undefined, 'xxh64').close();
  const b = new Journal(before);
  assert.equal(b.payloadHash, 'xxh64');
  b.close();
  assert.equal(meta(before).payload_hash, 'xxh64');
  assert.throws(() => new Journal(before, undefined, undefined, undefined, 'xxh3'), (e: Error & { code?: string }) => e.code === 'JOURNAL_HASH');
  // A hash this build does not know (a later build's): refused, never guessed.
  const db = new Database(before);
  db.prepare("UPDATE meta SET value = 'xxh5' WHERE key = 'payload_hash'").run();
  db.close();
  assert.throws(() => new Journal(before), (e: Error & { code?: string }) => e.code === 'JOURNAL_HASH' && /identifies payloads with xxh5, not one this build knows: it cannot be added to/.test(e.message));
});

// The reference: xxhsum 0.8 prints XXH64 with -H1 ("<hex>  <file>") and XXH3_64bits with -H3 ("XXH3 (<file>) = <hex>").
const XXHSUM_ALGO = { xxh64: '1', xxh3: '3' } as const;
test('xxh3 and xxh64 agree with xxhsum on payloads of every path (one-shot, streaming, 1 MiB, at an odd offset)', (t) => {
  const why = missingTools(['xxhsum', 'xxhash']);
  if (why) return t.skip(why);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-xxhsum-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Lengths on both sides of xxh3's 16/128/240-byte internal cases and of core/payload-hash.ts's 2 KiB switch.
  const sizes = [0, 1, 3, 16, 17, 128, 129, 240, 241, 2047, 2048, 2049, 65536 + 7, 1 << 20];
  const backing = crypto.randomBytes((1 << 20) + 200);
  const files = sizes.map((n, i) => {
    const f = path.join(dir, `p${i}`);
    fs.writeFileSync(f, backing.subarray(113, 113 + n)); // an odd offset, as a payload sits in its record
    return f;
  });
  for (const algo of ['xxh64', 'xxh3'] as const) {
    const r = spawnSync('xxhsum', [`-H${XXHSUM_ALGO[algo]}`, ...files], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const ref = r.stdout.trim().split('\n').map((l) => (l.includes(' = ') ? l.split(' = ').pop()! : l.split(/\s+/)[0]).trim());
    assert.equal(ref.length, sizes.length, r.stdout);
    const ours = sizes.map((n) => payloadHash(algo, backing.subarray(113, 113 + n)));
    assert.deepEqual(ours, ref, algo);
  }
});
