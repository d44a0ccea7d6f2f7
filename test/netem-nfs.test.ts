// netem between our NFS client and our NFS server: dropping the reply to the 2nd WRITE makes the client
// retransmit after timeo and the server's duplicate request cache replay the cached reply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mount } from '../client/nfs3';
import { silentLogger } from '../core/log';
import { createProxy } from '../netem';
import { startServer } from '../server/index';
import { STABLE_HOW } from '../xdr/nfs3/constants';

test('drop-reply on the 2nd WRITE: our client retransmits, our server replays from its DRC', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-nfs-'));
  const cleanup: Array<() => unknown> = [() => fs.rmSync(dir, { recursive: true, force: true })];
  // LIFO: unmount, then the proxy, then the server (which waits for its connections), then the directory.
  t.after(async () => {
    for (const c of cleanup.reverse()) await c();
  });
  // timeo 60 s at 1/50: the dropped reply costs 1.2 s. At 1/1000 (60 ms) a loaded machine answered some WRITEs later
  // than timeo: the spurious retransmissions renumbered the proxy's calls (no drop, or one more WRITE than counted).
  const scale = 0.02;
  const server = await startServer({ exportDir: dir, logger: silentLogger, timeScale: scale, stateDir: path.join(dir, '.state') });
  cleanup.push(() => server.close());
  const proxy = await createProxy({
    upstream: { host: '127.0.0.1', port: server.address.port },
    timeScale: scale,
    faults: [{ kind: 'drop-reply', call: { proc: 'WRITE', nth: 2 } }],
  });
  cleanup.push(() => proxy.close());
  // MOUNT goes over the NFS port by default, so the whole conversation crosses the proxy.
  const m = await mount({ host: '127.0.0.1', port: proxy.address.port, exportPath: server.exportPath, transport: { timeScale: scale, logger: silentLogger } });
  cleanup.push(() => m.unmount());
  const f = await m.nfs.createFile(m.root, 'dropped.bin');
  assert.ok('fh' in f);
  const data = Buffer.alloc(4 * 32768);
  for (let i = 0; i < data.length; i++) data[i] = i % 251;
  const w = await m.nfs.writeRange(f.fh, 0n, data, { wsize: 32768, stable: STABLE_HOW.FILE_SYNC });
  assert.equal(w.status, 0);
  assert.equal(w.count, data.length);
  const drops = proxy.events.filter((e) => e.event === 'drop-reply');
  assert.equal(drops.length, 1);
  assert.ok(w.xids.includes(drops[0].xid as number));
  assert.ok((server.stats().outcomes.replayed ?? 0) >= 1, JSON.stringify(server.stats().outcomes));
  assert.ok(m.nfs.rpc.stats.retransmissions >= 1);
  assert.equal(proxy.metrics().upstreamDir.calls.WRITE, 4 + m.nfs.rpc.stats.retransmissions);
  assert.ok(fs.readFileSync(path.join(dir, 'dropped.bin')).equals(data));
});
