// Durability across a crash (RFC 1813 §3.3.7): kill -9 the server process in the middle of a FILE_SYNC write
// loop, restart it on the same export: every acknowledged FILE_SYNC write is on disk, the write verifier changed,
// and the old file handles still work (the handle secret is kept on disk). The journal database survives the
// kill (WAL): it is intact, lists every write acknowledged before a quiet spell longer than its 50 ms batch
// window, and every WRITE it says was executed is on disk with the data hash it recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { decodeReply } from '../xdr/message';
import { NFS3 } from '../xdr/nfs3/procs';
import { NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { fillPattern, verifyPattern } from '../core/pattern';
import { RawRpc, createFile, mountRoot } from '../testing/server-rpc';
import { spawnServer } from './support/cli';
import { DEFAULT_PAYLOAD_HASH, payloadHash } from '../core/payload-hash';

const BLOCK = 4096;

test('kill -9 during FILE_SYNC writes: every acknowledged write survives; the verifier changes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-durable-'));
  const exportDir = path.join(dir, 'export');
  fs.mkdirSync(exportDir);
  const journalFile = path.join(dir, 'journal.db');
  const args = ['--export', exportDir, '--state-dir', path.join(dir, 'state'), '--journal', journalFile];
  let first = await spawnServer(args);
  let second: Awaited<ReturnType<typeof spawnServer>> | undefined;
  try {
    const rpc = await RawRpc.connect(first.nfsPort);
    const root = await mountRoot(rpc);
    const fh = await createFile(rpc, root, 'durable.bin');
    const acked: number[] = [];
    let verf1: Buffer | undefined;
    let killed = false;
    let beforeQuiet: number[] | undefined;
    // Keep 4 FILE_SYNC writes in flight. After 40 acknowledgements, drain and pause (far longer than the
    // journal's 50 ms batch window); then resume and kill the server after 40 more, mid-stream.
    let block = 0;
    const inFlight = new Map<number, number>();
    const sendNext = () => {
      const xid = rpc.xid();
      const b = block++;
      inFlight.set(xid, b);
      rpc.send(RawRpc.message(NFS3.WRITE, { file: fh, offset: BigInt(b * BLOCK), count: BLOCK, stable: STABLE_HOW.FILE_SYNC, data: fillPattern(Buffer.alloc(BLOCK), b * BLOCK) }, xid));
    };
    for (let i = 0; i < 4; i++) sendNext();
    let seen = 2; // the MNT and CREATE replies came first
    while (!rpc.closed) {
      await new Promise((r) => setTimeout(r, 1));
      for (; seen < rpc.replies.length; seen++) {
        const rep = rpc.replies[seen];
        const xid = rep.readUInt32BE(0);
        const res = decodeReply(rep, NFS3.WRITE).res!;
        assert.equal(res.status, NFSSTAT3.NFS3_OK);
        const r = res as { committed: number; verf: Buffer };
        assert.equal(r.committed, STABLE_HOW.FILE_SYNC);
        verf1 ??= Buffer.from(r.verf);
        acked.push(inFlight.get(xid)!);
        inFlight.delete(xid);
        if (!killed && !(acked.length >= 40 && beforeQuiet === undefined)) sendNext();
      }
      if (acked.length >= 40 && beforeQuiet === undefined && inFlight.size === 0) {
        beforeQuiet = [...acked];
        await new Promise((r) => setTimeout(r, 1000));
        for (let i = 0; i < 4; i++) sendNext();
      }
      if (acked.length >= 80 && !killed) {
        killed = true;
        await first.stop('SIGKILL');
      }
    }
    assert.ok(acked.length >= 80, `only ${acked.length} acknowledged`);

    // The journal after kill -9, before anything reopens it: intact, and it says which writes executed.
    const db = new Database(journalFile, { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      const rows = db.prepare("SELECT xid, offset, count, outcome, status, committed, data_hash FROM journal WHERE proc = 'WRITE' AND path = 'durable.bin'").all() as Array<{ offset: number; count: number; outcome: string; status: number; committed: number; data_hash: string }>;
      const journaled = new Set(rows.filter((r) => r.outcome === 'executed' && r.status === 0).map((r) => r.offset / BLOCK));
      for (const b of beforeQuiet!) assert.ok(journaled.has(b), `block ${b}, acknowledged before the quiet spell, is in the journal`);
      const disk = fs.readFileSync(path.join(exportDir, 'durable.bin'));
      for (const r of rows) {
        assert.equal(r.committed, STABLE_HOW.FILE_SYNC);
        const onDisk = payloadHash(DEFAULT_PAYLOAD_HASH, disk.subarray(r.offset, r.offset + r.count));
        assert.equal(onDisk, r.data_hash, `journaled write at ${r.offset} is on disk as recorded`);
      }
      console.log(`kill -9: ${acked.length} FILE_SYNC writes acknowledged, ${rows.length} in the journal, ${beforeQuiet!.length} required`);
    } finally {
      db.close();
    }

    second = await spawnServer(args);
    const rpc2 = await RawRpc.connect(second.nfsPort);
    try {
      // The handle from before the crash still names the file.
      assert.equal((await rpc2.call(NFS3.GETATTR, { object: fh })).status, NFSSTAT3.NFS3_OK);
      const w = await rpc2.call(NFS3.WRITE, { file: fh, offset: BigInt(block * BLOCK), count: BLOCK, stable: STABLE_HOW.UNSTABLE, data: fillPattern(Buffer.alloc(BLOCK), block * BLOCK) });
      assert.equal(w.status, NFSSTAT3.NFS3_OK);
      assert.notDeepEqual((w as { verf: Buffer }).verf, verf1);
      // RFC 1813 §3.3.21: COMMIT answers with the new verifier too, so a client holding UNSTABLE data acknowledged
      // before the crash sees the change and resends it.
      const c = await rpc2.call(NFS3.COMMIT, { file: fh, offset: 0n, count: 0 });
      assert.equal(c.status, NFSSTAT3.NFS3_OK);
      assert.notDeepEqual((c as { verf: Buffer }).verf, verf1);
      assert.deepEqual((c as { verf: Buffer }).verf, (w as { verf: Buffer }).verf);
    } finally {
      rpc2.close();
    }
    const disk = fs.readFileSync(path.join(exportDir, 'durable.bin'));
    for (const b of acked) {
      const region = disk.subarray(b * BLOCK, (b + 1) * BLOCK);
      assert.equal(region.length, BLOCK, `block ${b} missing`);
      assert.deepEqual(verifyPattern(region, b * BLOCK, BLOCK), [], `block ${b} damaged`);
    }
  } finally {
    await first.stop('SIGKILL');
    if (second) assert.equal((await second.stop('SIGTERM')).code, 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
