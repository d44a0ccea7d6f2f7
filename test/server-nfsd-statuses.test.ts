// Statuses this server answered differently from Linux nfsd (issue 15 items 6, 7, 10), each pinned to nfsd's:
// - a READ, READDIR or READDIRPLUS count above the largest reply is a short reply (nfsd3_proc_read and
//   nfsd3_init_dirlist_pages clamp it to svc_max_payload), not GARBAGE_ARGS;
// - MNT of an export whose directory was removed (or replaced) is MNT3ERR_NOENT, its old handles NFS3ERR_STALE,
//   not SYSTEM_ERR;
// - a sattr3 time with nseconds >= 10^9 is NFS3ERR_INVAL from SETATTR (and from the creates that carry one); a
//   guard with such a ctime never matches: NFS3ERR_NOT_SYNC.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { MOUNT3, MOUNTSTAT3 } from '../xdr/mount';
import { NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { NFS3 } from '../xdr/nfs3/procs';
import { MountedServer, createFile, mountedServer } from '../testing/server-rpc';
import { RTMAX } from '../server/nfs3/limits';

describe('counts above the largest reply are clamped, as nfsd does', () => {
  let m: MountedServer;
  before(async () => (m = await mountedServer()));
  after(() => m.cleanup());

  test('READ with count 4,259,840 and 2^32-1: NFS3_OK, at most rtmax bytes (was GARBAGE_ARGS)', async () => {
    const fh = await createFile(m.rpc, m.root, 'big');
    const data = Buffer.alloc(RTMAX + 4096, 0x5a);
    for (let off = 0; off < data.length; off += RTMAX) {
      const chunk = data.subarray(off, off + RTMAX);
      await m.rpc.call(NFS3.WRITE, { file: fh, offset: BigInt(off), count: chunk.length, stable: STABLE_HOW.FILE_SYNC, data: chunk });
    }
    for (const count of [4_259_840, 0xffffffff]) {
      const r = await m.rpc.call(NFS3.READ, { file: fh, offset: 0n, count });
      assert.equal(r.status, NFSSTAT3.NFS3_OK, `count ${count}`);
      const ok = r as { count: number; eof: boolean; data: Buffer };
      assert.equal(ok.count, RTMAX);
      assert.equal(ok.eof, false);
    }
  });

  test('READDIR count and READDIRPLUS maxcount of 2^32-1: NFS3_OK with the whole (small) directory', async () => {
    for (let i = 0; i < 5; i++) fs.writeFileSync(`${m.dir}/e${i}`, '');
    const d = await m.rpc.call(NFS3.READDIR, { dir: m.root, cookie: 0n, cookieverf: Buffer.alloc(8), count: 0xffffffff });
    assert.equal(d.status, NFSSTAT3.NFS3_OK);
    assert.ok((d as { entries: unknown[]; eof: boolean }).eof);
    const p = await m.rpc.call(NFS3.READDIRPLUS, { dir: m.root, cookie: 0n, cookieverf: Buffer.alloc(8), dircount: 0xffffffff, maxcount: 0xffffffff });
    assert.equal(p.status, NFSSTAT3.NFS3_OK);
    assert.ok((p as { entries: Array<{ name: string }> }).entries.some((e) => e.name === 'e4'));
  });

  test('a directory larger than one reply: READDIRPLUS with a huge maxcount stops at rtmax, eof false', async () => {
    const sub = (await m.rpc.call(NFS3.MKDIR, { where: { dir: m.root, name: 'many' }, attributes: { mode: 0o755 } })) as { obj: Buffer };
    const long = 'n'.repeat(200);
    for (let i = 0; i < 4000; i++) fs.writeFileSync(`${m.dir}/many/${long}${i}`, '');
    const p = await m.rpc.call(NFS3.READDIRPLUS, { dir: sub.obj, cookie: 0n, cookieverf: Buffer.alloc(8), dircount: 0xffffffff, maxcount: 0xffffffff });
    assert.equal(p.status, NFSSTAT3.NFS3_OK);
    const ok = p as { entries: unknown[]; eof: boolean };
    assert.equal(ok.eof, false);
    assert.ok(ok.entries.length > 1000 && ok.entries.length < 4002, `${ok.entries.length} entries in one reply`);
  });
});

describe('an export whose directory was removed', () => {
  test('MNT answers MNT3ERR_NOENT (was SYSTEM_ERR); its old handles are NFS3ERR_STALE', async () => {
    const { rpc, root, dir, cleanup } = await mountedServer();
    try {
      fs.rmdirSync(dir);
      assert.equal((await rpc.call(MOUNT3.MNT, { dirpath: '/export' })).status, MOUNTSTAT3.MNT3ERR_NOENT);
      assert.equal((await rpc.call(NFS3.GETATTR, { object: root })).status, NFSSTAT3.NFS3ERR_STALE);
      assert.equal((await rpc.call(NFS3.CREATE, { where: { dir: root, name: 'x' }, how: { mode: 0, attributes: {} } })).status, NFSSTAT3.NFS3ERR_STALE);
      // Another directory made under the same path is not the export the server was started on.
      fs.mkdirSync(dir);
      assert.equal((await rpc.call(MOUNT3.MNT, { dirpath: '/export' })).status, MOUNTSTAT3.MNT3ERR_NOENT);
      assert.equal(fs.readdirSync(dir).length, 0);
    } finally {
      await cleanup();
    }
  });
});

describe('nfstime3 with nseconds >= 10^9', () => {
  let m: MountedServer;
  before(async () => (m = await mountedServer()));
  after(() => m.cleanup());

  test('SETATTR mtime or atime: NFS3ERR_INVAL, nothing changed; 999,999,999 is accepted', async () => {
    const fh = await createFile(m.rpc, m.root, 't');
    const before = fs.statSync(`${m.dir}/t`, { bigint: true });
    for (const nseconds of [1_000_000_000, 0xffffffff]) {
      for (const which of ['mtime', 'atime'] as const) {
        const r = await m.rpc.call(NFS3.SETATTR, { object: fh, newAttributes: { [which]: { seconds: 1_000_000, nseconds }, mode: 0o600 } });
        assert.equal(r.status, NFSSTAT3.NFS3ERR_INVAL, `${which} nseconds ${nseconds}`);
      }
    }
    const after = fs.statSync(`${m.dir}/t`, { bigint: true });
    assert.deepEqual([after.mode, after.mtimeNs, after.ctimeNs], [before.mode, before.mtimeNs, before.ctimeNs]);
    assert.equal((await m.rpc.call(NFS3.SETATTR, { object: fh, newAttributes: { mtime: { seconds: 1_000_000, nseconds: 999_999_999 } } })).status, NFSSTAT3.NFS3_OK);
  });

  test('CREATE and MKDIR carrying such a time: NFS3ERR_INVAL before anything is made', async () => {
    const bad = { seconds: 5, nseconds: 1_500_000_000 };
    assert.equal((await m.rpc.call(NFS3.CREATE, { where: { dir: m.root, name: 'c' }, how: { mode: 0, attributes: { mtime: bad } } })).status, NFSSTAT3.NFS3ERR_INVAL);
    assert.equal((await m.rpc.call(NFS3.MKDIR, { where: { dir: m.root, name: 'm' }, attributes: { atime: bad } })).status, NFSSTAT3.NFS3ERR_INVAL);
    assert.deepEqual(fs.readdirSync(m.dir).filter((n) => n === 'c' || n === 'm'), []);
  });

  test('a guard ctime with nseconds >= 10^9 never matches: NFS3ERR_NOT_SYNC', async () => {
    const fh = await createFile(m.rpc, m.root, 'g');
    const r = await m.rpc.call(NFS3.SETATTR, { object: fh, newAttributes: { mode: 0o600 }, guard: { seconds: 1, nseconds: 0xffffffff } });
    assert.equal(r.status, NFSSTAT3.NFS3ERR_NOT_SYNC);
  });
});
