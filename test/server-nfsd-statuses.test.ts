// Statuses this server answered differently from Linux nfsd (issue 15 items 6, 7, 10), each pinned to nfsd's:
// - a READ, READDIR or READDIRPLUS count above the largest reply is a short reply (nfsd3_proc_read and
//   nfsd3_init_dirlist_pages clamp it to svc_max_payload), not GARBAGE_ARGS;
// - MNT of an export whose directory was removed (or replaced) is MNT3ERR_NOENT, its old handles NFS3ERR_STALE,
//   not SYSTEM_ERR;
// - a sattr3 time with nseconds >= 10^9 is NFS3ERR_INVAL from SETATTR (and from the creates that carry one); a
//   guard with such a ctime never matches: NFS3ERR_NOT_SYNC.
// And leftovers found against the real nfsd (test/security-permissions-nfsd.test.ts compares them there):
// - LOOKUP ".." at the export root is the root itself (nfsd_lookup_dentry), not NFS3ERR_ACCES;
// - REMOVE or RMDIR of "." or ".." is NFS3ERR_ACCES before any permission check (nfsd_unlink), RENAME with either
//   as a name NFS3ERR_PERM after the directories' permission checks (nfsd_rename), not NFS3ERR_INVAL;
// - FSINFO's sizes follow --max-record-size (nfsd3_proc_fsinfo's svc_max_payload), so a client believing them
//   never sends a record the server refuses.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { MOUNT3, MOUNTSTAT3 } from '../xdr/mount';
import { NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { NFS3 } from '../xdr/nfs3/procs';
import { MountedServer, RawRpc, createFile, mountedServer } from '../testing/server-rpc';
import { RTMAX, maxPayload } from '../server/nfs3/limits';
import { MIN_RECORD_SIZE, transportLimits } from '../server/rpc/limits';
import { clampIoSize, mount } from '../client/nfs3';
import { silentLogger } from '../core/log';
import type { ProcCodec } from '../xdr/procedure';
import { ACCEPT_STAT, encodeAuthSys } from '../xdr/rpc';
import { decodeReply } from '../xdr/message';

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

describe('"." and ".." as nfsd answers them', () => {
  let m: MountedServer;
  let sub: Buffer;
  const BOB = encodeAuthSys({ stamp: 1, machinename: 'dots', uid: 1001, gid: 1001, gids: [1001] });
  /** A call as uid 1001, who may not write the export root (0755 root's). */
  async function asBob<A, R>(codec: ProcCodec<A, R>, args: A): Promise<number> {
    const xid = m.rpc.xid();
    m.rpc.send(RawRpc.message(codec, args, xid, BOB));
    const [rep] = await m.rpc.waitFor(xid, 1, 10_000);
    return (decodeReply(rep, codec).res as { status: number }).status;
  }
  before(async () => {
    m = await mountedServer();
    fs.chmodSync(m.dir, 0o755);
    sub = ((await m.rpc.call(NFS3.MKDIR, { where: { dir: m.root, name: 'sub' }, attributes: { mode: 0o777 } })) as { obj: Buffer }).obj;
  });
  after(() => m.cleanup());

  test('LOOKUP ".." at the export root answers the root (was NFS3ERR_ACCES); below it, the parent', async () => {
    const up = (await m.rpc.call(NFS3.LOOKUP, { what: { dir: m.root, name: '..' } })) as { status: number; object: Buffer; objAttributes: { fileid: bigint } };
    assert.equal(up.status, NFSSTAT3.NFS3_OK);
    assert.deepEqual(up.object, m.root);
    assert.equal(up.objAttributes.fileid, BigInt(fs.statSync(m.dir).ino));
    const fromSub = (await m.rpc.call(NFS3.LOOKUP, { what: { dir: sub, name: '..' } })) as { status: number; object: Buffer };
    assert.deepEqual([fromSub.status, fromSub.object], [NFSSTAT3.NFS3_OK, m.root]);
    // and again from the root's answer: never above the export
    const again = (await m.rpc.call(NFS3.LOOKUP, { what: { dir: up.object, name: '..' } })) as { object: Buffer };
    assert.deepEqual(again.object, m.root);
  });

  test('REMOVE and RMDIR of "." or "..": NFS3ERR_ACCES, for root and for a user alike (was NFS3ERR_INVAL)', async () => {
    for (const codec of [NFS3.REMOVE, NFS3.RMDIR]) {
      for (const dir of [m.root, sub]) {
        for (const name of ['.', '..']) {
          assert.equal((await m.rpc.call(codec, { object: { dir, name } })).status, NFSSTAT3.NFS3ERR_ACCES, `${codec.name} ${name} as root`);
          assert.equal(await asBob(codec, { object: { dir, name } }), NFSSTAT3.NFS3ERR_ACCES, `${codec.name} ${name} as bob`);
        }
      }
    }
    assert.ok(fs.statSync(`${m.dir}/sub`).isDirectory());
  });

  test('RENAME with "." or "..": NFS3ERR_PERM once the directories may be changed, NFS3ERR_ACCES before', async () => {
    await createFile(m.rpc, sub, 'f');
    const cases: Array<[string, string]> = [['.', 'x'], ['..', 'x'], ['f', '.'], ['f', '..']];
    for (const [from, to] of cases) {
      const args = { from: { dir: sub, name: from }, to: { dir: sub, name: to } };
      assert.equal((await m.rpc.call(NFS3.RENAME, args)).status, NFSSTAT3.NFS3ERR_PERM, `RENAME ${from} -> ${to} as root`);
      assert.equal(await asBob(NFS3.RENAME, args), NFSSTAT3.NFS3ERR_PERM, `RENAME ${from} -> ${to} as bob in a 0777 directory`);
      // bob may not write the export root: the directory check comes first (nfsd_rename's fh_verify calls)
      assert.equal(await asBob(NFS3.RENAME, { from: { dir: m.root, name: from }, to: { dir: m.root, name: to } }), NFSSTAT3.NFS3ERR_ACCES, `RENAME ${from} -> ${to} as bob in the root`);
    }
    assert.deepEqual(fs.readdirSync(`${m.dir}/sub`), ['f']);
  });
});

// Over 4096 bytes 6.1's decoder (nfs3svc_decode_symlinkargs: xdr_inline_decode into a one-page scratch buffer)
// refuses the target before nfsd3_proc_symlink's NAMETOOLONG check; the real nfsd agrees
// (security-permissions-nfsd). The encoder has no cap, so these calls can be sent at all.
test('SYMLINK target: empty or with a NUL NFS3ERR_INVAL before permission (nfsd3_proc_symlink); 4096 bytes NAMETOOLONG; longer GARBAGE_ARGS', async () => {
  const m = await mountedServer();
  try {
    fs.chmodSync(m.dir, 0o755);
    const BOB = encodeAuthSys({ stamp: 1, machinename: 'sym', uid: 1001, gid: 1001, gids: [1001] });
    const statusOf = async (data: string, cred?: ReturnType<typeof encodeAuthSys>) => {
      const xid = m.rpc.xid();
      m.rpc.send(RawRpc.message(NFS3.SYMLINK, { where: { dir: m.root, name: 'l' }, symlink: { attributes: {}, data } }, xid, cred));
      const [rep] = await m.rpc.waitFor(xid, 1, 10_000);
      const { reply, res } = decodeReply(rep, NFS3.SYMLINK);
      if (reply.stat === 'accepted' && reply.acceptStat === ACCEPT_STAT.GARBAGE_ARGS) return 'GARBAGE_ARGS';
      return (res as { status: number }).status;
    };
    for (const cred of [undefined, BOB]) {
      assert.equal(await statusOf('', cred), NFSSTAT3.NFS3ERR_INVAL);
      assert.equal(await statusOf('a\0b', cred), NFSSTAT3.NFS3ERR_INVAL);
      assert.equal(await statusOf('c'.repeat(4097), cred), 'GARBAGE_ARGS', '4097 bytes');
      assert.equal(await statusOf('d'.repeat(64 * 1024), cred), 'GARBAGE_ARGS', '64 KiB');
      assert.equal(await statusOf(`${'e'.repeat(4096)}\0`, cred), 'GARBAGE_ARGS', '4096 bytes and a NUL');
    }
    assert.equal(await statusOf('b'.repeat(4095), BOB), NFSSTAT3.NFS3ERR_ACCES, 'a good target reaches the permission check');
    assert.equal(await statusOf('a'.repeat(4096)), NFSSTAT3.NFS3ERR_NAMETOOLONG, 'symlink(2): PATH_MAX with its NUL');
    assert.equal(await statusOf('b'.repeat(4095)), NFSSTAT3.NFS3_OK);
    assert.equal(fs.readlinkSync(`${m.dir}/l`), 'b'.repeat(4095));
  } finally {
    await m.cleanup();
  }
});

describe('FSINFO follows --max-record-size', () => {
  test('the payload a record limit allows: whole pages less one, at most 1 MiB (the inverse of sv_max_mesg)', () => {
    assert.equal(maxPayload(transportLimits().maxRecordSize), RTMAX);
    assert.equal(maxPayload(MIN_RECORD_SIZE), 4096);
    assert.equal(maxPayload(64 * 1024), 60 * 1024);
    assert.equal(maxPayload(64 * 1024 + 4095), 60 * 1024);
    assert.equal(maxPayload(RTMAX), RTMAX - 4096);
    assert.equal(maxPayload(RTMAX + 4096), RTMAX);
    // nfsd with a 256 KiB max_block_size accepts records up to 260 KiB, and so advertises 256 KiB: the same here
    assert.equal(maxPayload(256 * 1024 + 4096), 256 * 1024);
    assert.throws(() => transportLimits({ maxRecordSize: '4KiB' }), /8KiB\.\.2GiB/);
  });

  test('a 64 KiB record limit: FSINFO says 60 KiB everywhere, READ is clamped, a longer WRITE is cut short', async () => {
    const m = await mountedServer({ limits: { maxRecordSize: '64KiB' } });
    try {
      const fi = (await m.rpc.call(NFS3.FSINFO, { fsroot: m.root })) as unknown as Record<string, number>;
      const want = 60 * 1024;
      assert.deepEqual([fi.rtmax, fi.rtpref, fi.wtmax, fi.wtpref, fi.dtpref, fi.rtmult, fi.wtmult], [want, want, want, want, want, 4096, 4096]);
      const fh = await createFile(m.rpc, m.root, 'f');
      const data = Buffer.alloc(want + 1024, 0x61);
      const w = (await m.rpc.call(NFS3.WRITE, { file: fh, offset: 0n, count: data.length, stable: STABLE_HOW.FILE_SYNC, data })) as { status: number; count: number };
      assert.deepEqual([w.status, w.count], [NFSSTAT3.NFS3_OK, want], 'nfs3svc_decode_writeargs cuts count to the maximum');
      assert.equal(fs.statSync(`${m.dir}/f`).size, want);
      const r = (await m.rpc.call(NFS3.READ, { file: fh, offset: 0n, count: 1 << 20 })) as { status: number; count: number };
      assert.deepEqual([r.status, r.count], [NFSSTAT3.NFS3_OK, want]);
    } finally {
      await m.cleanup();
    }
  });

  test('our client, believing FSINFO, writes 1 MiB through a 64 KiB record limit (it was refused at 1 MiB)', async () => {
    const m = await mountedServer({ limits: { maxRecordSize: '64KiB' }, logger: silentLogger });
    const c = await mount({ host: '127.0.0.1', port: m.server.address.port, exportPath: '/export', transport: { logger: silentLogger } });
    try {
      assert.equal(c.fsinfo?.wtmax, 60 * 1024);
      const wsize = clampIoSize(1 << 20, c.fsinfo!.wtmax);
      assert.equal(wsize, 32 * 1024, 'nfs_block_size rounds 60 KiB down to a power of two');
      const f = await c.nfs.createFile(c.root, 'big');
      assert.ok('fh' in f);
      const data = Buffer.alloc(1 << 20);
      for (let i = 0; i < data.length; i += 4) data.writeUInt32BE(i, i);
      const w = await c.nfs.writeRange(f.fh, 0n, data, { wsize, stable: STABLE_HOW.FILE_SYNC });
      assert.equal(w.status, 0);
      assert.equal(w.calls, 32);
      assert.ok(fs.readFileSync(`${m.dir}/big`).equals(data));
    } finally {
      await c.unmount();
      await m.cleanup();
    }
  });
});
