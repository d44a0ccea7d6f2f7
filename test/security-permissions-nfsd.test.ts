// The AUTH_SYS model against the real Linux nfsd (Debian's cloud kernel under QEMU, lab/linux): the same tree is
// built on both servers through NFS as root, then the same calls are made with the same credentials, and every
// answer must agree: statuses, ACCESS bits, whether READDIRPLUS gives handles, and the owner, group and mode of
// what the calls created or changed (set-id bits included). The guest exports with no_root_squash, so squashing
// is compared with the kernel in security-permissions.test.ts instead. Also compared: "." and ".." where nfsd
// resolves or refuses them (LOOKUP at the export root, REMOVE, RMDIR, RENAME), and FSINFO's transfer sizes with
// our record limit set to the one nfsd derives from its max block size (sv_max_mesg), with a WRITE just over
// wtmax. Skipped with the reason when QEMU or the guest's packages are missing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LinuxNfsd } from '../lab/linux/nfsd';
import { linuxGuestMissing } from '../lab/linux/requirements';
import { decodeReply } from '../xdr/message';
import { MOUNT3 } from '../xdr/mount';
import { ACCESS3, STABLE_HOW } from '../xdr/nfs3/constants';
import { NFS3 } from '../xdr/nfs3/procs';
import type { Fattr3 } from '../xdr/nfs3/types';
import type { ProcCodec } from '../xdr/procedure';
import { OpaqueAuth, encodeAuthSys } from '../xdr/rpc';
import { MountedServer, RawRpc, mountedServer } from '../testing/server-rpc';
import { PAGE } from '../server/nfs3/limits';
import { assertNothingLeft } from './support/linux';

const skip = linuxGuestMissing();

const ROOT = 0;
const ALICE = 1000;
const BOB = 1001;
const CAROL = 1002;
const STAFF = 100;
const cred = (uid: number, gid = uid, gids: number[] = [gid]): OpaqueAuth => encodeAuthSys({ stamp: 1, machinename: 'perm', uid, gid, gids });
const WHO = { root: cred(ROOT), alice: cred(ALICE), bob: cred(BOB), carol: cred(CAROL, CAROL, [CAROL, STAFF]) };
type Who = keyof typeof WHO;

/** One server as the probes see it: calls as a credential, by path from the export root. */
class Peer {
  constructor(
    readonly name: string,
    readonly rpc: RawRpc,
    readonly root: Buffer,
  ) {}

  async call<A, R>(who: Who, codec: ProcCodec<A, R>, args: A): Promise<R & { status: number }> {
    const xid = this.rpc.xid();
    this.rpc.send(RawRpc.message(codec, args, xid, WHO[who]));
    const [rep] = await this.rpc.waitFor(xid, 1, 60_000);
    const { reply, res } = decodeReply(rep, codec);
    if (reply.stat !== 'accepted' || reply.acceptStat !== 0) throw new Error(`${this.name} xid ${xid}: ${JSON.stringify(reply)}`);
    return res as R & { status: number };
  }

  async fh(rel: string): Promise<Buffer> {
    let h = this.root;
    for (const part of rel.split('/').filter(Boolean)) {
      const r = await this.call('root', NFS3.LOOKUP, { what: { dir: h, name: part } });
      if (r.status !== 0) throw new Error(`${this.name}: LOOKUP ${rel}: ${r.status}`);
      h = (r as { object: Buffer }).object;
    }
    return h;
  }

  /** "uid:gid:mode" of rel, or "absent" */
  async stat(rel: string): Promise<string> {
    let h: Buffer;
    try {
      h = await this.fh(rel);
    } catch {
      return 'absent';
    }
    const a = ((await this.call('root', NFS3.GETATTR, { object: h })) as { objAttributes: Fattr3 }).objAttributes;
    return `${a.uid}:${a.gid}:${a.mode.toString(8)}`;
  }

  /** Makes rel (file or directory) as root, then gives it its owner and mode (chown first: it clears set-id bits). */
  async make(rel: string, kind: 'file' | 'dir', uid: number, gid: number, mode: number): Promise<void> {
    const dir = await this.fh(path.posix.dirname(rel));
    const name = path.posix.basename(rel);
    const r =
      kind === 'dir'
        ? await this.call('root', NFS3.MKDIR, { where: { dir, name }, attributes: { mode: 0o700 } })
        : await this.call('root', NFS3.CREATE, { where: { dir, name }, how: { mode: 1, attributes: { mode: 0o600 } } });
    if (r.status !== 0) throw new Error(`${this.name}: make ${rel}: ${r.status}`);
    const fh = (r as { obj: Buffer }).obj;
    if (kind === 'file') await this.call('root', NFS3.WRITE, { file: fh, offset: 0n, count: 5, stable: STABLE_HOW.FILE_SYNC, data: Buffer.from('data\n') });
    await this.own(rel, uid, gid, mode);
  }

  async own(rel: string, uid: number, gid: number, mode: number): Promise<void> {
    const fh = await this.fh(rel);
    for (const newAttributes of [{ uid, gid }, { mode }]) {
      const s = await this.call('root', NFS3.SETATTR, { object: fh, newAttributes });
      if (s.status !== 0) throw new Error(`${this.name}: SETATTR ${rel} ${JSON.stringify(newAttributes)}: ${s.status}`);
    }
  }
}

/** The tree both servers get, in order (a directory's entries before its final mode). */
async function build(p: Peer): Promise<void> {
  await p.call('root', NFS3.SETATTR, { object: p.root, newAttributes: { mode: 0o755, uid: ROOT, gid: ROOT } });
  const files: Array<[string, number, number, number]> = [
    ['secret', ROOT, ROOT, 0o600],
    ['pub', ROOT, ROOT, 0o644],
    ['runnable', ROOT, ROOT, 0o711],
    ['staff', ROOT, STAFF, 0o660],
    ['alice', ALICE, ALICE, 0o644],
    ['alice0', ALICE, ALICE, 0o000],
    ['alice666', ALICE, ALICE, 0o666],
    ['suid-a', ALICE, STAFF, 0o6777],
    ['suid-b', ALICE, STAFF, 0o6777],
    ['sgid-a', ALICE, STAFF, 0o2767],
    ['sgid-b', ALICE, STAFF, 0o2767],
  ];
  for (const [name, uid, gid, mode] of files) await p.make(name, 'file', uid, gid, mode);
  await p.make('adir', 'dir', ALICE, ALICE, 0o755);
  await p.make('private', 'dir', ALICE, ALICE, 0o700);
  await p.make('listonly', 'dir', ROOT, ROOT, 0o755);
  await p.make('listonly/inside', 'file', ROOT, ROOT, 0o644);
  await p.own('listonly', ALICE, ALICE, 0o744);
  await p.make('shared', 'dir', ROOT, ROOT, 0o1777);
  await p.make('shared/af', 'file', ALICE, ALICE, 0o666);
  await p.make('shared/bf', 'file', BOB, BOB, 0o666);
  await p.make('sgid', 'dir', ROOT, STAFF, 0o2777);
}

const ALL = ACCESS3.READ | ACCESS3.LOOKUP | ACCESS3.MODIFY | ACCESS3.EXTEND | ACCESS3.DELETE | ACCESS3.EXECUTE;

/** Each probe makes calls on one peer and answers a string both peers must give alike. */
const probes: Array<[string, (p: Peer) => Promise<string>]> = [];
const status = async (r: Promise<{ status: number }>) => String((await r).status);
const read = (who: Who, rel: string) => probes.push([`READ ${rel} as ${who}`, async (p) => status(p.call(who, NFS3.READ, { file: await p.fh(rel), offset: 0n, count: 64 }))]);
const write = (who: Who, rel: string) =>
  probes.push([`WRITE ${rel} as ${who}`, async (p) => `${await status(p.call(who, NFS3.WRITE, { file: await p.fh(rel), offset: 0n, count: 1, stable: STABLE_HOW.FILE_SYNC, data: Buffer.from('x') }))} ${await p.stat(rel)}`]);
const setattr = (who: Who, rel: string, newAttributes: object) =>
  probes.push([`SETATTR ${rel} ${JSON.stringify(newAttributes, (_k, v) => (typeof v === "bigint" ? String(v) : v))} as ${who}`, async (p) => `${await status(p.call(who, NFS3.SETATTR, { object: await p.fh(rel), newAttributes }))} ${await p.stat(rel)}`]);
const access = (who: Who, rel: string) => probes.push([`ACCESS ${rel} as ${who}`, async (p) => String(((await p.call(who, NFS3.ACCESS, { object: await p.fh(rel), access: ALL })) as { access: number }).access)]);
const dirop = (what: string, who: Who, run: (p: Peer) => Promise<{ status: number }>, after: string[] = []) =>
  probes.push([`${what} as ${who}`, async (p) => [await status(run(p)), ...(await Promise.all(after.map((r) => p.stat(r))))].join(' ')]);

for (const [who, rel] of [['bob', 'secret'], ['bob', 'pub'], ['bob', 'runnable'], ['alice', 'alice0'], ['bob', 'alice0'], ['carol', 'staff'], ['bob', 'staff'], ['root', 'secret']] as const) read(who, rel);
for (const [who, rel] of [['bob', 'secret'], ['bob', 'alice'], ['alice', 'alice0'], ['bob', 'suid-a'], ['carol', 'suid-b'], ['bob', 'sgid-a'], ['carol', 'sgid-b']] as const) write(who, rel);
probes.push(['COMMIT secret as bob', async (p) => status(p.call('bob', NFS3.COMMIT, { file: await p.fh('secret'), offset: 0n, count: 0 }))]);
setattr('bob', 'alice', { mode: 0o777 });
setattr('alice', 'alice', { mode: 0o640 });
setattr('alice', 'alice', { uid: BOB });
setattr('alice', 'alice', { gid: BOB });
setattr('root', 'alice', { uid: BOB, gid: STAFF });
setattr('bob', 'alice', { gid: BOB });
setattr('bob', 'alice', { mode: 0o2755, gid: STAFF });
setattr('bob', 'alice', { mode: 0o2755 });
setattr('bob', 'alice666', { mtime: { seconds: 1, nseconds: 0 } });
setattr('bob', 'alice666', { mtime: 'server', atime: 'server' });
setattr('bob', 'pub', { mtime: 'server' });
setattr('bob', 'pub', { size: 0n });
setattr('alice', 'alice0', { size: 0n });
for (const [who, rel] of [['bob', 'secret'], ['bob', 'pub'], ['bob', 'runnable'], ['alice', 'adir'], ['bob', 'adir'], ['root', 'pub'], ['root', 'runnable'], ['bob', 'shared'], ['bob', 'listonly']] as const) access(who, rel);
const where = async (p: Peer, rel: string) => ({ dir: await p.fh(path.posix.dirname(rel)), name: path.posix.basename(rel) });
dirop('CREATE adir/b', 'bob', async (p) => p.call('bob', NFS3.CREATE, { where: await where(p, 'adir/b'), how: { mode: 0, attributes: { mode: 0o644 } } }), ['adir/b']);
dirop('CREATE adir/a 4750', 'alice', async (p) => p.call('alice', NFS3.CREATE, { where: await where(p, 'adir/a'), how: { mode: 0, attributes: { mode: 0o4750 } } }), ['adir/a']);
dirop('CREATE UNCHECKED existing adir/a', 'bob', async (p) => p.call('bob', NFS3.CREATE, { where: await where(p, 'adir/a'), how: { mode: 0, attributes: {} } }), ['adir/a']);
dirop('CREATE UNCHECKED existing adir/a size 0', 'bob', async (p) => p.call('bob', NFS3.CREATE, { where: await where(p, 'adir/a'), how: { mode: 0, attributes: { size: 0n } } }));
dirop('CREATE no mode', 'alice', async (p) => p.call('alice', NFS3.CREATE, { where: await where(p, 'adir/nomode'), how: { mode: 0, attributes: {} } }), ['adir/nomode']);
dirop('CREATE EXCLUSIVE', 'alice', async (p) => p.call('alice', NFS3.CREATE, { where: await where(p, 'adir/excl'), how: { mode: 2, verf: Buffer.from('0123abcd') } }), ['adir/excl']);
probes.push([
  'CREATE EXCLUSIVE: the verifier in mtime/atime seconds',
  async (p) => {
    const a = ((await p.call('root', NFS3.GETATTR, { object: await p.fh('adir/excl') })) as { objAttributes: Fattr3 }).objAttributes;
    return `${a.mtime.seconds} ${a.atime.seconds}`;
  },
]);
dirop('CREATE sgid/g 2770', 'bob', async (p) => p.call('bob', NFS3.CREATE, { where: await where(p, 'sgid/g'), how: { mode: 0, attributes: { mode: 0o2770 } } }), ['sgid/g']);
dirop('MKDIR sgid/sub 4755', 'carol', async (p) => p.call('carol', NFS3.MKDIR, { where: await where(p, 'sgid/sub'), attributes: { mode: 0o4755 } }), ['sgid/sub']);
dirop('MKDIR adir/x', 'bob', async (p) => p.call('bob', NFS3.MKDIR, { where: await where(p, 'adir/x'), attributes: {} }), ['adir/x']);
dirop('MKDIR no mode', 'alice', async (p) => p.call('alice', NFS3.MKDIR, { where: await where(p, 'adir/d0'), attributes: {} }), ['adir/d0']);
dirop('SYMLINK adir/l', 'alice', async (p) => p.call('alice', NFS3.SYMLINK, { where: await where(p, 'adir/l'), symlink: { attributes: {}, data: 'a' } }), ['adir/l']);
dirop('SYMLINK adir/l2', 'bob', async (p) => p.call('bob', NFS3.SYMLINK, { where: await where(p, 'adir/l2'), symlink: { attributes: {}, data: 'a' } }));
dirop('CREATE with uid (non-root)', 'alice', async (p) => p.call('alice', NFS3.CREATE, { where: await where(p, 'adir/given'), how: { mode: 0, attributes: { mode: 0o644, uid: BOB } } }), ['adir/given']);
dirop('CREATE with uid (root)', 'root', async (p) => p.call('root', NFS3.CREATE, { where: await where(p, 'adir/given2'), how: { mode: 0, attributes: { mode: 0o644, uid: BOB } } }), ['adir/given2']);
dirop('MKNOD adir/fifo', 'bob', async (p) => p.call('bob', NFS3.MKNOD, { where: await where(p, 'adir/fifo'), what: { type: 7, attributes: {} } }));
dirop('REMOVE shared/af', 'bob', async (p) => p.call('bob', NFS3.REMOVE, { object: await where(p, 'shared/af') }), ['shared/af']);
dirop('RENAME shared/af -> mine', 'bob', async (p) => p.call('bob', NFS3.RENAME, { from: await where(p, 'shared/af'), to: await where(p, 'shared/mine') }), ['shared/af']);
dirop('RENAME shared/bf over af', 'bob', async (p) => p.call('bob', NFS3.RENAME, { from: await where(p, 'shared/bf'), to: await where(p, 'shared/af') }), ['shared/af', 'shared/bf']);
dirop('REMOVE shared/bf', 'bob', async (p) => p.call('bob', NFS3.REMOVE, { object: await where(p, 'shared/bf') }), ['shared/bf']);
dirop('REMOVE adir/a', 'bob', async (p) => p.call('bob', NFS3.REMOVE, { object: await where(p, 'adir/a') }), ['adir/a']);
dirop('LINK pub -> adir/hard', 'bob', async (p) => p.call('bob', NFS3.LINK, { file: await p.fh('pub'), link: await where(p, 'adir/hard') }));
dirop('LINK secret -> adir/hard', 'alice', async (p) => p.call('alice', NFS3.LINK, { file: await p.fh('secret'), link: await where(p, 'adir/hard') }));
dirop('LINK adir -> shared/dirlink', 'root', async (p) => p.call('root', NFS3.LINK, { file: await p.fh('adir'), link: await where(p, 'shared/dirlink') }));
dirop('LOOKUP private/x', 'bob', async (p) => p.call('bob', NFS3.LOOKUP, { what: await where(p, 'private/x') }));
dirop('READDIR private', 'bob', async (p) => p.call('bob', NFS3.READDIR, { dir: await p.fh('private'), cookie: 0n, cookieverf: Buffer.alloc(8), count: 4096 }));
for (const who of ['bob', 'alice'] as const) {
  probes.push([
    `READDIRPLUS listonly as ${who}: handles given?`,
    async (p) => {
      const r = (await p.call(who, NFS3.READDIRPLUS, { dir: await p.fh('listonly'), cookie: 0n, cookieverf: Buffer.alloc(8), dircount: 4096, maxcount: 65536 })) as { status: number; entries?: Array<{ name: string; nameHandle?: Buffer }> };
      const inside = r.entries?.find((e) => e.name === 'inside');
      return `${r.status} ${inside ? (inside.nameHandle ? 'handle' : 'no handle') : 'no entry'}`;
    },
  ]);
}

// "." and "..": LOOKUP resolves them (nfsd_lookup_dentry: at the export root ".." is the root), REMOVE and RMDIR
// refuse them first (nfsd_unlink), RENAME after the directories' permissions (nfsd_rename).
const sameAs = async (p: Peer, h: Buffer | undefined, rel: string) => (h ? (h.equals(await p.fh(rel)) ? `= ${rel || 'root'}` : 'another handle') : 'no handle');
for (const [who, dir] of [['root', ''], ['bob', ''], ['root', 'adir'], ['bob', 'sgid/sub']] as const) {
  probes.push([
    `LOOKUP .. in ${dir || 'the root'} as ${who}`,
    async (p) => {
      const r = (await p.call(who, NFS3.LOOKUP, { what: { dir: await p.fh(dir), name: '..' } })) as { status: number; object?: Buffer };
      return `${r.status} ${await sameAs(p, r.object, path.posix.dirname(dir) === '.' ? '' : path.posix.dirname(dir))}`;
    },
  ]);
}
for (const who of ['root', 'bob', 'alice'] as const) {
  for (const dir of ['', 'adir']) {
    for (const name of ['.', '..']) {
      dirop(`REMOVE ${dir}/${name}`, who, async (p) => p.call(who, NFS3.REMOVE, { object: { dir: await p.fh(dir), name } }));
      dirop(`RMDIR ${dir}/${name}`, who, async (p) => p.call(who, NFS3.RMDIR, { object: { dir: await p.fh(dir), name } }));
      dirop(`RENAME adir/${name} -> ${dir}/z`, who, async (p) => p.call(who, NFS3.RENAME, { from: { dir: await p.fh('adir'), name }, to: { dir: await p.fh(dir), name: 'z' } }));
      dirop(`RENAME adir/l -> ${dir}/${name}`, who, async (p) => p.call(who, NFS3.RENAME, { from: { dir: await p.fh('adir'), name: 'l' }, to: { dir: await p.fh(dir), name } }), ['adir/l']);
    }
  }
}
// "." and ".." as the name of something new: NFS3ERR_EXIST first (nfsd3_create_file, nfsd_create, nfsd_symlink),
// or after the directory's permission and the source's type (nfsd_link); an empty symlink target is NOENT first.
for (const who of ['root', 'bob'] as const) {
  for (const name of ['.', '..']) {
    dirop(`CREATE adir/${name}`, who, async (p) => p.call(who, NFS3.CREATE, { where: { dir: await p.fh('adir'), name }, how: { mode: 0, attributes: {} } }));
    dirop(`MKDIR adir/${name}`, who, async (p) => p.call(who, NFS3.MKDIR, { where: { dir: await p.fh('adir'), name }, attributes: {} }));
    dirop(`MKNOD adir/${name}`, who, async (p) => p.call(who, NFS3.MKNOD, { where: { dir: await p.fh('adir'), name }, what: { type: 7, attributes: {} } }));
    dirop(`SYMLINK adir/${name}`, who, async (p) => p.call(who, NFS3.SYMLINK, { where: { dir: await p.fh('adir'), name }, symlink: { attributes: {}, data: 'a' } }));
    dirop(`LINK pub -> adir/${name}`, who, async (p) => p.call(who, NFS3.LINK, { file: await p.fh('pub'), link: { dir: await p.fh('adir'), name } }));
    dirop(`LINK adir -> adir/${name}`, who, async (p) => p.call(who, NFS3.LINK, { file: await p.fh('adir'), link: { dir: await p.fh('adir'), name } }));
  }
  for (const [i, label, data] of [[0, '""', ''], [1, '"a\\0b"', 'a\0b'], [2, '4096 bytes', 'a'.repeat(4096)], [3, '4095 bytes', 'b'.repeat(4095)]] as const) {
    dirop(`SYMLINK adir/t${i}-${who} -> ${label}`, who, async (p) => p.call(who, NFS3.SYMLINK, { where: { dir: await p.fh('adir'), name: `t${i}-${who}` }, symlink: { attributes: {}, data } }), [`adir/t${i}-${who}`]);
  }
}

// Names nfsd's decoder refuses (svcxdr_decode_filename3): GARBAGE_ARGS, the call never runs.
const accepted = async (r: Promise<{ status: number }>) => {
  try {
    return String((await r).status);
  } catch (e) {
    return /"acceptStat":4/.test((e as Error).message) ? 'GARBAGE_ARGS' : (e as Error).message.replace(/xid \d+/, 'xid');
  }
};
for (const name of ['a/b', '', 'n'.repeat(256), 'a\0b', 'n'.repeat(255)]) {
  const shown = name.length > 20 ? `${name.length} bytes` : JSON.stringify(name);
  probes.push([`LOOKUP ${shown}`, async (p) => accepted(p.call('root', NFS3.LOOKUP, { what: { dir: p.root, name } }))]);
  probes.push([`REMOVE ${shown}`, async (p) => accepted(p.call('root', NFS3.REMOVE, { object: { dir: p.root, name } }))]);
  probes.push([`RENAME pub -> ${shown}`, async (p) => accepted(p.call('bob', NFS3.RENAME, { from: { dir: p.root, name: 'pub' }, to: { dir: p.root, name } }))]);
}
// SYMLINK targets past a page: 6.1's decoder (xdr_inline_decode into a one-page scratch buffer) refuses them before
// nfsd3_proc_symlink's NAMETOOLONG check could run, the one with a NUL too.
for (const [label, data] of [['4097 bytes', 'c'.repeat(4097)], ['16 KiB', 'd'.repeat(16 << 10)], ['4096 bytes + NUL', `${'e'.repeat(4096)}\0`]]) {
  probes.push([`SYMLINK long -> ${label}`, async (p) => accepted(p.call('root', NFS3.SYMLINK, { where: { dir: p.root, name: 'long' }, symlink: { attributes: {}, data } }))]);
}
probes.push([
  'FSINFO rtmax rtpref rtmult wtmax wtpref wtmult dtpref',
  async (p) => {
    const f = (await p.call('root', NFS3.FSINFO, { fsroot: p.root })) as unknown as Record<string, number>;
    return [f.status, f.rtmax, f.rtpref, f.rtmult, f.wtmax, f.wtpref, f.wtmult, f.dtpref].join(' ');
  },
]);
probes.push([
  'WRITE wtmax + 1 KiB: cut to wtmax',
  async (p) => {
    const { wtmax } = (await p.call('root', NFS3.FSINFO, { fsroot: p.root })) as unknown as { wtmax: number };
    const data = Buffer.alloc(wtmax + 1024, 0x62);
    const w = (await p.call('root', NFS3.WRITE, { file: await p.fh('pub'), offset: 0n, count: data.length, stable: STABLE_HOW.FILE_SYNC, data })) as { status: number; count?: number };
    return `${w.status} ${w.count === wtmax ? 'count wtmax' : `count ${w.count}`}`;
  },
]);

describe('our server and the real nfsd answer the same calls alike', { skip }, () => {
  let ours: MountedServer;
  let nfsd: LinuxNfsd;
  let out: string;
  const peers: Peer[] = [];
  before(async () => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'perm-nfsd-'));
    nfsd = await LinuxNfsd.start({ outDir: out, exportSize: 16 << 20 });
    // nfsd accepts records up to sv_max_mesg = roundup(max block size + PAGE_SIZE, PAGE_SIZE) (__svc_create)
    ours = await mountedServer({ limits: { maxRecordSize: Math.ceil((nfsd.maxBlockSize + PAGE) / PAGE) * PAGE } });
    const mnt = await RawRpc.connect(nfsd.mountPort);
    const m = await mnt.call(MOUNT3.MNT, { dirpath: nfsd.exportPath });
    mnt.close();
    assert.equal(m.status, 0, 'MNT on the guest');
    peers.push(new Peer('ours', ours.rpc, ours.root), new Peer('linux nfsd', await RawRpc.connect(nfsd.nfsPort), (m as { fhandle: Buffer }).fhandle));
    for (const p of peers) await build(p);
  });
  after(async () => {
    peers[1]?.rpc.close();
    await ours?.cleanup();
    if (nfsd) {
      await nfsd.stop();
      assertNothingLeft([nfsd.guest.pid]);
    }
    fs.rmSync(out, { recursive: true, force: true });
  });

  test(`${probes.length} probes`, async (t) => {
    const differ: string[] = [];
    for (const [what, run] of probes) {
      const [a, b] = [await run(peers[0]), await run(peers[1])];
      t.diagnostic(`${what}: ${a === b ? a : `ours ${a}, nfsd ${b}`}`);
      if (a !== b) differ.push(`${what}: ours ${a}, nfsd ${b}`);
    }
    assert.deepEqual(differ, [], `kernel ${nfsd.kernel}`);
  });
});
