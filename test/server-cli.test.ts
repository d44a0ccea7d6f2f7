// The `nfs-testbed server` subcommand as a user runs it: the ready line, separate MOUNT/PORTMAP ports answered
// through PORTMAP GETPORT, the admin API address, clean SIGTERM, and clear failures (exit 2 for bad options).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NFS_PROGRAM, NFS_V3 } from '../xdr/nfs3/constants';
import { PMAP2, IPPROTO } from '../xdr/portmap';
import { RawRpc, mountRoot } from '../testing/server-rpc';
import { spawnServer, runCli } from './support/cli';
import { MOUNT_PROGRAM, MOUNT_V3 } from '../xdr/mount';

function getJson(url: string): Promise<any> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

test('ready line, PORTMAP GETPORT for separate MOUNT and PORTMAP ports, admin API, clean SIGTERM', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-cli-'));
  const s = await spawnServer(['--export', dir, '--mount-port', '0', '--portmap-port', '0', '--api', '127.0.0.1:0', '--drc', 'xid', '--drc-expiry', '90s', '--state-dir', path.join(dir, '.state')]);
  try {
    const mountPort = Number(s.ready.mount.split(':')[1]);
    const pmapPort = Number(s.ready.portmap.split(':')[1]);
    assert.notEqual(mountPort, s.nfsPort);
    assert.notEqual(pmapPort, s.nfsPort);
    const pm = await RawRpc.connect(pmapPort);
    try {
      assert.equal(await pm.call(PMAP2.GETPORT, { prog: NFS_PROGRAM, vers: NFS_V3, prot: IPPROTO.TCP, port: 0 }), s.nfsPort);
      assert.equal(await pm.call(PMAP2.GETPORT, { prog: MOUNT_PROGRAM, vers: MOUNT_V3, prot: IPPROTO.TCP, port: 0 }), mountPort);
      assert.equal(await pm.call(PMAP2.GETPORT, { prog: MOUNT_PROGRAM, vers: MOUNT_V3, prot: IPPROTO.UDP, port: 0 }), 0);
    } finally {
      pm.close();
    }
    const m = await RawRpc.connect(mountPort);
    await mountRoot(m);
    m.close();
    const drc = await getJson(`${s.ready.api}/drc`);
    assert.deepEqual([drc.config.mode, drc.config.expiryMs], ['xid', 90_000]);
    assert.equal((await getJson(`${s.ready.api}/stats`)).ops['MOUNT.MNT'], 1);
  } finally {
    const exit = await s.stop('SIGTERM');
    assert.equal(exit.code, 0);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('bad options exit 2 with a message; a port in use exits 1 naming it', async () => {
  const missing = runCli(['server', '--export', '/nonexistent/export']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /export directory/);
  const badMode = runCli(['server', '--export', os.tmpdir(), '--drc', 'sometimes']);
  assert.equal(badMode.code, 2);
  assert.match(badMode.err, /drc mode/);
  const badExpiry = runCli(['server', '--export', os.tmpdir(), '--drc-expiry', 'soon']);
  assert.equal(badExpiry.code, 2);

  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (blocker.address() as net.AddressInfo).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-cli-'));
    const inUse = runCli(['server', '--export', dir, '--port', String(port), '--state-dir', path.join(dir, '.state')]);
    fs.rmSync(dir, { recursive: true, force: true });
    assert.equal(inUse.code, 1);
    assert.match(inUse.err, /PORT_IN_USE/);
  } finally {
    blocker.close();
  }
});
