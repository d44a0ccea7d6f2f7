// Hostile and broken input never takes the server down: RFC 5531 error replies for unknown programs, versions
// and procedures, garbage arguments and bad credentials; oversize record headers close only that connection;
// forged handles are NFS3ERR_BADHANDLE; nothing reaches outside the export; mutated real calls are survived.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { encodeCall } from '../xdr/message';
import { MOUNT3, MOUNTSTAT3 } from '../xdr/mount';
import { NFS3, NFS3_PROCS } from '../xdr/nfs3/procs';
import { FTYPE3, NFSSTAT3, NFS_PROGRAM } from '../xdr/nfs3/constants';
import { RecordDecoder } from '../xdr/record';
import { ACCEPT_STAT, AUTH_STAT, REJECT_STAT, decodeMessage } from '../xdr/rpc';
import { XdrReader } from '../xdr/reader';
import { RawRpc, ROOT_CRED, createFile, mountedServer, type MountedServer } from '../testing/server-rpc';
import { readTcpStreams } from '../testing/xdr-pcap-lite';

const CAPTURES = path.join(__dirname, '..', '..', '..', 'shared', 'captures');
const LS_PCAP = path.join(CAPTURES, 'libnfs-ganesha-ls.pcap');

let t: MountedServer;
let rpc: RawRpc;
let root: Buffer;

before(async () => {
  t = await mountedServer();
  ({ rpc, root } = t);
});
after(() => t.cleanup());

const rawReply = (msg: Buffer) => rpc.reply(msg);

describe('RFC 5531 §9 error replies', () => {
  test('unknown program: PROG_UNAVAIL', async () => {
    const r = await rawReply(Buffer.concat(encodeCall({ xid: rpc.xid(), prog: 400123 }, NFS3.NULL, undefined)));
    assert.equal(r.acceptStat, ACCEPT_STAT.PROG_UNAVAIL);
  });

  test('NFS version 4 and MOUNT version 1: PROG_MISMATCH with the supported range 3..3', async () => {
    for (const codec of [NFS3.NULL, MOUNT3.NULL]) {
      const r = await rawReply(Buffer.concat(encodeCall({ xid: rpc.xid(), vers: codec === NFS3.NULL ? 4 : 1 }, codec, undefined)));
      assert.equal(r.acceptStat, ACCEPT_STAT.PROG_MISMATCH);
      assert.deepEqual(r.mismatch, { low: 3, high: 3 });
    }
  });

  test('unknown procedure: PROC_UNAVAIL', async () => {
    const r = await rawReply(Buffer.concat(encodeCall({ xid: rpc.xid(), proc: 22 }, NFS3.NULL, undefined)));
    assert.equal(r.acceptStat, ACCEPT_STAT.PROC_UNAVAIL);
  });

  test('truncated arguments: GARBAGE_ARGS', async () => {
    const msg = RawRpc.message(NFS3.WRITE, { file: root, offset: 0n, count: 100, stable: 0, data: Buffer.alloc(100) }, rpc.xid());
    const r = await rawReply(msg.subarray(0, msg.length - 60));
    assert.equal(r.acceptStat, ACCEPT_STAT.GARBAGE_ARGS);
  });

  test('rpcvers 3: MSG_DENIED RPC_MISMATCH 2..2', async () => {
    const msg = RawRpc.message(NFS3.NULL, undefined, rpc.xid());
    msg.writeUInt32BE(3, 8);
    const r = await rawReply(msg);
    assert.equal(r.rejectStat, REJECT_STAT.RPC_MISMATCH);
    assert.deepEqual(r.mismatch, { low: 2, high: 2 });
  });

  test('an unknown credential flavor is AUTH_REJECTEDCRED; a malformed AUTH_SYS body AUTH_BADCRED', async () => {
    const weird = await rawReply(Buffer.concat(encodeCall({ xid: rpc.xid(), cred: { flavor: 99, body: Buffer.alloc(8) } }, NFS3.NULL, undefined)));
    assert.equal(weird.rejectStat, REJECT_STAT.AUTH_ERROR);
    assert.equal(weird.authStat, AUTH_STAT.AUTH_REJECTEDCRED);
    const bad = await rawReply(Buffer.concat(encodeCall({ xid: rpc.xid(), cred: { flavor: 1, body: Buffer.alloc(6) } }, NFS3.NULL, undefined)));
    assert.equal(bad.authStat, AUTH_STAT.AUTH_BADCRED);
  });
});

describe('record marking', () => {
  test('an oversize record header closes that connection with a log line; others keep working', async () => {
    const victim = await RawRpc.connect(t.server.address.port);
    victim.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    await victim.waitClosed();
    assert.ok(t.logLines.some((l) => l.includes('bad record marking') && l.includes('RM_OVERSIZE')));
    await rpc.call(NFS3.NULL, undefined);
  });
});

describe('file handles', () => {
  test('forged, truncated and foreign handles are NFS3ERR_BADHANDLE', async () => {
    const flipped = Buffer.from(root);
    flipped[flipped.length - 1] ^= 1;
    const otherIno = Buffer.from(root);
    otherIno[9] ^= 0x40; // an inode number changed without the MAC
    for (const fh of [flipped, otherIno, root.subarray(0, 20), Buffer.alloc(64, 0xab), Buffer.alloc(0)]) {
      const res = await rpc.call(NFS3.GETATTR, { object: fh });
      assert.equal(res.status, NFSSTAT3.NFS3ERR_BADHANDLE);
    }
  });

  test('the handle of a removed file is NFS3ERR_STALE', async () => {
    const fh = await createFile(rpc, root, 'gone');
    fs.unlinkSync(path.join(t.dir, 'gone'));
    assert.equal((await rpc.call(NFS3.GETATTR, { object: fh })).status, NFSSTAT3.NFS3ERR_STALE);
  });
});

describe('nothing escapes the export', () => {
  const lookup = (name: string, dir = root) => rpc.call(NFS3.LOOKUP, { what: { dir, name } });

  test('".." and "." at the export root are the root itself (nfsd_lookup_dentry)', async () => {
    for (const name of ['..', '.']) {
      const r = await lookup(name);
      assert.equal(r.status, NFSSTAT3.NFS3_OK, name);
      assert.deepEqual((r as { object: Buffer }).object, root, name);
    }
  });

  test('names that are empty, over 255 bytes, or with "/" or NUL: GARBAGE_ARGS (svcxdr_decode_filename3)', async () => {
    fs.mkdirSync(path.join(t.dir, 'a'));
    fs.writeFileSync(path.join(t.dir, 'a', 'b'), 'x');
    for (const name of ['a/b', '../etc', 'a\0b', '', 'n'.repeat(256)]) {
      assert.equal(await rpc.status(NFS3.LOOKUP, { what: { dir: root, name } }), 'GARBAGE_ARGS', JSON.stringify(name.slice(0, 10)));
    }
    assert.equal((await lookup('n'.repeat(255))).status, NFSSTAT3.NFS3ERR_NOENT, '255 bytes is a name');
    const mk = await rpc.status(NFS3.CREATE, { where: { dir: root, name: 'x/../../escape' }, how: { mode: 0, attributes: {} } });
    assert.equal(mk, 'GARBAGE_ARGS');
    const dot = await rpc.call(NFS3.MKDIR, { where: { dir: root, name: '..' }, attributes: {} });
    assert.equal(dot.status, NFSSTAT3.NFS3ERR_EXIST);
  });

  test('a symlink leaving the export is never followed by the server', async () => {
    const target = path.join(t.dir, '..', 'outside.txt');
    fs.writeFileSync(target, 'secret');
    fs.symlinkSync(target, path.join(t.dir, 'out'));
    fs.symlinkSync('/', path.join(t.dir, 'slash'));
    const link = await lookup('out');
    assert.equal(link.status, NFSSTAT3.NFS3_OK);
    const fh = (link as { object: Buffer }).object;
    assert.equal((link as { objAttributes: { type: number } }).objAttributes.type, FTYPE3.NF3LNK);
    assert.equal((await rpc.call(NFS3.READ, { file: fh, offset: 0n, count: 100 })).status, NFSSTAT3.NFS3ERR_INVAL);
    const w = await rpc.call(NFS3.WRITE, { file: fh, offset: 0n, count: 3, stable: 2, data: Buffer.from('pwn') });
    assert.equal(w.status, NFSSTAT3.NFS3ERR_INVAL);
    assert.equal(fs.readFileSync(target, 'utf8'), 'secret');
    const slash = (await lookup('slash')) as { object: Buffer };
    assert.equal((await lookup('etc', slash.object)).status, NFSSTAT3.NFS3ERR_NOTDIR);
    const rl = await rpc.call(NFS3.READLINK, { symlink: fh });
    assert.equal((rl as { data: string }).data, target); // the text as stored, for the client to resolve
  });

  test('MOUNT only hands out directories inside the export, never through a symlink', async () => {
    assert.equal((await rpc.call(MOUNT3.MNT, { dirpath: '/export/../etc' })).status, MOUNTSTAT3.MNT3ERR_NOENT);
    assert.equal((await rpc.call(MOUNT3.MNT, { dirpath: '/elsewhere' })).status, MOUNTSTAT3.MNT3ERR_NOENT);
    assert.equal((await rpc.call(MOUNT3.MNT, { dirpath: '/export/slash' })).status, MOUNTSTAT3.MNT3ERR_ACCES);
    assert.equal((await rpc.call(MOUNT3.MNT, { dirpath: '/export/a' })).status, MOUNTSTAT3.MNT3_OK);
  });
});

/** xorshift32: the same seed mutates the same bytes. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

function mutate(msg: Buffer, rnd: () => number): Buffer {
  const m = Buffer.from(msg);
  switch (Math.floor(rnd() * 4)) {
    case 0: // flip a few bytes after the XID
      for (let i = 0; i < 1 + rnd() * 4; i++) m[4 + Math.floor(rnd() * (m.length - 4))] ^= 1 + Math.floor(rnd() * 255);
      return m;
    case 1: // truncate
      return m.subarray(0, 4 + Math.floor(rnd() * (m.length - 4)));
    case 2: // a huge length or count word somewhere in the arguments
      if (m.length >= 48) m.writeUInt32BE(0xfffffff0, 40 + 4 * Math.floor(rnd() * ((m.length - 44) / 4)));
      return m;
    default: // trailing garbage
      return Buffer.concat([m, Buffer.alloc(1 + Math.floor(rnd() * 64), Math.floor(rnd() * 256))]);
  }
}

describe('mutated calls', () => {
  async function survive(calls: Buffer[], seed: number, rounds: number): Promise<void> {
    const rnd = prng(seed);
    const conn = await RawRpc.connect(t.server.address.port);
    try {
      let xid = 0x5000000;
      for (let r = 0; r < rounds; r++) {
        const batch = calls.map((c) => {
          const m = mutate(c, rnd);
          if (m.length >= 4) m.writeUInt32BE(xid++, 0);
          return m;
        });
        conn.send(...batch);
      }
      const ping = conn.xid();
      await conn.call(NFS3.NULL, undefined, ping);
      // Every reply that came back is a well-formed RPC reply.
      for (const rep of conn.replies) assert.equal(decodeMessage(new XdrReader(rep)).type, 'reply');
    } finally {
      conn.close();
    }
    await rpc.call(NFS3.NULL, undefined);
  }

  test('every NFSv3 procedure, with real handles, mutated 40 times (seed 7)', async () => {
    const fh = await createFile(rpc, root, 'mut.bin');
    const where = { dir: root, name: 'm' };
    const args: Record<string, unknown> = {
      NULL: undefined, GETATTR: { object: fh }, SETATTR: { object: fh, newAttributes: { size: 10n, mode: 0o600 } },
      LOOKUP: { what: { dir: root, name: 'mut.bin' } }, ACCESS: { object: fh, access: 63 }, READLINK: { symlink: fh },
      READ: { file: fh, offset: 0n, count: 4096 }, WRITE: { file: fh, offset: 0n, count: 64, stable: 2, data: Buffer.alloc(64, 1) },
      CREATE: { where, how: { mode: 1, attributes: { mode: 0o644 } } }, MKDIR: { where: { dir: root, name: 'md' }, attributes: {} },
      SYMLINK: { where: { dir: root, name: 'sl' }, symlink: { attributes: {}, data: 'mut.bin' } },
      MKNOD: { where: { dir: root, name: 'nod' }, what: { type: 7, attributes: {} } }, REMOVE: { object: where }, RMDIR: { object: { dir: root, name: 'md' } },
      RENAME: { from: where, to: { dir: root, name: 'n' } }, LINK: { file: fh, link: { dir: root, name: 'hl' } },
      READDIR: { dir: root, cookie: 0n, cookieverf: Buffer.alloc(8), count: 4096 },
      READDIRPLUS: { dir: root, cookie: 0n, cookieverf: Buffer.alloc(8), dircount: 4096, maxcount: 16384 },
      FSSTAT: { fsroot: root }, FSINFO: { fsroot: root }, PATHCONF: { object: root }, COMMIT: { file: fh, offset: 0n, count: 0 },
    };
    const calls = NFS3_PROCS.map((c) => Buffer.concat(encodeCall({ xid: 1, cred: ROOT_CRED }, c, args[c.name] as never)));
    assert.equal(calls.length, 22);
    await survive(calls, 7, 40);
  });

  test('the calls of a real libnfs session (nfs-ls against ganesha), mutated 40 times (seed 11)', { skip: fs.existsSync(LS_PCAP) ? false : `needs ${LS_PCAP}` }, async () => {
    const calls: Buffer[] = [];
    for (const s of readTcpStreams(LS_PCAP)) {
      if (s.dstPort !== 12049 && s.dstPort !== 12050) continue;
      const dec = new RecordDecoder();
      for (const c of s.chunks) dec.push(c, (r) => calls.push(Buffer.from(r)));
    }
    assert.ok(calls.length > 5);
    assert.ok(calls.every((c) => c.readUInt32BE(4) === 0));
    await survive(calls, 11, 40);
    assert.ok(t.server.stats().ops['NFS.READDIRPLUS'] > 0);
  });
});

test('the program table answers for NFS', () => assert.equal(NFS3.NULL.prog, NFS_PROGRAM));
