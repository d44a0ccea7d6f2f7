// Who may do what: RFC 5531 §8.2/§9 credentials (AUTH_SYS accepted; AUTH_DH, RPCSEC_GSS, AUTH_SHORT and unknown
// flavors are MSG_DENIED AUTH_ERROR), optional root squash (uid 0 -> 65534 for every check; per procedure in
// security-permissions.test.ts), and the HTTP APIs (admin, dashboard): loopback by default, joi on every input,
// a bearer token mandatory off loopback.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import { encodeCall } from '../xdr/message';
import { NFS3 } from '../xdr/nfs3/procs';
import { NFSSTAT3 } from '../xdr/nfs3/constants';
import { XdrReader } from '../xdr/reader';
import { AUTH_FLAVOR, AUTH_STAT, REJECT_STAT, decodeMessage, encodeAuthSys } from '../xdr/rpc';
import { startAdminApi } from '../api/admin';
import { apiToken, isLoopback } from '../api/auth';
import { createDashboard } from '../api/dashboard/server';
import { openResults } from '../lab/results-db';
import { RawRpc, TestServer, mountRoot, testServer } from '../testing/server-rpc';
import { runCli } from './support/cli';

const cred = (uid: number, gid = uid) => encodeAuthSys({ stamp: 1, machinename: 'sec', uid, gid, gids: [gid] });

describe('RFC 5531 credentials', () => {
  let t: TestServer;
  let rpc: RawRpc;
  let root: Buffer;
  before(async () => {
    t = await testServer();
    rpc = await RawRpc.connect(t.server.address.port);
    root = await mountRoot(rpc);
  });
  after(async () => {
    rpc.close();
    await t.cleanup();
  });

  const reply = (msg: Buffer) => rpc.reply(msg);

  test('AUTH_SYS is accepted', async () => {
    const r = await reply(Buffer.concat(encodeCall({ xid: rpc.xid(), cred: cred(1000) }, NFS3.GETATTR, { object: root })));
    assert.equal(r.stat, 'accepted');
    assert.equal(r.acceptStat, 0);
  });

  test('AUTH_SHORT, AUTH_DH, RPCSEC_GSS and garbage flavors: MSG_DENIED AUTH_ERROR, nothing executed', async () => {
    for (const flavor of [AUTH_FLAVOR.AUTH_SHORT, AUTH_FLAVOR.AUTH_DH, AUTH_FLAVOR.RPCSEC_GSS, 390003, 0xdeadbeef]) {
      const before = t.server.stats().ops['NFS.CREATE'] ?? 0;
      const r = await reply(Buffer.concat(encodeCall({ xid: rpc.xid(), cred: { flavor, body: Buffer.alloc(24, 1) } }, NFS3.CREATE, { where: { dir: root, name: `f${flavor}` }, how: { mode: 0, attributes: {} } })));
      assert.equal(r.stat, 'denied', `flavor ${flavor}`);
      assert.equal(r.rejectStat, REJECT_STAT.AUTH_ERROR);
      assert.equal(r.authStat, AUTH_STAT.AUTH_REJECTEDCRED);
      assert.equal(t.server.stats().ops['NFS.CREATE'] ?? 0, before);
      assert.equal(fs.existsSync(path.join(t.dir, `f${flavor}`)), false);
    }
    const v = await reply(Buffer.concat(encodeCall({ xid: rpc.xid(), cred: cred(0), verf: { flavor: AUTH_FLAVOR.RPCSEC_GSS, body: Buffer.alloc(8) } }, NFS3.NULL, undefined)));
    assert.equal(v.authStat, AUTH_STAT.AUTH_BADVERF);
  });
});

describe('root squash', () => {
  test('off (default): what uid 0 creates is root\'s', async () => {
    const t = await testServer();
    const rpc = await RawRpc.connect(t.server.address.port);
    try {
      const root = await mountRoot(rpc);
      rpc.send(RawRpc.message(NFS3.CREATE, { where: { dir: root, name: 'r' }, how: { mode: 0, attributes: {} } }, 7, cred(0)));
      await rpc.waitFor(7);
      assert.equal(fs.statSync(path.join(t.dir, 'r')).uid, process.getuid!());
    } finally {
      rpc.close();
      await t.cleanup();
    }
  });

  test('on: uid 0 creates files, directories and symlinks owned by 65534:65534, and may not chown; uid 1000 is untouched', { skip: process.getuid?.() === 0 ? false : 'needs root to observe ownership' }, async () => {
    const t = await testServer({ rootSquash: true });
    fs.chmodSync(t.dir, 0o777); // squashed root is an ordinary user: it needs write permission to create
    const rpc = await RawRpc.connect(t.server.address.port);
    try {
      const root = await mountRoot(rpc);
      const as = async (uid: number, codec: any, args: unknown) => {
        const xid = rpc.xid();
        rpc.send(RawRpc.message(codec, args as never, xid, cred(uid)));
        const [rep] = await rpc.waitFor(xid);
        const m = decodeMessage(new XdrReader(rep)) as { reply: { acceptStat: number } };
        assert.equal(m.reply.acceptStat, 0);
        return rep;
      };
      await as(0, NFS3.CREATE, { where: { dir: root, name: 'squashed' }, how: { mode: 0, attributes: {} } });
      await as(0, NFS3.MKDIR, { where: { dir: root, name: 'sqdir' }, attributes: { mode: 0o755 } });
      await as(0, NFS3.SYMLINK, { where: { dir: root, name: 'sqlink' }, symlink: { attributes: {}, data: 'squashed' } });
      for (const n of ['squashed', 'sqdir', 'sqlink']) {
        const st = fs.lstatSync(path.join(t.dir, n));
        assert.deepEqual([st.uid, st.gid], [65534, 65534], n);
      }
      const fh = (await rpc.call(NFS3.LOOKUP, { what: { dir: root, name: 'squashed' } })) as { object: Buffer };
      const xid = rpc.xid();
      rpc.send(RawRpc.message(NFS3.SETATTR, { object: fh.object, newAttributes: { uid: 0 } }, xid, cred(0)));
      const [rep] = await rpc.waitFor(xid);
      assert.equal(rep.readUInt32BE(24), NFSSTAT3.NFS3ERR_PERM);
      assert.equal(fs.statSync(path.join(t.dir, 'squashed')).uid, 65534);
      await as(1000, NFS3.CREATE, { where: { dir: root, name: 'user' }, how: { mode: 0, attributes: {} } });
      assert.equal(fs.statSync(path.join(t.dir, 'user')).uid, 1000); // not squashed: the caller's own (nfsd creates as the caller)
    } finally {
      rpc.close();
      await t.cleanup();
    }
  });
});

describe('HTTP APIs', () => {
  const TOKEN = 'correct-horse-battery-staple';

  test('loopback is recognised; a non-loopback bind without a token refuses to start (API_TOKEN_REQUIRED)', async () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.org']) assert.equal(isLoopback(h), false, h);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        return e.code;
      }
      return 'none';
    };
    assert.equal(code(() => apiToken('0.0.0.0', undefined, 'x')), 'API_TOKEN_REQUIRED');
    assert.equal(code(() => apiToken('0.0.0.0', 'short', 'x')), 'API_TOKEN_WEAK');
    assert.equal(apiToken('127.0.0.1', undefined, 'x'), undefined);
    const t = await testServer();
    try {
      await assert.rejects(startAdminApi(t.server, '0.0.0.0', 0), (e: unknown) => (e as ConfigError).code === 'API_TOKEN_REQUIRED');
      const db = openResults(':memory:');
      assert.throws(() => createDashboard({ db, host: '0.0.0.0' }), (e: unknown) => (e as ConfigError).code === 'API_TOKEN_REQUIRED');
      db.close();
      // The CLI refuses before the NFS server starts: exit 2.
      const r = runCli(['server', '--export', t.dir, '--api', '0.0.0.0:0'], { env: { ...process.env, NFS_TESTBED_API_TOKEN: '' } });
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /token/);
    } finally {
      await t.cleanup();
    }
  });

  test('admin API: binds 127.0.0.1 by default; with a token, requests without the right bearer are 401', async () => {
    const t = await testServer();
    const open = await startAdminApi(t.server);
    const locked = await startAdminApi(t.server, '127.0.0.1', 0, { token: TOKEN });
    try {
      assert.equal(open.info.host, '127.0.0.1');
      assert.equal((await open.inject('/stats')).statusCode, 200);
      assert.equal((await locked.inject('/stats')).statusCode, 401);
      assert.equal((await locked.inject({ url: '/stats', headers: { authorization: 'Bearer wrong-token-wrong-token' } })).statusCode, 401);
      assert.equal((await locked.inject({ url: '/stats', headers: { authorization: `Basic ${TOKEN}` } })).statusCode, 401);
      const ok = await locked.inject({ url: '/stats', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.result && typeof (ok.result as { verifier: string }).verifier, 'string');
      assert.equal((await locked.inject({ method: 'POST', url: '/drc/flush' })).statusCode, 401);
    } finally {
      await open.stop();
      await locked.stop();
      await t.cleanup();
    }
  });

  test('admin API: joi refuses unexpected queries and bodies on every route (400), accepts the documented ones', async () => {
    const t = await testServer();
    const api = await startAdminApi(t.server);
    try {
      const status = async (o: { method?: string; url: string; payload?: unknown }) => (await api.inject(o as never)).statusCode;
      assert.equal(await status({ url: '/stats?debug=1' }), 400);
      assert.equal(await status({ url: '/drc?x=1' }), 400);
      assert.equal(await status({ method: 'PUT', url: '/drc', payload: { bogus: 1 } }), 400);
      assert.equal(await status({ method: 'PUT', url: '/drc', payload: {} }), 400);
      assert.equal(await status({ method: 'PUT', url: '/drc', payload: { mode: 'x'.repeat(100) } }), 400);
      assert.equal(await status({ method: 'PUT', url: '/drc', payload: { mode: 'nonsense' } }), 400); // drcConfig's ConfigError
      assert.equal(await status({ method: 'PUT', url: '/drc', payload: { mode: 'xid', expiry: '90s' } }), 200);
      assert.equal(await status({ method: 'POST', url: '/drc/flush', payload: { all: true } }), 400);
      assert.equal(await status({ method: 'POST', url: '/drc/flush' }), 200);
      assert.equal(await status({ url: '/journal?xid=-1' }), 400);
      assert.equal(await status({ url: `/journal?proc=${'W'.repeat(100)}` }), 400);
      assert.equal(await status({ url: '/journal?xid=5' }), 200);
      assert.equal(await status({ url: '/verify?file=../../etc/passwd' }), 400);
      assert.equal(await status({ url: '/verify' }), 400);
    } finally {
      await api.stop();
      await t.cleanup();
    }
  });

  test('dashboard: with a token, 401 without it and 200 with it', async () => {
    const db = openResults(':memory:');
    const server = createDashboard({ db, token: TOKEN });
    try {
      assert.equal((await server.inject('/api/runs')).statusCode, 401);
      assert.equal((await server.inject({ url: '/api/runs', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200);
    } finally {
      db.close();
    }
  });
});
