// Crash and restart under a running blktest (RFC 1813 §3.3.7, §3.3.21): the server CLI is killed with SIGKILL by
// PID mid-loop and restarted on the same port with the same --state-dir (file handles stay valid); the client's
// transport reconnects and replays what was in flight.
// - UNSTABLE + COMMIT: a real crash loses the page cache, a killed process does not, so between the kill and the
//   restart the test truncates the file at the last COMMIT: the blocks acknowledged since are gone from disk. The
//   client sees the new write verifier, writes exactly those blocks again, and the file verifies.
// - FILE_SYNC: every write acknowledged before the kill is on disk and reads back intact; nothing is resent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runBlktest, type BlktestOptions } from '../client/blktest';
import { fillPattern, verifyPattern } from '../core/pattern';
import { spawnServer, type ServerChild } from './support/cli';

const BLOCK = 64 << 10;

interface Crash {
  exportDir: string;
  port: number;
  /** SIGKILL the server by PID now, run `whileDown` (the server is gone), restart it on the same port */
  crash(whileDown: () => void): Promise<void>;
  close(): Promise<void>;
}

async function crashableServer(): Promise<Crash> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-rel-crash-'));
  const exportDir = path.join(dir, 'export');
  fs.mkdirSync(exportDir);
  const args = ['--export', exportDir, '--state-dir', path.join(dir, 'state')];
  let server: ServerChild = await spawnServer([...args, '--port', '0']);
  const port = server.nfsPort;
  return {
    exportDir,
    port,
    async crash(whileDown) {
      const exit = await server.stop('SIGKILL');
      assert.equal(exit.signal, 'SIGKILL');
      whileDown();
      server = await spawnServer([...args, '--port', String(port)]);
    },
    async close() {
      await server.stop('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const common = (port: number): Omit<BlktestOptions, 'file'> => ({
  host: '127.0.0.1', port, exportPath: '/export', blockSize: BLOCK, wsize: 16 << 10, seed: 8,
  // Reconnect backoff (3 s, doubling) and timeo in modelled time: a tenth of them keeps the outage short.
  timeScale: 0.1,
});

test('kill -9 during UNSTABLE writes: the new verifier makes the client resend every uncommitted block', { timeout: 60_000 }, async () => {
  const srv = await crashableServer();
  try {
    const COUNT = 120;
    const KILL_AT = 40;
    let lastCommit = 0;
    let down: Promise<void> | undefined;
    let truncatedTo = -1;
    let ackedBeforeKill = 0;
    let writesAfterRestart = 0;
    let restarted = false;
    const r = await runBlktest({
      ...common(srv.port), file: 'unstable.bin', count: COUNT, inflight: 1, stable: 'unstable', commitEvery: 16,
      onCommit: (writes) => (lastCommit = down ? lastCommit : writes),
      onProgress: (writes) => {
        if (restarted) writesAfterRestart++;
        if (writes !== KILL_AT) return;
        ackedBeforeKill = writes;
        down = srv.crash(() => {
          // Simulated loss of the page cache: everything written since the last COMMIT is gone.
          fs.truncateSync(path.join(srv.exportDir, 'unstable.bin'), lastCommit * BLOCK);
          truncatedTo = fs.statSync(path.join(srv.exportDir, 'unstable.bin')).size;
        }).then(() => void (restarted = true));
      },
    });
    await down;
    assert.equal(lastCommit, 32, 'COMMITs at 16 and 32 writes came before the kill');
    assert.equal(truncatedTo, lastCommit * BLOCK);
    assert.ok(writesAfterRestart > 0, 'the loop went on after the restart');
    assert.ok(r.reconnects >= 1);
    assert.ok(r.verifierChanges >= 1);
    // The read-back over NFS and the file on disk hold the pattern everywhere, the lost blocks included.
    assert.equal(r.corruptBlocks, 0, JSON.stringify(r.corrupt.slice(0, 3)));
    assert.equal(r.fileBytesRead, COUNT * BLOCK);
    assert.ok(fs.readFileSync(path.join(srv.exportDir, 'unstable.bin')).equals(fillPattern(Buffer.alloc(COUNT * BLOCK), 0)), 'the file on disk holds the pattern');
    // Blocks 32..39 were acknowledged with the old verifier and then lost: each of them was written again;
    // blocks committed before the crash were not.
    const lost = Array.from({ length: ackedBeforeKill - lastCommit }, (_, i) => lastCommit + i);
    for (const b of lost) assert.ok(r.resentBlockIndices.includes(b), `lost block ${b} was resent`);
    assert.ok(r.resentBlocks >= lost.length);
    assert.ok(r.resentBlockIndices.every((b) => b >= lastCommit), 'committed blocks are never resent');
    assert.ok(r.commits >= 2 + 1, 'the periodic COMMITs, and the final one');
    console.log(`unstable kill -9: ${ackedBeforeKill} writes acknowledged before the kill, ${lost.length} lost with the page cache, ${r.resentBlocks} block(s) resent, ${r.verifierChanges} verifier change(s), ${r.commits} COMMITs, ${r.replays} replays`);
  } finally {
    await srv.close();
  }
});

test('kill -9 during FILE_SYNC writes: every write acknowledged before the kill reads back intact, nothing resent', { timeout: 60_000 }, async () => {
  const srv = await crashableServer();
  try {
    const COUNT = 120;
    const KILL_AT = 40;
    const acked: number[] = [];
    let killed = false;
    let down: Promise<void> | undefined;
    let onDiskAtKill: Buffer | undefined;
    const r = await runBlktest({
      ...common(srv.port), file: 'sync.bin', count: COUNT, inflight: 2, stable: 'file_sync',
      onProgress: (writes, _total, block) => {
        if (killed) return;
        acked.push(block);
        if (writes !== KILL_AT) return;
        killed = true;
        down = srv.crash(() => (onDiskAtKill = fs.readFileSync(path.join(srv.exportDir, 'sync.bin'))));
      },
    });
    await down;
    assert.equal(acked.length, KILL_AT);
    // On disk while the server was dead: every acknowledged FILE_SYNC write is there.
    for (const b of acked) {
      const region = onDiskAtKill!.subarray(b * BLOCK, (b + 1) * BLOCK);
      assert.deepEqual(verifyPattern(region, b * BLOCK, BLOCK), [], `block ${b} intact on disk at the kill`);
    }
    assert.ok(r.reconnects >= 1);
    assert.ok(r.verifierChanges >= 1, 'the restarted server answers with a new verifier');
    assert.equal(r.committed, false, 'FILE_SYNC writes need no COMMIT');
    assert.equal(r.resentBlocks, 0, 'FILE_SYNC data is never resent');
    // blktest's read-back over NFS after the restart covers the blocks acknowledged before the kill and after.
    assert.equal(r.corruptBlocks, 0, JSON.stringify(r.corrupt.slice(0, 3)));
    assert.equal(r.fileBytesRead, COUNT * BLOCK);
    console.log(`file_sync kill -9: ${acked.length} writes acknowledged before the kill, all intact after the restart; ${r.replays} replays`);
  } finally {
    await srv.close();
  }
});
