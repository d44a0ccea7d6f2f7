// The READ floor (bench/read-floor.ts) is the yardstick that says what Node costs on READ before any NFS, so its
// two servers must do the work they claim, the same work: every call answered with the file's bytes at the offset
// asked, short at the end of the file, a count above 1 MiB refused by closing the connection. Run as the bench runs
// them: each its own process, driven by the floor's C client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { missingTools } from '../lab/peers/tools';
import { buildFloorProgram, floorCopy, startFloorServer } from '../bench/read-floor';

const noGcc = missingTools(['gcc', 'gcc']);

for (const kind of ['c', 'node'] as const) {
  test(`read floor (${kind}): the client's copy is the file byte for byte; a count above 1 MiB closes the connection`, { skip: noGcc }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-floor-'));
    const cServer = buildFloorProgram('server', dir);
    const client = buildFloorProgram('client', dir);
    // 3 MiB + 123 bytes: whole calls, then a short one at the end of the file.
    const data = crypto.randomBytes(3 * 1024 * 1024 + 123);
    const src = path.join(dir, 'src.bin');
    fs.writeFileSync(src, data);
    const s = await startFloorServer(src, kind === 'c' ? cServer : undefined);
    try {
      const port = Number(s.line.split(' ')[1]);
      const out = path.join(dir, 'copy.keep');
      // Calls of 1 MiB and of an odd size that does not divide the file, so offsets cross page phases.
      for (const call of [1024 * 1024, 300_001]) {
        floorCopy(client, port, data.length, call, 1, out);
        assert.ok(fs.readFileSync(out).equals(data), `copy in calls of ${call} bytes differs from the file`);
      }
      // Asking past the end is a short answer the client refuses: the server answered with what the file has.
      assert.throws(() => floorCopy(client, port, data.length + 5, 1024 * 1024, 1, out), /short reply at 3145728: 123 of 128 bytes/);
      const sock = net.connect(port, '127.0.0.1');
      await new Promise((r) => sock.once('connect', r));
      const closed = new Promise((r) => sock.once('close', r));
      sock.on('error', () => undefined);
      const req = Buffer.alloc(16);
      req.writeUInt32BE(1024 * 1024 + 1, 8);
      sock.write(req);
      await closed;
      // The server still answers the next connection.
      floorCopy(client, port, 4096, 4096, 1, out);
      assert.ok(fs.readFileSync(out).equals(data.subarray(0, 4096)));
    } finally {
      await s.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('read floor: the Node server and the C programs print usage and exit 2 on bad arguments', { skip: noGcc }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-floor-'));
  try {
    for (const [cmd, args] of [
      [process.execPath, [path.join(__dirname, '..', 'bench', 'read-floor', 'server.js')]],
      [buildFloorProgram('server', dir), []],
      [buildFloorProgram('client', dir), ['1']],
    ] as const) {
      const r = spawnSync(cmd, [...args], { encoding: 'utf8' });
      assert.equal(r.status, 2, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, /usage:/);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
