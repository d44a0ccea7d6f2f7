// Regression: with the DRC on but WRITE left out of --drc-procs, every WRITE is journalled `not-cached`. The rule
// "this row's payload reached the file" was written three times and two copies counted only `executed` and
// `payload-miss-executed`: a run wrote 4,096 bytes to disk while the journal row said not executed, and
// `inspect --journal` said nothing wrote them. One rule now (core/journal-schema.ts reachedFile) serves the
// server, the inspector and the reproduction's disk witness; this sends a scribbled duplicate through a real proxy
// capture and asks all of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspectFiles } from '../captures';
import { reachedFile } from '../core/journal-schema';
import { diskWitness } from '../lab/witnesses';
import { createProxy } from '../netem';
import { NFS3 } from '../xdr/nfs3/procs';
import { STABLE_HOW } from '../xdr/nfs3/constants';
import { RawRpc, createFile, mountRoot, testServer } from '../testing/server-rpc';

test('WRITE not in --drc-procs: the journal, the inspector and the disk witness all say the bytes reached the file', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-notcached-'));
  const journal = path.join(dir, 'journal.sqlite');
  const capture = path.join(dir, 'capture.pcap');
  const s = await testServer({ drc: { mode: 'checksum-256', procs: ['CREATE', 'REMOVE'] }, journal });
  // The server first (it writes the journal until it closes), then the folder its journal is in.
  t.after(async () => {
    await s.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const proxy = await createProxy({ upstream: s.server.address, capture });
  const rpc = await RawRpc.connect(proxy.address.port);
  const root = await mountRoot(rpc);
  const fh = await createFile(rpc, root, 'blktest.dat');
  // The same XID twice, the second copy scribbled (seed 000's duplicate): without a cache for WRITE both run.
  const xid = rpc.xid();
  const first = Buffer.alloc(4096);
  for (let i = 0; i < first.length; i += 4) first.writeUInt32BE(i / 4, i); // the blktest pattern of block 0
  const scribbled = Buffer.alloc(4096);
  for (let i = 0; i < scribbled.length; i += 4) scribbled.writeUInt32BE(0xdeadbeef, i);
  for (const [n, data] of [first, scribbled].entries()) {
    rpc.send(RawRpc.message(NFS3.WRITE, { file: fh, offset: 0n, count: data.length, stable: STABLE_HOW.FILE_SYNC, data }, xid));
    await rpc.waitFor(xid, n + 1);
  }
  rpc.close();
  await proxy.close();
  await s.server.flushJournal();

  assert.deepEqual(fs.readFileSync(path.join(s.dir, 'blktest.dat')), scribbled, 'both copies were written, the later one last');
  const rows = s.server.journal!.query({ proc: 'WRITE' });
  assert.deepEqual(rows.map((r) => [r.outcome, r.status]), [['not-cached', 0], ['not-cached', 0]]);
  assert.ok(rows.every(reachedFile), 'the journal says the payloads reached the file');
  assert.equal(s.server.stats().writeBytes, 2 * 4096);

  // The inspector joins the capture's duplicate with the journal: both copies executed, the file holds copy 2.
  const report = await inspectFiles([capture], { journal });
  const d = report.differingDuplicates.find((x) => Number(x.xid) === xid);
  assert.ok(d?.journal, JSON.stringify(report.differingDuplicates));
  assert.equal(d.journal.executed.length, 2, JSON.stringify(d.journal));
  assert.deepEqual(
    d.journal.blocks.map((b) => [b.from, b.to]),
    [[0, 4096]],
  );
  assert.equal(d.journal.blocks[0].transmission, d.journal.executed[1]);

  // The reproduction's disk witness explains the corrupt block by the executed scribbled WRITE.
  const disk = diskWitness({ file: path.join(s.dir, 'blktest.dat'), blockSize: 4096, journalRows: rows, payloadHash: s.server.journal!.payloadHash, scribbledXids: new Set([xid]) });
  assert.equal(disk.executedScribbled, 1);
  assert.equal(disk.corrupt.length, 1);
  assert.equal(disk.explained, 1);
});
