// The NFSv3 client API against real servers (ours and nfs-ganesha): every procedure family round-trips, an NFS
// status is a result value, MOUNT EXPORT and PORTMAP GETPORT answer, large ranges split into wsize/rsize calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { mount, pmapGetport, type NfsMount } from '../client/nfs3';
import { silentLogger } from '../core/log';
import { startGanesha, ganeshaMissing } from '../lab/peers/ganesha';
import { ACCESS3, FTYPE3, NFS_PROGRAM, NFS_V3, NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { testServer } from '../testing/server-rpc';
import { MOUNT_PROGRAM, MOUNT_V3 } from '../xdr/mount';

/** One walk through the API; `dir` is the export's local directory, to check effects on disk. */
async function exercise(m: NfsMount, dir: string, tag: string): Promise<void> {
  const nfs = m.nfs;
  await nfs.null();
  const info = await nfs.fsinfo({ fsroot: m.root });
  assert.equal(info.status, 0);
  const missing = await nfs.lookupPath(m.root, `nope-${tag}/x`);
  assert.equal(missing.status, NFSSTAT3.NFS3ERR_NOENT, 'an NFS status is a result, not an exception');

  const mk = await nfs.mkdir({ where: { dir: m.root, name: `d-${tag}` }, attributes: { mode: 0o755 } });
  assert.equal(mk.status, 0);
  const d = await nfs.lookupPath(m.root, `d-${tag}`);
  assert.ok('fh' in d);
  const f = await nfs.createFile(d.fh, 'f.bin');
  assert.ok('fh' in f);

  const data = Buffer.alloc(300_000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  const w = await nfs.writeRange(f.fh, 0n, data, { wsize: 64 << 10, stable: STABLE_HOW.UNSTABLE });
  assert.equal(w.status, 0);
  assert.equal(w.count, data.length);
  assert.equal(w.calls, 5);
  const c = await nfs.commit({ file: f.fh, offset: 0n, count: 0 });
  assert.equal(c.status, 0);
  const r = await nfs.readRange(f.fh, 0n, data.length + 1000, { rsize: 32 << 10 });
  assert.equal(r.status, 0);
  assert.ok(r.data.equals(data), 'read back what was written');
  assert.ok(fs.readFileSync(path.join(dir, `d-${tag}`, 'f.bin')).equals(data));

  const ga = await nfs.getattr({ object: f.fh });
  assert.ok(ga.status === 0 && ga.objAttributes.size === BigInt(data.length) && ga.objAttributes.type === FTYPE3.NF3REG);
  const sa = await nfs.setattr({ object: f.fh, newAttributes: { size: 1000n } });
  assert.equal(sa.status, 0);
  const ac = await nfs.access({ object: f.fh, access: ACCESS3.READ | ACCESS3.MODIFY });
  assert.equal(ac.status, 0);
  assert.equal((await nfs.fsstat({ fsroot: m.root })).status, 0);
  assert.equal((await nfs.pathconf({ object: m.root })).status, 0);

  const sl = await nfs.symlink({ where: { dir: d.fh, name: 'ln' }, symlink: { attributes: {}, data: 'f.bin' } });
  assert.equal(sl.status, 0);
  const slfh = await nfs.lookupPath(d.fh, 'ln');
  assert.ok('fh' in slfh);
  const rl = await nfs.readlink({ symlink: slfh.fh });
  assert.ok(rl.status === 0 && rl.data === 'f.bin');
  assert.equal((await nfs.link({ file: f.fh, link: { dir: d.fh, name: 'hard' } })).status, 0);
  assert.equal((await nfs.rename({ from: { dir: d.fh, name: 'hard' }, to: { dir: d.fh, name: 'hard2' } })).status, 0);

  const rd = await nfs.readdir({ dir: d.fh, cookie: 0n, cookieverf: Buffer.alloc(8), count: 4096 });
  assert.ok(rd.status === 0);
  const rdp = await nfs.readdirplus({ dir: d.fh, cookie: 0n, cookieverf: Buffer.alloc(8), dircount: 4096, maxcount: 32768 });
  assert.ok(rdp.status === 0);
  assert.deepEqual(rd.entries.map((e) => e.name).filter((n) => !n.startsWith('.')).sort(), ['f.bin', 'hard2', 'ln']);
  assert.deepEqual(rdp.entries.map((e) => e.name).filter((n) => !n.startsWith('.')).sort(), ['f.bin', 'hard2', 'ln']);

  const notEmpty = await nfs.rmdir({ object: { dir: m.root, name: `d-${tag}` } });
  assert.equal(notEmpty.status, NFSSTAT3.NFS3ERR_NOTEMPTY);
  for (const n of ['f.bin', 'hard2', 'ln']) assert.equal((await nfs.remove({ object: { dir: d.fh, name: n } })).status, 0);
  assert.equal((await nfs.rmdir({ object: { dir: m.root, name: `d-${tag}` } })).status, 0);

  const exports = await m.mount.export();
  assert.ok(exports.some((e) => e.dir === '/export'));
}

test('NFSv3 API against our server (MOUNT and PORTMAP on the NFS port)', async () => {
  const { server: s, dir, cleanup } = await testServer({ logger: silentLogger, journal: undefined });
  try {
    const port = s.address.port;
    assert.equal(await pmapGetport('127.0.0.1', MOUNT_PROGRAM, MOUNT_V3, { port: s.portmapPort }), s.mountPort);
    const m = await mount({ host: '127.0.0.1', port, exportPath: s.exportPath, transport: { seed: 1 } });
    try {
      await exercise(m, dir, 'ours');
    } finally {
      await m.unmount();
    }
  } finally {
    await cleanup();
  }
});

test('NFSv3 API against nfs-ganesha (MOUNT on its own port, found through PORTMAP)', { skip: ganeshaMissing() }, async () => {
  const g = await startGanesha();
  try {
    assert.equal(await pmapGetport('127.0.0.1', NFS_PROGRAM, NFS_V3), g.port);
    const m = await mount({ host: g.host, port: g.port, portmap: true, exportPath: g.exportPath, transport: { seed: 2 } });
    try {
      assert.equal(m.mountPort, g.mountPort);
      await exercise(m, g.exportDir, 'ganesha');
    } finally {
      await m.unmount();
    }
  } finally {
    await g.stop();
  }
});
