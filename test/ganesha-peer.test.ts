// The reference server starts, serves a real libnfs client, and stops by PID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startGanesha, ganeshaMissing } from '../lab/peers/ganesha';
import { missingTools } from '../lab/peers/tools';

const skip = ganeshaMissing() ?? missingTools(['nfs-cp', 'libnfs-utils']);

test('nfs-ganesha peer serves nfs-cp and stops', { skip }, async () => {
  const g = await startGanesha();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-peer-'));
  try {
    const src = path.join(dir, 'src.bin');
    fs.writeFileSync(src, Buffer.alloc(100_000, 7));
    const r = spawnSync('nfs-cp', [src, g.url('peer-check.bin')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(fs.readFileSync(path.join(g.exportDir, 'peer-check.bin')), fs.readFileSync(src));
  } finally {
    await g.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
