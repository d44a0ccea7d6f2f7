// AUTH_SYS enforced per procedure as Linux nfsd does (server/nfs3/permission.ts, identity.ts): who may read,
// write, change attributes, create, remove and rename what, set-id bits, sticky directories, the owner override,
// root_squash, all_squash and AUTH_NONE. The server runs as root; files are given their owners with chown, so
// the tests need root. Where nfsd's answer is the VFS's own (no owner override involved), the same operation is
// also run by the real kernel as that user (setpriv) and the two must agree.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ACCESS3, NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { decodeReply } from '../xdr/message';
import { NFS3 } from '../xdr/nfs3/procs';
import type { ProcCodec } from '../xdr/procedure';
import { AUTH_FLAVOR, OpaqueAuth, encodeAuthSys } from '../xdr/rpc';
import { MountedServer, RawRpc, mountRoot, mountedServer } from '../testing/server-rpc';
import { runCli, spawnServer } from './support/cli';

const { NFS3_OK, NFS3ERR_ACCES, NFS3ERR_PERM } = NFSSTAT3;
const skip = process.getuid?.() !== 0 && 'needs root (files owned by several users)';

const ROOT = 0;
const ALICE = 1000;
const BOB = 1001;
const CAROL = 1002; // in group 100 as a supplementary group only
const STAFF = 100;

const cred = (uid: number, gid = uid, gids: number[] = [gid]): OpaqueAuth => encodeAuthSys({ stamp: 1, machinename: 'perm', uid, gid, gids });
const AS = { root: cred(ROOT), alice: cred(ALICE), bob: cred(BOB), carol: cred(CAROL, CAROL, [CAROL, STAFF]) };

/** A raw client calling as one credential; answers the decoded result (status included). */
function caller(rpc: RawRpc, c: OpaqueAuth) {
  return async <A, R>(codec: ProcCodec<A, R>, args: A): Promise<R & { status: number }> => {
    const xid = rpc.xid();
    rpc.send(RawRpc.message(codec, args, xid, c));
    const [rep] = await rpc.waitFor(xid);
    const { reply, res } = decodeReply(rep, codec);
    if (reply.stat !== 'accepted' || reply.acceptStat !== 0) throw new Error(`xid ${xid}: ${JSON.stringify(reply)}`);
    return res as R & { status: number };
  };
}

describe('AUTH_SYS permissions, per procedure', { skip }, () => {
  let t: MountedServer;
  let rpc: RawRpc;
  let root: Buffer;
  const p = (...parts: string[]) => path.join(t.dir, ...parts);
  /** a file with owner, group, mode and content, made behind the server's back */
  const file = (name: string, uid: number, gid: number, mode: number, content = `${name}\n`) => {
    fs.writeFileSync(p(name), content);
    fs.chownSync(p(name), uid, gid);
    fs.chmodSync(p(name), mode);
  };
  const dir = (name: string, uid: number, gid: number, mode: number) => {
    fs.mkdirSync(p(name));
    fs.chownSync(p(name), uid, gid);
    fs.chmodSync(p(name), mode);
  };
  let as: Record<keyof typeof AS, ReturnType<typeof caller>>;
  const fh = async (rel: string): Promise<Buffer> => {
    let h = root;
    for (const part of rel.split('/')) {
      const r = await as.root(NFS3.LOOKUP, { what: { dir: h, name: part } });
      assert.equal(r.status, NFS3_OK, `LOOKUP ${rel}`);
      h = (r as { object: Buffer }).object;
    }
    return h;
  };
  const mode = (name: string) => fs.lstatSync(p(name)).mode & 0o7777;
  const owner = (name: string) => {
    const st = fs.lstatSync(p(name));
    return [st.uid, st.gid];
  };

  before(async () => {
    t = await mountedServer();
    ({ rpc, root } = t);
    fs.chmodSync(t.dir, 0o755);
    as = Object.fromEntries(Object.entries(AS).map(([k, c]) => [k, caller(rpc, c)])) as typeof as;
    file('secret', ROOT, ROOT, 0o600, 'root only\n');
    file('pub', ROOT, ROOT, 0o644);
    file('runnable', ROOT, ROOT, 0o711);
    file('staff', ROOT, STAFF, 0o660);
    file('alice', ALICE, ALICE, 0o644);
    file('alice0', ALICE, ALICE, 0o000, 'chmodded to 0\n');
    file('alice666', ALICE, ALICE, 0o666);
    file('setuid', ALICE, ALICE, 0o6777);
    dir('adir', ALICE, ALICE, 0o755);
    dir('private', ALICE, ALICE, 0o700);
    dir('listonly', ALICE, ALICE, 0o744);
    fs.writeFileSync(p('listonly', 'inside'), 'x');
    dir('shared', ROOT, ROOT, 0o1777);
    dir('sgid', ROOT, STAFF, 0o2777);
  });
  after(() => t.cleanup());

  test('READ: mode bits, groups, the owner override, binaries readable with mode 111, root', async () => {
    const read = async (who: keyof typeof AS, name: string) => (await as[who](NFS3.READ, { file: await fh(name), offset: 0n, count: 100 })).status;
    assert.equal(await read('bob', 'secret'), NFS3ERR_ACCES);
    assert.equal(await read('bob', 'pub'), NFS3_OK);
    assert.equal(await read('root', 'secret'), NFS3_OK);
    assert.equal(await read('bob', 'runnable'), NFS3_OK, 'nfsd_permission: read access to binaries even when mode 111');
    assert.equal(await read('alice', 'alice0'), NFS3_OK, 'NFSD_MAY_OWNER_OVERRIDE: the owner reads her mode-0 file');
    assert.equal(await read('bob', 'alice0'), NFS3ERR_ACCES);
    assert.equal(await read('carol', 'staff'), NFS3_OK, 'a supplementary group counts');
    assert.equal(await read('bob', 'staff'), NFS3ERR_ACCES);
  });

  test('WRITE: refused without write permission (file unchanged); owner override; set-id bits dropped for non-root writers', async () => {
    const write = async (who: keyof typeof AS, name: string) =>
      (await as[who](NFS3.WRITE, { file: await fh(name), offset: 0n, count: 3, stable: STABLE_HOW.FILE_SYNC, data: Buffer.from('pwn') })).status;
    assert.equal(await write('bob', 'secret'), NFS3ERR_ACCES);
    assert.equal(fs.readFileSync(p('secret'), 'utf8'), 'root only\n');
    assert.equal(await write('bob', 'alice'), NFS3ERR_ACCES);
    assert.equal(await write('alice', 'alice0'), NFS3_OK, 'the owner writes her mode-0 file');
    assert.equal(await write('bob', 'setuid'), NFS3_OK);
    assert.equal(mode('setuid'), 0o777, 'S_ISUID and a group-executable S_ISGID are dropped by a write from a non-root caller');
    fs.chmodSync(p('setuid'), 0o6777);
    assert.equal(await write('root', 'setuid'), NFS3_OK);
    assert.equal(mode('setuid'), 0o6777, 'root (CAP_FSETID) keeps them');
    assert.equal((await as.bob(NFS3.COMMIT, { file: await fh('secret'), offset: 0n, count: 0 })).status, NFS3ERR_ACCES, 'COMMIT asks for write permission');
  });

  test('SETATTR: only the owner changes mode and explicit times, only root gives files away, chgrp to own groups', async () => {
    const set = async (who: keyof typeof AS, name: string, newAttributes: object) => (await as[who](NFS3.SETATTR, { object: await fh(name), newAttributes })).status;
    assert.equal(await set('bob', 'alice', { mode: 0o777 }), NFS3ERR_PERM);
    assert.equal(await set('alice', 'alice', { mode: 0o640 }), NFS3_OK);
    assert.equal(mode('alice'), 0o640);
    assert.equal(await set('bob', 'secret', { mode: 0o4777, uid: BOB }), NFS3ERR_PERM, 'no setuid-root for bob');
    assert.equal(await set('alice', 'alice', { uid: BOB }), NFS3ERR_PERM, 'chown_ok: only CAP_CHOWN gives a file away');
    assert.equal(await set('alice', 'alice', { gid: BOB }), NFS3ERR_PERM, 'chgrp_ok: not a group alice is in');
    assert.equal(await set('root', 'alice', { uid: BOB, gid: STAFF }), NFS3_OK);
    assert.deepEqual(owner('alice'), [BOB, STAFF]);
    assert.equal(await set('bob', 'alice', { gid: BOB }), NFS3_OK, 'the owner gives it to his own group');
    assert.equal(await set('bob', 'alice', { mode: 0o2755, gid: STAFF }), NFS3ERR_PERM, 'chgrp to a group bob is not in');
    assert.equal(await set('bob', 'alice', { mode: 0o2755 }), NFS3_OK);
    assert.equal(mode('alice'), 0o2755, 'setgid kept: bob is in the group');
    fs.chownSync(p('alice'), BOB, STAFF);
    assert.equal(await set('bob', 'alice', { mode: 0o2755 }), NFS3_OK);
    assert.equal(mode('alice'), 0o755, 'setattr_prepare drops S_ISGID for a non-member of the file\'s group');
    assert.equal(await set('bob', 'alice666', { mtime: { seconds: 1, nseconds: 0 } }), NFS3ERR_PERM, 'explicit times: owner only');
    assert.equal(await set('bob', 'alice666', { mtime: 'server', atime: 'server' }), NFS3_OK, 'times set to now: write permission suffices');
    assert.equal(await set('bob', 'pub', { mtime: 'server' }), NFS3ERR_ACCES);
    assert.equal(await set('bob', 'pub', { size: 0n }), NFS3ERR_ACCES);
    assert.equal(await set('alice', 'alice0', { size: 0n }), NFS3_OK, 'owner override for the size');
    assert.equal(fs.statSync(p('alice0')).size, 0);
  });

  test('CREATE, MKDIR, SYMLINK: create rights in the directory; the new object is the caller\'s (or a setgid directory\'s group)', async () => {
    const adir = await fh('adir');
    const create = (who: keyof typeof AS, d: Buffer, name: string, m = 0o640) => as[who](NFS3.CREATE, { where: { dir: d, name }, how: { mode: 0, attributes: { mode: m } } });
    assert.equal((await create('bob', adir, 'b')).status, NFS3ERR_ACCES);
    assert.equal(fs.existsSync(p('adir', 'b')), false);
    assert.equal((await create('alice', adir, 'a', 0o4750)).status, NFS3_OK);
    assert.deepEqual(owner('adir/a'), [ALICE, ALICE]);
    assert.equal(mode('adir/a'), 0o4750, 'the mode as asked (nfsd umask 0)');
    assert.equal((await as.bob(NFS3.CREATE, { where: { dir: adir, name: 'a' }, how: { mode: 0, attributes: {} } })).status, NFS3_OK, 'UNCHECKED on an existing name needs search only');
    assert.equal((await as.bob(NFS3.CREATE, { where: { dir: adir, name: 'a' }, how: { mode: 0, attributes: { size: 0n } } })).status, NFS3ERR_ACCES, '... but its size needs write permission');
    const sgid = await fh('sgid');
    assert.equal((await create('bob', sgid, 'g', 0o2770)).status, NFS3_OK);
    assert.deepEqual(owner('sgid/g'), [BOB, STAFF], 'inode_init_owner: the setgid directory\'s group');
    assert.equal(mode('sgid/g'), 0o770, 'mode_strip_sgid: bob is not in the group');
    assert.equal((await as.carol(NFS3.MKDIR, { where: { dir: sgid, name: 'sub' }, attributes: { mode: 0o4755 } })).status, NFS3_OK);
    assert.deepEqual(owner('sgid/sub'), [CAROL, STAFF]);
    assert.equal(mode('sgid/sub'), 0o2755, 'vfs_mkdir drops S_ISUID; the setgid parent adds S_ISGID');
    assert.equal((await as.bob(NFS3.MKDIR, { where: { dir: adir, name: 'x' }, attributes: {} })).status, NFS3ERR_ACCES);
    assert.equal((await as.alice(NFS3.SYMLINK, { where: { dir: adir, name: 'l' }, symlink: { attributes: {}, data: 'a' } })).status, NFS3_OK);
    assert.deepEqual(owner('adir/l'), [ALICE, ALICE]);
    assert.equal((await as.bob(NFS3.SYMLINK, { where: { dir: adir, name: 'l2' }, symlink: { attributes: {}, data: 'a' } })).status, NFS3ERR_ACCES);
    assert.equal((await as.alice(NFS3.CREATE, { where: { dir: adir, name: 'given' }, how: { mode: 0, attributes: { mode: 0o644, uid: BOB } } })).status, NFS3_OK);
    assert.deepEqual(owner('adir/given'), [ALICE, ALICE], 'nfsd_create_setattr: a non-root caller\'s uid/gid attributes are ignored');
    assert.equal((await as.root(NFS3.CREATE, { where: { dir: adir, name: 'given2' }, how: { mode: 0, attributes: { mode: 0o644, uid: BOB } } })).status, NFS3_OK);
    assert.deepEqual(owner('adir/given2'), [BOB, ROOT]);
    assert.equal((await as.bob(NFS3.MKNOD, { where: { dir: adir, name: 'fifo' }, what: { type: 7, attributes: {} } })).status, NFS3ERR_ACCES, 'MKNOD checks the directory first');
  });

  test('REMOVE, RMDIR, RENAME, LINK: write and search on the directories; sticky directories protect other users\' entries', async () => {
    const shared = await fh('shared');
    const adir = await fh('adir');
    for (const [who, name] of [['alice', 'af'], ['bob', 'bf']] as const) {
      assert.equal((await as[who](NFS3.CREATE, { where: { dir: shared, name }, how: { mode: 0, attributes: { mode: 0o666 } } })).status, NFS3_OK);
    }
    assert.equal((await as.bob(NFS3.REMOVE, { object: { dir: shared, name: 'af' } })).status, NFS3ERR_PERM, 'check_sticky');
    assert.equal((await as.bob(NFS3.RENAME, { from: { dir: shared, name: 'af' }, to: { dir: shared, name: 'mine' } })).status, NFS3ERR_PERM);
    assert.equal((await as.bob(NFS3.RENAME, { from: { dir: shared, name: 'bf' }, to: { dir: shared, name: 'af' } })).status, NFS3ERR_PERM, 'nor replace it');
    assert.equal(fs.existsSync(p('shared', 'af')), true);
    assert.equal((await as.bob(NFS3.REMOVE, { object: { dir: shared, name: 'bf' } })).status, NFS3_OK);
    assert.equal((await as.root(NFS3.REMOVE, { object: { dir: shared, name: 'af' } })).status, NFS3_OK);
    assert.equal((await as.bob(NFS3.REMOVE, { object: { dir: adir, name: 'a' } })).status, NFS3ERR_ACCES, 'no write permission on adir');
    assert.equal((await as.bob(NFS3.RMDIR, { object: { dir: root, name: 'private' } })).status, NFS3ERR_ACCES, 'the export root is root\'s 0755');
    assert.equal((await as.bob(NFS3.LINK, { file: await fh('pub'), link: { dir: adir, name: 'hard' } })).status, NFS3ERR_ACCES);
    assert.equal((await as.alice(NFS3.LINK, { file: await fh('secret'), link: { dir: adir, name: 'hard' } })).status, NFS3_OK, 'the source needs no permission (vfs_link, not may_linkat)');
    // A directory moving to another parent needs write permission on itself (its ".." changes).
    fs.mkdirSync(p('shared', 'rootsub'));
    fs.chmodSync(p('shared', 'rootsub'), 0o555);
    assert.equal((await as.root(NFS3.RENAME, { from: { dir: shared, name: 'rootsub' }, to: { dir: shared, name: 'rootsub2' } })).status, NFS3_OK);
    const dirs = await as.alice(NFS3.MKDIR, { where: { dir: shared, name: 'amove' }, attributes: { mode: 0o555 } });
    assert.equal(dirs.status, NFS3_OK);
    assert.equal((await as.alice(NFS3.RENAME, { from: { dir: shared, name: 'amove' }, to: { dir: adir, name: 'amove' } })).status, NFS3ERR_ACCES);
    assert.equal((await as.alice(NFS3.RENAME, { from: { dir: shared, name: 'amove' }, to: { dir: shared, name: 'amove2' } })).status, NFS3_OK, 'within its parent it may');
  });

  test('LOOKUP needs search permission; READDIR read permission; READDIRPLUS without search gives names only', async () => {
    assert.equal((await as.bob(NFS3.LOOKUP, { what: { dir: await fh('private'), name: 'x' } })).status, NFS3ERR_ACCES);
    assert.equal((await as.bob(NFS3.READDIR, { dir: await fh('private'), cookie: 0n, cookieverf: Buffer.alloc(8), count: 4096 })).status, NFS3ERR_ACCES);
    const plus = await as.bob(NFS3.READDIRPLUS, { dir: await fh('listonly'), cookie: 0n, cookieverf: Buffer.alloc(8), dircount: 4096, maxcount: 65536 });
    assert.equal(plus.status, NFS3_OK);
    const entries = (plus as { entries: Array<{ name: string; nameHandle?: Buffer; nameAttributes?: object }> }).entries;
    assert.ok(entries.some((e) => e.name === 'inside'));
    assert.ok(entries.every((e) => e.nameHandle === undefined && e.nameAttributes === undefined), 'no handles without search permission');
    const mine = await as.alice(NFS3.READDIRPLUS, { dir: await fh('listonly'), cookie: 0n, cookieverf: Buffer.alloc(8), dircount: 4096, maxcount: 65536 });
    assert.ok((mine as { entries: Array<{ nameHandle?: Buffer }> }).entries.every((e) => e.nameHandle !== undefined));
  });

  test('ACCESS answers what the other procedures then allow (nfsd_access tables)', async () => {
    const all = ACCESS3.READ | ACCESS3.LOOKUP | ACCESS3.MODIFY | ACCESS3.EXTEND | ACCESS3.DELETE | ACCESS3.EXECUTE;
    const access = async (who: keyof typeof AS, name: string) => (await as[who](NFS3.ACCESS, { object: await fh(name), access: all })) as { access: number };
    assert.equal((await access('bob', 'secret')).access, 0);
    assert.equal((await access('bob', 'pub')).access, ACCESS3.READ);
    assert.equal((await access('bob', 'runnable')).access, ACCESS3.EXECUTE, 'READ is not granted by ACCESS for mode 711 (only READ itself lets binaries be read)');
    assert.equal((await access('alice', 'adir')).access, ACCESS3.READ | ACCESS3.LOOKUP | ACCESS3.MODIFY | ACCESS3.EXTEND | ACCESS3.DELETE);
    assert.equal((await access('bob', 'adir')).access, ACCESS3.READ | ACCESS3.LOOKUP);
    assert.equal((await access('root', 'pub')).access, ACCESS3.READ | ACCESS3.MODIFY | ACCESS3.EXTEND, 'root: everything but executing a file no one may execute');
  });
});

describe('identity mapping: root_squash, all_squash, anonuid/anongid, AUTH_NONE (nfsd_setuser)', { skip }, () => {
  const setup = async (o: object) => {
    const t = await mountedServer(o);
    fs.chmodSync(t.dir, 0o777);
    fs.writeFileSync(path.join(t.dir, 'secret'), 'root only\n', { mode: 0o600 });
    const sec = (await t.rpc.call(NFS3.LOOKUP, { what: { dir: t.root, name: 'secret' } })) as { object: Buffer };
    return { t, rpc: t.rpc, root: t.root, secret: sec.object, done: () => t.cleanup() };
  };

  test('root_squash: uid 0 is 65534 for every check, owns what it makes as 65534, may not chown', async () => {
    const s = await setup({ rootSquash: true });
    try {
      const root0 = caller(s.rpc, AS.root);
      assert.equal((await root0(NFS3.READ, { file: s.secret, offset: 0n, count: 10 })).status, NFS3ERR_ACCES);
      assert.equal((await root0(NFS3.SETATTR, { object: s.secret, newAttributes: { mode: 0o666 } })).status, NFS3ERR_PERM);
      assert.equal((await root0(NFS3.CREATE, { where: { dir: s.root, name: 'made' }, how: { mode: 0, attributes: { mode: 0o644 } } })).status, NFS3_OK);
      const st = fs.statSync(path.join(s.t.dir, 'made'));
      assert.deepEqual([st.uid, st.gid], [65534, 65534]);
      const made = (await root0(NFS3.LOOKUP, { what: { dir: s.root, name: 'made' } })) as { object: Buffer };
      assert.equal((await root0(NFS3.SETATTR, { object: made.object, newAttributes: { uid: 0 } })).status, NFS3ERR_PERM);
      const alice = caller(s.rpc, AS.alice);
      assert.equal((await alice(NFS3.CREATE, { where: { dir: s.root, name: 'hers' }, how: { mode: 0, attributes: { mode: 0o644 } } })).status, NFS3_OK);
      assert.equal(fs.statSync(path.join(s.t.dir, 'hers')).uid, ALICE, 'other users are not squashed');
    } finally {
      await s.done();
    }
  });

  test('all_squash with anonuid/anongid: everyone is the anonymous user; AUTH_NONE is too', async () => {
    const s = await setup({ allSquash: true, anonUid: 4242, anonGid: 4343 });
    try {
      const alice = caller(s.rpc, AS.alice);
      assert.equal((await alice(NFS3.CREATE, { where: { dir: s.root, name: 'a' }, how: { mode: 0, attributes: { mode: 0o644 } } })).status, NFS3_OK);
      const st = fs.statSync(path.join(s.t.dir, 'a'));
      assert.deepEqual([st.uid, st.gid], [4242, 4343]);
      const root0 = caller(s.rpc, AS.root);
      assert.equal((await root0(NFS3.READ, { file: s.secret, offset: 0n, count: 10 })).status, NFS3ERR_ACCES, 'root is squashed too');
      const none = caller(s.rpc, { flavor: AUTH_FLAVOR.AUTH_NONE, body: Buffer.alloc(0) });
      assert.equal((await none(NFS3.CREATE, { where: { dir: s.root, name: 'n' }, how: { mode: 0, attributes: { mode: 0o644 } } })).status, NFS3_OK);
      assert.equal(fs.statSync(path.join(s.t.dir, 'n')).uid, 4242);
    } finally {
      await s.done();
    }
  });

  test('the CLI: --all-squash --anon-uid --anon-gid reach the export', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-squash-cli-'));
    fs.mkdirSync(path.join(dir, 'export'));
    fs.chmodSync(path.join(dir, 'export'), 0o777);
    const s = await spawnServer(['--export', path.join(dir, 'export'), '--state-dir', path.join(dir, 'state'), '--all-squash', '--anon-uid', '4242', '--anon-gid', '4343']);
    const rpc = await RawRpc.connect(s.nfsPort);
    try {
      const rootFh = await mountRoot(rpc);
      assert.equal((await caller(rpc, AS.alice)(NFS3.CREATE, { where: { dir: rootFh, name: 'f' }, how: { mode: 0, attributes: { mode: 0o644 } } })).status, NFS3_OK);
      const st = fs.statSync(path.join(dir, 'export', 'f'));
      assert.deepEqual([st.uid, st.gid], [4242, 4343]);
    } finally {
      rpc.close();
      await s.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('without squashing, AUTH_NONE is still the anonymous user (INVALID_UID -> anonuid)', async () => {
    const s = await setup({});
    try {
      const none = caller(s.rpc, { flavor: AUTH_FLAVOR.AUTH_NONE, body: Buffer.alloc(0) });
      assert.equal((await none(NFS3.READ, { file: s.secret, offset: 0n, count: 10 })).status, NFS3ERR_ACCES);
      assert.equal((await none(NFS3.CREATE, { where: { dir: s.root, name: 'n' }, how: { mode: 0, attributes: {} } })).status, NFS3_OK);
      assert.equal(fs.statSync(path.join(s.t.dir, 'n')).uid, 65534);
    } finally {
      await s.done();
    }
  });
});

/**
 * The real kernel as the same user (setpriv), on the cases where nfsd's answer is the VFS's own: reading and
 * writing someone else's file by the mode bits and groups, chmod/chown/chgrp and explicit times by the rules of
 * setattr_prepare, unlink in a sticky directory. Both must allow or refuse alike (EACCES ~ ACCES, EPERM ~ PERM).
 */
describe('the model agrees with the kernel', { skip: skip || (!fs.existsSync('/usr/bin/setpriv') && 'needs setpriv (util-linux)') }, () => {
  let t: MountedServer;
  let rpc: RawRpc;
  let root: Buffer;
  before(async () => {
    t = await mountedServer();
    ({ rpc, root } = t);
    fs.chmodSync(t.dir, 0o755);
    fs.chmodSync(path.dirname(t.dir), 0o711); // the users must reach the export to open files in it
  });
  after(() => t.cleanup());

  /**
   * Runs `js` (with `p` the path) as uid/gid/groups; answers 'ok' or the errno code. `touch` instead sets the
   * times to now the way utimensat(NULL) does (Node's utimes always passes explicit times).
   */
  const kernel = (uid: number, gid: number, gids: number[], file: string, js: string): string => {
    const ids = [`--reuid=${uid}`, `--regid=${gid}`, `--groups=${gids.join(',')}`];
    if (js === 'touch') {
      const r = spawnSync('setpriv', [...ids, 'touch', '-c', file], { encoding: 'utf8' });
      return r.status === 0 ? 'ok' : /Permission denied/.test(r.stderr) ? 'EACCES' : /not permitted/.test(r.stderr) ? 'EPERM' : `touch: ${r.stderr}`;
    }
    const r = spawnSync('setpriv', [...ids, process.execPath, '-e', `const fs=require('fs');const p=${JSON.stringify(file)};try{${js};console.log('ok')}catch(e){console.log(e.code)}`], { encoding: 'utf8' });
    return r.stdout.trim() || `spawn failed: ${r.stderr}`;
  };
  const nfsName = (s: number) => (s === NFS3_OK ? 'ok' : s === NFS3ERR_ACCES ? 'EACCES' : s === NFS3ERR_PERM ? 'EPERM' : `nfsstat ${s}`);

  const cases: Array<{ what: string; uid: number; gids: number[]; owner: [number, number]; mode: number; sticky?: boolean; js: string; nfs: (who: ReturnType<typeof caller>, dir: Buffer, fh: Buffer, name: string) => Promise<{ status: number }> }> = [];
  const io = (what: string, mode: number, owner: [number, number], uid: number, gids: number[]) => {
    cases.push({ what: `read ${what}`, uid, gids, owner, mode, js: 'fs.closeSync(fs.openSync(p, "r"))', nfs: (w, _d, f) => w(NFS3.READ, { file: f, offset: 0n, count: 1 }) });
    cases.push({ what: `write ${what}`, uid, gids, owner, mode, js: 'fs.closeSync(fs.openSync(p, "r+"))', nfs: (w, _d, f) => w(NFS3.WRITE, { file: f, offset: 0n, count: 0, stable: STABLE_HOW.UNSTABLE, data: Buffer.alloc(0) }) });
  };
  io('other 0644', 0o644, [ALICE, ALICE], BOB, [BOB]);
  io('other 0666', 0o666, [ALICE, ALICE], BOB, [BOB]);
  io('group 0660 by a member', 0o660, [ALICE, STAFF], BOB, [BOB, STAFF]);
  io('group 0606 by a member (group bits rule)', 0o606, [ALICE, STAFF], BOB, [BOB, STAFF]);
  io('other 0000', 0o000, [ALICE, ALICE], BOB, [BOB]);
  const attr = (what: string, js: string, newAttributes: object, uid = BOB, gids = [BOB]) =>
    cases.push({ what, uid, gids, owner: [ALICE, STAFF], mode: 0o664, js, nfs: (w, _d, f) => w(NFS3.SETATTR, { object: f, newAttributes }) });
  attr('chmod by a non-owner', 'fs.chmodSync(p, 0o600)', { mode: 0o600 });
  attr('chmod by the owner', 'fs.chmodSync(p, 0o600)', { mode: 0o600 }, ALICE, [ALICE]);
  attr('chown by the owner', `fs.chownSync(p, ${BOB}, -1)`, { uid: BOB }, ALICE, [ALICE]);
  attr('chgrp by the owner to a group she is in', `fs.chownSync(p, -1, ${BOB})`, { gid: BOB }, ALICE, [ALICE, BOB]);
  attr('chgrp by the owner to a group she is not in', `fs.chownSync(p, -1, ${BOB})`, { gid: BOB }, ALICE, [ALICE]);
  attr('explicit times by a writer who is not the owner', 'fs.utimesSync(p, 1, 1)', { atime: { seconds: 1, nseconds: 0 }, mtime: { seconds: 1, nseconds: 0 } }, BOB, [BOB, STAFF]);
  attr('times to now by a writer who is not the owner', 'touch', { atime: 'server', mtime: 'server' }, BOB, [BOB, STAFF]);
  attr('times to now by someone who may not write', 'touch', { atime: 'server', mtime: 'server' });
  cases.push({ what: 'unlink another user\'s file in a sticky directory', uid: BOB, gids: [BOB], owner: [ALICE, ALICE], mode: 0o666, sticky: true, js: 'fs.unlinkSync(p)', nfs: (w, d, _f, n) => w(NFS3.REMOVE, { object: { dir: d, name: n } }) });
  cases.push({ what: 'unlink one\'s own file in a sticky directory', uid: ALICE, gids: [ALICE], owner: [ALICE, ALICE], mode: 0o600, sticky: true, js: 'fs.unlinkSync(p)', nfs: (w, d, _f, n) => w(NFS3.REMOVE, { object: { dir: d, name: n } }) });

  test('each case: the kernel as that user and the server for that user answer alike', async () => {
    const rows: string[] = [];
    for (const [i, c] of cases.entries()) {
      const sub = `case${i}`;
      const d = path.join(t.dir, sub);
      fs.mkdirSync(d);
      fs.chmodSync(d, c.sticky ? 0o1777 : 0o777);
      const make = (name: string) => {
        fs.writeFileSync(path.join(d, name), 'data');
        fs.chownSync(path.join(d, name), ...c.owner);
        fs.chmodSync(path.join(d, name), c.mode);
      };
      make('k');
      make('n');
      const expected = kernel(c.uid, c.gids[0], c.gids, path.join(d, 'k'), c.js);
      const who = caller(rpc, cred(c.uid, c.gids[0], c.gids));
      const dirFh = ((await caller(rpc, AS.root)(NFS3.LOOKUP, { what: { dir: root, name: sub } })) as { object: Buffer }).object;
      const fileFh = ((await caller(rpc, AS.root)(NFS3.LOOKUP, { what: { dir: dirFh, name: 'n' } })) as { object: Buffer }).object;
      const got = nfsName((await c.nfs(who, dirFh, fileFh, 'n')).status);
      rows.push(`${c.what}: kernel ${expected}, server ${got}`);
      assert.equal(got, expected, c.what);
    }
    console.log(rows.join('\n'));
  });

  test('a write by a non-root user leaves the same set-id bits as the kernel\'s write does (setattr_should_drop_suidgid)', async () => {
    const rows: string[] = [];
    const writers: Array<[string, number[]]> = [['bob, not in the group', [BOB]], ['bob, in the group', [BOB, STAFF]]];
    for (const fileMode of [0o6777, 0o2767, 0o4766]) {
      for (const [who, gids] of writers) {
        const sub = `suid${fileMode.toString(8)}-${gids.length}`;
        const d = path.join(t.dir, sub);
        fs.mkdirSync(d, { mode: 0o777 });
        for (const name of ['k', 'n']) {
          fs.writeFileSync(path.join(d, name), 'data');
          fs.chownSync(path.join(d, name), ALICE, STAFF);
          fs.chmodSync(path.join(d, name), fileMode);
        }
        assert.equal(kernel(BOB, BOB, gids, path.join(d, 'k'), 'const f=fs.openSync(p,"r+");fs.writeSync(f,"x");fs.closeSync(f)'), 'ok');
        const dirFh = ((await caller(rpc, AS.root)(NFS3.LOOKUP, { what: { dir: root, name: sub } })) as { object: Buffer }).object;
        const fileFh = ((await caller(rpc, AS.root)(NFS3.LOOKUP, { what: { dir: dirFh, name: 'n' } })) as { object: Buffer }).object;
        const w = await caller(rpc, cred(BOB, BOB, gids))(NFS3.WRITE, { file: fileFh, offset: 0n, count: 1, stable: STABLE_HOW.FILE_SYNC, data: Buffer.from('x') });
        assert.equal(w.status, NFS3_OK);
        const k = fs.statSync(path.join(d, 'k')).mode & 0o7777;
        const n = fs.statSync(path.join(d, 'n')).mode & 0o7777;
        rows.push(`${fileMode.toString(8)} written by ${who}: kernel ${k.toString(8)}, server ${n.toString(8)}`);
        assert.equal(n, k, `${fileMode.toString(8)} by ${who}`);
      }
    }
    console.log(rows.join('\n'));
  });
});

test('--anon-uid and --anon-gid take a uid/gid: anything else exits 2 naming the option', () => {
  for (const [opt, value] of [['--anon-uid', 'nobody'], ['--anon-gid', '-1'], ['--anon-uid', '4294967295']]) {
    const r = runCli(['server', '--export', os.tmpdir(), opt, value]);
    assert.equal(r.code, 2, `${opt} ${value}`);
    assert.match(r.err, new RegExp(opt));
  }
});
