// --journal: duplicated WRITEs joined with the server's write journal (written here by server/journal.ts, the
// real producer of the schema): which transmission was executed and which copy the file's bytes hold.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { JournalOutcome, JournalRow } from '../core/journal-schema';
import { Journal } from '../server/journal';
import { inspectFiles } from '../captures/inspect';
import { CaptureError } from '../core/errors';
import { TcpConv, pcapFile, timed, LT, writeCall, writeReply, record, counter, fill32, FH } from '../testing/captures-builder';
import { runCli } from './support/cli';
import { DEFAULT_PAYLOAD_HASH, payloadHash } from '../core/payload-hash';

const XID = 0x0a0b0c0d;
const good = counter(8192, 2);
const bad = Buffer.concat([good.subarray(0, 2048), fill32(6144, 0xdeadbeef)]);
// Rows are hashed as the server hashes them by default (core/payload-hash.ts).
const hash = (b: Buffer) => payloadHash(DEFAULT_PAYLOAD_HASH, b);
let dir = '';
let capture = '';

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-journal-'));
  const c = new TcpConv();
  capture = path.join(dir, 'c.pcap');
  fs.writeFileSync(
    capture,
    pcapFile(
      timed([
        ...c.handshake(),
        ...c.clientSegments(record(writeCall(XID, 8192n, good)), 1448),
        c.fromServer(record(writeReply(XID, 8192))),
        ...c.clientSegments(record(writeCall(XID, 8192n, bad)), 1448),
        c.fromServer(record(writeReply(XID, 8192))),
      ]),
      { linktype: LT.ETHERNET },
    ),
  );
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

function row(xid: number, outcome: JournalOutcome, data: Buffer, offset: number, t: number): JournalRow {
  return {
    t_ms: t, instance: 'beef', conn: 1, client: '10.0.0.1:800', xid, proc: 'WRITE', outcome, status: outcome === 'replayed' || outcome === 'executed' ? 0 : null,
    fh: FH.toString('hex'), path: 'f', name: null, offset, count: data.length, stable: 0, committed: outcome === 'executed' ? 0 : null,
    data_hash: hash(data), head_hex: data.subarray(0, 16).toString('hex'),
  };
}

function journalWith(name: string, rows: JournalRow[]): string {
  const file = path.join(dir, name);
  const j = new Journal(file);
  for (const r of rows) j.add(r);
  j.close();
  return file;
}

test('no duplicate request cache: both copies executed, the file holds the later (0xdeadbeef) one', async () => {
  const file = journalWith('nodrc.db', [row(XID, 'executed', good, 8192, 1), row(XID, 'executed', bad, 8192, 2)]);
  const r = await inspectFiles([capture], { journal: file });
  const j = r.differingDuplicates[0].journal!;
  assert.deepEqual(j.rows.map((x) => [x.outcome, x.transmission]), [['executed', 1], ['executed', 2]]);
  assert.deepEqual(j.executed, [1, 2]);
  assert.deepEqual(j.blocks, [{ from: 8192, to: 16384, transmission: 2, xid: '0x0a0b0c0d', rowId: 2 }]);
});

test('with a DRC the retransmission is replayed: the file keeps copy 1, except where another write covered it', async () => {
  const other = fill32(4096, 0x11111111);
  const file = journalWith('drc.db', [row(XID, 'executed', good, 8192, 1), row(XID, 'replayed', bad, 8192, 2), row(0x99, 'executed', other, 12288, 3)]);
  const r = await inspectFiles([capture], { journal: file });
  const j = r.differingDuplicates[0].journal!;
  assert.deepEqual(j.executed, [1]);
  assert.deepEqual(j.blocks, [
    { from: 8192, to: 12288, transmission: 1, xid: '0x0a0b0c0d', rowId: 1 },
    { from: 12288, to: 16384, transmission: null, xid: '0x00000099', rowId: 3 },
  ]);
});

test('the CLI prints the join; a missing or foreign journal is a coded error', async () => {
  const file = journalWith('cli.db', [row(XID, 'executed', good, 8192, 1), row(XID, 'executed', bad, 8192, 2)]);
  const out = runCli(['inspect', capture, '--journal', file]);
  assert.equal(out.code, 3, out.err);
  assert.match(out.out, /bytes 8192-16384: copy #2/);
  await assert.rejects(inspectFiles([capture], { journal: path.join(dir, 'none.db') }), (e: CaptureError) => e.code === 'JOURNAL_OPEN');
  const foreign = path.join(dir, 'foreign.db');
  const Database = require('better-sqlite3');
  const db = new Database(foreign);
  db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); INSERT INTO meta VALUES ('schema_version', '99')");
  db.close();
  await assert.rejects(inspectFiles([capture], { journal: foreign }), (e: CaptureError) => e.code === 'JOURNAL_SCHEMA');
});
