// Nothing outside the export is read, written or created, whatever names and handles a raw client sends
// (RFC 1813 §2.5: a filename3 is one path component; §3.3.10: the server stores symlink text and never follows
// it). A canary file sits next to the export; each attempt must fail with the nfsstat3 named here, and at the end
// the canary's content, mtime, atime (set before mtime, so relatime would move it on any read), ctime, link count
// and its directory's listing are unchanged.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { MOUNT3, MOUNTSTAT3 } from '../xdr/mount';
import { NFS3 } from '../xdr/nfs3/procs';
import { FTYPE3, NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { RawRpc, createFile, mountedServer, type MountedServer } from '../testing/server-rpc';
import { Canary, plantCanary } from './support/reliability-canary';

const { NFS3ERR_ACCES, NFS3ERR_EXIST, NFS3ERR_INVAL, NFS3ERR_PERM, NFS3ERR_NOTDIR, NFS3ERR_BADHANDLE } = NFSSTAT3;

let a: MountedServer; // the export under attack
let b: MountedServer; // another export (its own directory and handle secret)
let rpc: RawRpc;
let rpcB: RawRpc;
let root: Buffer;
let rootB: Buffer;
let canary: Canary;
let refused = 0;

before(async () => {
  a = await mountedServer();
  b = await mountedServer();
  canary = plantCanary(path.dirname(a.dir));
  ({ rpc, root } = a);
  ({ rpc: rpcB, root: rootB } = b);
});
after(async () => {
  await a.cleanup();
  await b.cleanup();
});

/** One escape attempt: its status must be `want` (and is counted for the README figure). */
function refusedWith(status: number | string, want: number | string, what: string): void {
  assert.equal(status, want, what);
  refused++;
}

const sattr = { mode: 0o644 };
const createArgs = (name: string, dir = root, mode: 0 | 1 | 2 = 0) => ({ where: { dir, name }, how: mode === 2 ? { mode: 2 as const, verf: Buffer.alloc(8, 7) } : { mode, attributes: sattr } });
const create = (name: string, dir = root, mode: 0 | 1 | 2 = 0) => rpc.call(NFS3.CREATE, createArgs(name, dir, mode));
const GARBAGE = 'GARBAGE_ARGS';

describe('names', () => {
  // A name that is empty, over 255 bytes or has "/" or NUL in it fails the decode, as nfsd's
  // svcxdr_decode_filename3 fails it: GARBAGE_ARGS, and no procedure runs.
  test('names containing "/" never leave the export: GARBAGE_ARGS; LOOKUP ".." at the root is the root', async () => {
    for (const name of ['../canary.txt', '../../etc/passwd', '/etc/passwd', 'a/../../canary.txt']) {
      refusedWith(await rpc.status(NFS3.LOOKUP, { what: { dir: root, name } }), GARBAGE, `LOOKUP ${name}`);
    }
    // nfsd_lookup_dentry: ".." at the export root stays there ("/* .. == . just like at / */").
    const up = await rpc.call(NFS3.LOOKUP, { what: { dir: root, name: '..' } });
    assert.equal(up.status, 0, 'LOOKUP ..');
    assert.deepEqual((up as { object: Buffer }).object, root, 'LOOKUP .. at the root answers the root');
    refused++;
    for (const name of ['../escape', '/tmp/escape', '../canary.txt']) {
      for (const mode of [0, 1, 2] as const) refusedWith(await rpc.status(NFS3.CREATE, createArgs(name, root, mode)), GARBAGE, `CREATE(${mode}) ${name}`);
      refusedWith(await rpc.status(NFS3.MKDIR, { where: { dir: root, name }, attributes: sattr }), GARBAGE, `MKDIR ${name}`);
      refusedWith(await rpc.status(NFS3.SYMLINK, { where: { dir: root, name }, symlink: { attributes: {}, data: 'x' } }), GARBAGE, `SYMLINK ${name}`);
      refusedWith(await rpc.status(NFS3.MKNOD, { where: { dir: root, name }, what: { type: 7, attributes: {} } }), GARBAGE, `MKNOD ${name}`);
      refusedWith(await rpc.status(NFS3.REMOVE, { object: { dir: root, name } }), GARBAGE, `REMOVE ${name}`);
    }
    refusedWith((await rpc.call(NFS3.MKDIR, { where: { dir: root, name: '..' }, attributes: sattr })).status, NFS3ERR_EXIST, 'MKDIR ..');
    refusedWith((await rpc.call(NFS3.RMDIR, { object: { dir: root, name: '..' } })).status, NFS3ERR_ACCES, 'RMDIR ..');
    refusedWith((await rpc.call(NFS3.RENAME, { from: { dir: root, name: '..' }, to: { dir: root, name: 'up' } })).status, NFS3ERR_PERM, 'RENAME ..');
  });

  test('NUL inside a name is refused, not truncated (ganesha 4.3 truncates): GARBAGE_ARGS and nothing named "a" appears', async () => {
    for (const mode of [0, 1, 2] as const) refusedWith(await rpc.status(NFS3.CREATE, createArgs('a\0b', root, mode)), GARBAGE, `CREATE(${mode}) a\\0b`);
    refusedWith(await rpc.status(NFS3.CREATE, createArgs('..\0', root)), GARBAGE, 'CREATE ..\\0');
    assert.equal(fs.existsSync(path.join(a.dir, 'a')), false);
  });

  test('names over 255 bytes: GARBAGE_ARGS (LOOKUP, CREATE, RENAME target, LINK)', async () => {
    const long = 'n'.repeat(256);
    const fh = await createFile(rpc, root, 'short');
    refusedWith(await rpc.status(NFS3.LOOKUP, { what: { dir: root, name: long } }), GARBAGE, 'LOOKUP long');
    refusedWith(await rpc.status(NFS3.CREATE, createArgs(long)), GARBAGE, 'CREATE long');
    refusedWith(await rpc.status(NFS3.RENAME, { from: { dir: root, name: 'short' }, to: { dir: root, name: long } }), GARBAGE, 'RENAME long');
    refusedWith(await rpc.status(NFS3.LINK, { file: fh, link: { dir: root, name: long } }), GARBAGE, 'LINK long');
    // 200 two-byte characters are 400 bytes: the limit is in bytes (NFS3_MAXNAMLEN, RFC 1813 §3.3.20 name_max)
    refusedWith(await rpc.status(NFS3.CREATE, createArgs('é'.repeat(200))), GARBAGE, 'CREATE 400 bytes');
    assert.equal((await create('n'.repeat(255))).status, 0, '255 bytes is a name');
  });

  test('RENAME and LINK cannot name a place outside: GARBAGE_ARGS', async () => {
    const fh = await createFile(rpc, root, 'mover');
    refusedWith(await rpc.status(NFS3.RENAME, { from: { dir: root, name: 'mover' }, to: { dir: root, name: '../moved' } }), GARBAGE, 'RENAME to ../');
    refusedWith(await rpc.status(NFS3.RENAME, { from: { dir: root, name: '../canary.txt' }, to: { dir: root, name: 'stolen' } }), GARBAGE, 'RENAME from ../');
    refusedWith(await rpc.status(NFS3.LINK, { file: fh, link: { dir: root, name: '../hardlink' } }), GARBAGE, 'LINK to ../');
    assert.equal(fs.existsSync(path.join(a.dir, 'mover')), true);
  });
});

describe('symlinks (stored as text, never followed by the server)', () => {
  test('a link to the canary: READ, WRITE and SETATTR size are NFS3ERR_INVAL; CREATE over it does not open the target', async () => {
    const made = await rpc.call(NFS3.SYMLINK, { where: { dir: root, name: 'to-canary' }, symlink: { attributes: {}, data: canary.file } });
    assert.equal(made.status, NFSSTAT3.NFS3_OK);
    const link = (made as { obj: Buffer }).obj;
    refusedWith((await rpc.call(NFS3.READ, { file: link, offset: 0n, count: 100 })).status, NFS3ERR_INVAL, 'READ via link');
    refusedWith((await rpc.call(NFS3.WRITE, { file: link, offset: 0n, count: 3, stable: STABLE_HOW.FILE_SYNC, data: Buffer.from('pwn') })).status, NFS3ERR_INVAL, 'WRITE via link');
    refusedWith((await rpc.call(NFS3.SETATTR, { object: link, newAttributes: { size: 0n } })).status, NFS3ERR_INVAL, 'SETATTR size via link');
    refusedWith((await rpc.call(NFS3.COMMIT, { file: link, offset: 0n, count: 0 })).status, NFS3ERR_INVAL, 'COMMIT via link');
    // CREATE on the link's name, as nfsd3_create_file: UNCHECKED answers the link itself (NFS3_OK, nothing opened,
    // nothing changed), GUARDED finds it exists, EXCLUSIVE finds something that is not its file (EXIST). None
    // truncates the canary.
    const unchecked = await rpc.call(NFS3.CREATE, { where: { dir: root, name: 'to-canary' }, how: { mode: 0, attributes: { size: 0n } } });
    assert.equal(unchecked.status, NFSSTAT3.NFS3_OK, 'CREATE UNCHECKED over link');
    assert.equal((unchecked as { objAttributes: { type: number } }).objAttributes.type, FTYPE3.NF3LNK);
    refusedWith((await create('to-canary', root, 1)).status, NFS3ERR_EXIST, 'CREATE GUARDED over link');
    refusedWith((await create('to-canary', root, 2)).status, NFS3ERR_EXIST, 'CREATE EXCLUSIVE over link');
    // SETATTR mode/times apply to the link itself (lchmod is skipped, lutimes), never to its target.
    await rpc.call(NFS3.SETATTR, { object: link, newAttributes: { mode: 0o777, mtime: 'server', atime: 'server' } });
  });

  test('a link to a directory outside: LOOKUP and CREATE inside it are NFS3ERR_NOTDIR; MNT through it MNT3ERR_ACCES', async () => {
    const made = await rpc.call(NFS3.SYMLINK, { where: { dir: root, name: 'to-parent' }, symlink: { attributes: {}, data: canary.dir } });
    const link = (made as { obj: Buffer }).obj;
    refusedWith((await rpc.call(NFS3.LOOKUP, { what: { dir: link, name: 'canary.txt' } })).status, NFS3ERR_NOTDIR, 'LOOKUP through link');
    refusedWith((await create('planted', link)).status, NFS3ERR_NOTDIR, 'CREATE through link');
    refusedWith((await rpc.call(NFS3.READDIR, { dir: link, cookie: 0n, cookieverf: Buffer.alloc(8), count: 4096 })).status, NFS3ERR_NOTDIR, 'READDIR through link');
    refusedWith((await rpc.call(NFS3.RENAME, { from: { dir: root, name: 'short' }, to: { dir: link, name: 'stolen' } })).status, NFS3ERR_NOTDIR, 'RENAME into link');
    refusedWith((await rpc.call(MOUNT3.MNT, { dirpath: '/export/to-parent' })).status, MOUNTSTAT3.MNT3ERR_ACCES, 'MNT through link');
    refusedWith((await rpc.call(MOUNT3.MNT, { dirpath: '/export/..' })).status, MOUNTSTAT3.MNT3ERR_NOENT, 'MNT ..');
  });
});

describe('handles', () => {
  test('forged, truncated, extended and zero handles: NFS3ERR_BADHANDLE', async () => {
    const forged = Buffer.from(root);
    forged[forged.length - 1] ^= 0x80; // MAC bit
    const otherIno = Buffer.from(root);
    otherIno[13] ^= 1; // inode without re-MAC
    for (const fh of [forged, otherIno, root.subarray(0, root.length - 1), Buffer.concat([root, Buffer.alloc(4)]), Buffer.alloc(38), Buffer.alloc(64, 0xff)]) {
      refusedWith((await rpc.call(NFS3.GETATTR, { object: fh })).status, NFS3ERR_BADHANDLE, `GETATTR ${fh.toString('hex')}`);
      refusedWith((await create('via-forged', fh)).status, NFS3ERR_BADHANDLE, 'CREATE in forged dir');
    }
  });

  test("another export's handles (another secret) are NFS3ERR_BADHANDLE here: GETATTR, READ, WRITE, LINK, RENAME across", async () => {
    const fileB = await createFile(rpcB, rootB, 'b-file');
    await rpcB.call(NFS3.WRITE, { file: fileB, offset: 0n, count: 5, stable: STABLE_HOW.FILE_SYNC, data: Buffer.from('b-dat') });
    refusedWith((await rpc.call(NFS3.GETATTR, { object: rootB })).status, NFS3ERR_BADHANDLE, 'GETATTR B root on A');
    refusedWith((await rpc.call(NFS3.READ, { file: fileB, offset: 0n, count: 5 })).status, NFS3ERR_BADHANDLE, 'READ B file on A');
    refusedWith((await rpc.call(NFS3.WRITE, { file: fileB, offset: 0n, count: 3, stable: STABLE_HOW.FILE_SYNC, data: Buffer.from('pwn') })).status, NFS3ERR_BADHANDLE, 'WRITE B file on A');
    refusedWith((await rpc.call(NFS3.LINK, { file: fileB, link: { dir: root, name: 'hard-from-b' } })).status, NFS3ERR_BADHANDLE, 'LINK B file into A');
    await createFile(rpc, root, 'a-file');
    refusedWith((await rpc.call(NFS3.RENAME, { from: { dir: root, name: 'a-file' }, to: { dir: rootB, name: 'moved' } })).status, NFS3ERR_BADHANDLE, 'RENAME A -> B dir');
    refusedWith((await rpc.call(NFS3.RENAME, { from: { dir: rootB, name: 'b-file' }, to: { dir: root, name: 'moved' } })).status, NFS3ERR_BADHANDLE, 'RENAME B dir -> A');
    assert.equal(fs.readFileSync(path.join(b.dir, 'b-file'), 'utf8'), 'b-dat');
    assert.equal(fs.existsSync(path.join(b.dir, 'moved')), false);
    assert.equal(fs.existsSync(path.join(a.dir, 'hard-from-b')), false);
  });
});

test('the canary outside the export was never read, written, linked or joined by a new file', () => {
  canary.check();
  assert.ok(refused >= 60, `${refused} escape attempts refused`);
  console.log(`escape attempts refused: ${refused}`);
});
