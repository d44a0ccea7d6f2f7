// The server's descriptor cache (server/nfs3/fd-cache.ts) closes a file unused for --fd-idle, as Linux nfsd's file
// cache does: a file removed outside NFS must give its space back once nobody writes it, and a file still in use
// keeps its descriptor. Real sockets, real files; the descriptors are read from /proc/self/fd.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mount } from '../client/nfs3';
import { memoryLogger } from '../core/log';
import { STABLE_HOW } from '../xdr/nfs3/constants';
import { startServer } from '../server';

/** Paths this process holds open under `dir` (Linux: the link text of each /proc/self/fd entry). */
function openUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir + path.sep)) out.push(target);
    } catch {
      // closed between readdir and readlink
    }
  }
  return out;
}

test('fd cache: a file removed outside NFS is closed after --fd-idle; one in use stays open', { skip: !fs.existsSync('/proc/self/fd') && 'needs /proc/self/fd' }, async () => {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-fdidle-')));
  // fdIdle 2s scaled by 0.05 = 100 ms real: the same modelled setting as the default, fast.
  const s = await startServer({ exportDir: dir, stateDir: `${dir}.state`, timeScale: 0.05, fdIdle: '2s', logger: memoryLogger() });
  const m = await mount({ host: '127.0.0.1', port: s.address.port, exportPath: s.exportPath, transport: { seed: 3 } });
  try {
    const files = ['gone.bin', 'kept.bin'];
    const fhs: Buffer[] = [];
    for (const name of files) {
      const c = await m.nfs.createFile(m.root, name);
      assert.ok('fh' in c);
      fhs.push(c.fh);
      const w = await m.nfs.write({ file: c.fh, offset: 0n, count: 4096, stable: STABLE_HOW.FILE_SYNC, data: Buffer.alloc(4096, 7) });
      assert.equal(w.status, 0);
    }
    await s.drainWrites();
    assert.deepEqual(openUnder(dir).sort(), files.map((f) => path.join(dir, f)).sort(), 'both files cached open after their WRITEs');

    fs.rmSync(path.join(dir, 'gone.bin')); // behind the server's back: only closing the descriptor frees it
    assert.ok(openUnder(dir).some((t) => t.includes('gone.bin') && t.endsWith('(deleted)')), 'the removed file is still held');
    // Keep kept.bin busy across several idle periods: it must stay open and keep working.
    const t0 = performance.now();
    while (performance.now() - t0 < 400) {
      const r = await m.nfs.read({ file: fhs[1], offset: 0n, count: 4096 });
      assert.equal(r.status, 0);
      await sleep(20);
    }
    assert.deepEqual(openUnder(dir), [path.join(dir, 'kept.bin')], 'the idle, removed file was closed; the busy one was not');
    await sleep(400);
    assert.deepEqual(openUnder(dir), [], 'an idle file is closed too');
    // A closed file is simply opened again on its next use.
    const r = await m.nfs.read({ file: fhs[1], offset: 0n, count: 4096 });
    assert.equal(r.status, 0);
    assert.ok(r.status === 0 && r.data.equals(Buffer.alloc(4096, 7)));
  } finally {
    await m.unmount();
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(`${dir}.state`, { recursive: true, force: true });
  }
});
