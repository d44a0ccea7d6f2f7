// Durability across a crash (RFC 1813 §3.3.7): kill -9 the server process in the middle of a FILE_SYNC write
// loop, restart it on the same export: every acknowledged FILE_SYNC write is on disk, the write verifier changed,
// and the old file handles still work (the handle secret is kept on disk).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeReply } from '../xdr/message';
import { NFS3 } from '../xdr/nfs3/procs';
import { NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { fillPattern, verifyPattern } from '../lab/pattern';
import { RawRpc, createFile, mountRoot } from './support/server-rpc';
import { spawnServer } from './support/server-cli';

const BLOCK = 4096;

test('kill -9 during FILE_SYNC writes: every acknowledged write survives; the verifier changes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-durable-'));
  const exportDir = path.join(dir, 'export');
  fs.mkdirSync(exportDir);
  const args = ['--export', exportDir, '--state-dir', path.join(dir, 'state'), '--journal', path.join(dir, 'journal.db')];
  let first = await spawnServer(args);
  let second: Awaited<ReturnType<typeof spawnServer>> | undefined;
  try {
    const rpc = await RawRpc.connect(first.nfsPort);
    const root = await mountRoot(rpc);
    const fh = await createFile(rpc, root, 'durable.bin');
    const acked: number[] = [];
    let verf1: Buffer | undefined;
    let killed = false;
    // Keep 4 FILE_SYNC writes in flight; kill the server after 40 acknowledgements, mid-stream.
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
        if (!killed) sendNext();
      }
      if (acked.length >= 40 && !killed) {
        killed = true;
        await first.stop('SIGKILL');
      }
    }
    assert.ok(acked.length >= 40, `only ${acked.length} acknowledged`);

    second = await spawnServer(args);
    const rpc2 = await RawRpc.connect(second.nfsPort);
    try {
      // The handle from before the crash still names the file.
      assert.equal((await rpc2.call(NFS3.GETATTR, { object: fh })).status, NFSSTAT3.NFS3_OK);
      const w = await rpc2.call(NFS3.WRITE, { file: fh, offset: BigInt(block * BLOCK), count: BLOCK, stable: STABLE_HOW.UNSTABLE, data: fillPattern(Buffer.alloc(BLOCK), block * BLOCK) });
      assert.equal(w.status, NFSSTAT3.NFS3_OK);
      assert.notDeepEqual((w as { verf: Buffer }).verf, verf1);
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
