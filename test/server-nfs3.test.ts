// NFSv3 procedures on a real directory, one behaviour per test as RFC 1813 §3.3 states it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MOUNT3 } from '../xdr/mount';
import { NFS3 } from '../xdr/nfs3/procs';
import { ACCESS3, FTYPE3, NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { encodeAuthSys } from '../xdr/rpc';
import { decodeReply, encodeCall } from '../xdr/message';
import { RawRpc, createFile, mountedServer, type MountedServer } from '../testing/server-rpc';

let t: MountedServer;
let rpc: RawRpc;
let root: Buffer;
before(async () => {
  t = await mountedServer();
  ({ rpc, root } = t);
});
after(() => t.cleanup());

const ok = <T extends { status: number }>(r: T): T & { status: 0 } => {
  assert.equal(r.status, NFSSTAT3.NFS3_OK);
  return r as T & { status: 0 };
};

test('§3.3.19 FSINFO advertises rtmax = wtmax = 1 MiB', async () => {
  const r = ok(await rpc.call(NFS3.FSINFO, { fsroot: root })) as { rtmax: number; wtmax: number };
  assert.deepEqual([r.rtmax, r.wtmax], [1 << 20, 1 << 20]);
  ok(await rpc.call(NFS3.FSSTAT, { fsroot: root }));
  assert.equal((ok(await rpc.call(NFS3.PATHCONF, { object: root })) as { nameMax: number }).nameMax, 255);
});

test('§3.3.7/§3.3.21 WRITE and COMMIT carry the same verifier; READ returns the data and eof', async () => {
  const fh = await createFile(rpc, root, 'rw.bin');
  const data = Buffer.from('hello, world');
  const w = ok(await rpc.call(NFS3.WRITE, { file: fh, offset: 0n, count: data.length, stable: STABLE_HOW.UNSTABLE, data })) as { verf: Buffer; committed: number; count: number };
  assert.deepEqual([w.count, w.committed], [data.length, STABLE_HOW.UNSTABLE]);
  const c = ok(await rpc.call(NFS3.COMMIT, { file: fh, offset: 0n, count: 0 })) as { verf: Buffer };
  assert.deepEqual(c.verf, w.verf);
  assert.deepEqual(c.verf, t.server.verifier);
  const r = ok(await rpc.call(NFS3.READ, { file: fh, offset: 7n, count: 100 })) as { data: Buffer; eof: boolean; count: number };
  assert.deepEqual([r.data.toString(), r.eof, r.count], ['world', true, 5]);
  const mid = ok(await rpc.call(NFS3.READ, { file: fh, offset: 0n, count: 5 })) as { eof: boolean };
  assert.equal(mid.eof, false);
});

test('§3.3.2 SETATTR with a stale guard is NFS3ERR_NOT_SYNC; with the right ctime it applies', async () => {
  const fh = await createFile(rpc, root, 'guard.bin');
  const attrs = (ok(await rpc.call(NFS3.GETATTR, { object: fh })) as { objAttributes: { ctime: { seconds: number; nseconds: number } } }).objAttributes;
  const stale = await rpc.call(NFS3.SETATTR, { object: fh, newAttributes: { mode: 0o600 }, guard: { seconds: attrs.ctime.seconds - 10, nseconds: 0 } });
  assert.equal(stale.status, NFSSTAT3.NFS3ERR_NOT_SYNC);
  ok(await rpc.call(NFS3.SETATTR, { object: fh, newAttributes: { mode: 0o600, size: 3n }, guard: attrs.ctime }));
  const st = fs.statSync(path.join(t.dir, 'guard.bin'));
  assert.deepEqual([st.mode & 0o777, st.size], [0o600, 3]);
});

test('§3.3.8 CREATE GUARDED on an existing name is NFS3ERR_EXIST; UNCHECKED reuses it', async () => {
  await createFile(rpc, root, 'g.bin');
  const g = await rpc.call(NFS3.CREATE, { where: { dir: root, name: 'g.bin' }, how: { mode: 1, attributes: {} } });
  assert.equal(g.status, NFSSTAT3.NFS3ERR_EXIST);
  ok(await rpc.call(NFS3.CREATE, { where: { dir: root, name: 'g.bin' }, how: { mode: 0, attributes: {} } }));
});

test('§3.3.9-§3.3.15 MKDIR, SYMLINK, LINK, RENAME, RMDIR (NOTEMPTY), REMOVE', async () => {
  const d = (ok(await rpc.call(NFS3.MKDIR, { where: { dir: root, name: 'dir' }, attributes: { mode: 0o750 } })) as { obj: Buffer }).obj;
  const f = await createFile(rpc, d, 'inner');
  ok(await rpc.call(NFS3.SYMLINK, { where: { dir: d, name: 'sl' }, symlink: { attributes: {}, data: 'inner' } }));
  assert.equal(fs.readlinkSync(path.join(t.dir, 'dir', 'sl')), 'inner');
  ok(await rpc.call(NFS3.LINK, { file: f, link: { dir: root, name: 'hard' } }));
  assert.equal(fs.statSync(path.join(t.dir, 'hard')).nlink, 2);
  assert.equal((await rpc.call(NFS3.RMDIR, { object: { dir: root, name: 'dir' } })).status, NFSSTAT3.NFS3ERR_NOTEMPTY);
  ok(await rpc.call(NFS3.RENAME, { from: { dir: root, name: 'dir' }, to: { dir: root, name: 'moved' } }));
  // The handle of a file inside the renamed directory still works.
  ok(await rpc.call(NFS3.GETATTR, { object: f }));
  ok(await rpc.call(NFS3.REMOVE, { object: { dir: d, name: 'inner' } }));
  ok(await rpc.call(NFS3.REMOVE, { object: { dir: d, name: 'sl' } }));
  ok(await rpc.call(NFS3.RMDIR, { object: { dir: root, name: 'moved' } }));
  const mk = await rpc.call(NFS3.MKNOD, { where: { dir: root, name: 'fifo' }, what: { type: FTYPE3.NF3FIFO, attributes: {} } });
  assert.equal(mk.status, NFSSTAT3.NFS3ERR_NOTSUPP);
});

test('§3.3.16 READDIR pages with cookies; a changed directory refuses an old cookie verifier', async () => {
  const d = (ok(await rpc.call(NFS3.MKDIR, { where: { dir: root, name: 'list' }, attributes: {} })) as { obj: Buffer }).obj;
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(t.dir, 'list', `f${String(i).padStart(2, '0')}`), '');
  const names: string[] = [];
  let cookie = 0n;
  let verf: Buffer = Buffer.alloc(8);
  let pages = 0;
  for (;;) {
    const r = ok(await rpc.call(NFS3.READDIR, { dir: d, cookie, cookieverf: verf, count: 512 })) as { entries: Array<{ name: string; cookie: bigint }>; eof: boolean; cookieverf: Buffer };
    pages++;
    names.push(...r.entries.map((e) => e.name));
    verf = r.cookieverf;
    if (r.eof) break;
    cookie = r.entries[r.entries.length - 1].cookie;
  }
  assert.ok(pages > 1);
  assert.equal(names.length, 42);
  assert.deepEqual(names.slice(0, 3), ['.', '..', 'f00']);
  // The cookie verifier is the directory's mtime, whose clock ticks coarsely (current_time()): move it on explicitly.
  const before = fs.statSync(path.join(t.dir, 'list')).mtimeMs;
  fs.writeFileSync(path.join(t.dir, 'list', 'late'), '');
  fs.utimesSync(path.join(t.dir, 'list'), new Date(), new Date(before + 1000));
  const old = await rpc.call(NFS3.READDIR, { dir: d, cookie: 5n, cookieverf: verf, count: 512 });
  assert.equal(old.status, NFSSTAT3.NFS3ERR_BAD_COOKIE);
  const tiny = await rpc.call(NFS3.READDIR, { dir: d, cookie: 0n, cookieverf: Buffer.alloc(8), count: 50 });
  assert.equal(tiny.status, NFSSTAT3.NFS3ERR_TOOSMALL);
});

test('§3.3.4 ACCESS answers by the caller\'s AUTH_SYS identity and the mode bits', async () => {
  const fh = await createFile(rpc, root, 'private');
  fs.chmodSync(path.join(t.dir, 'private'), 0o600);
  const all = ACCESS3.READ | ACCESS3.MODIFY | ACCESS3.EXTEND | ACCESS3.EXECUTE;
  const asRoot = ok(await rpc.call(NFS3.ACCESS, { object: fh, access: all })) as { access: number };
  assert.equal(asRoot.access, ACCESS3.READ | ACCESS3.MODIFY | ACCESS3.EXTEND);
  const cred = encodeAuthSys({ stamp: 2, machinename: 'other', uid: 1000, gid: 1000, gids: [] });
  const xid = rpc.xid();
  rpc.send(Buffer.concat(encodeCall({ xid, cred }, NFS3.ACCESS, { object: fh, access: all })));
  const [rep] = await rpc.waitFor(xid);
  const res = decodeReply(rep, NFS3.ACCESS).res as { access: number };
  assert.equal(res.access, 0);
});

test('MOUNT: EXPORT lists the export, DUMP the mounts, UMNT removes one', async () => {
  const ex = await rpc.call(MOUNT3.EXPORT, undefined);
  assert.deepEqual(ex, [{ dir: '/export', groups: [] }]);
  const dump = await rpc.call(MOUNT3.DUMP, undefined);
  assert.deepEqual(dump, [{ hostname: 'testbed', directory: '/export' }]);
  await rpc.call(MOUNT3.UMNT, { dirpath: '/export' });
  assert.deepEqual(await rpc.call(MOUNT3.DUMP, undefined), []);
});
