// The client reads FSINFO at mount and clamps wsize/rsize to the server's wtmax/rtmax as Linux
// nfs_server_set_fsinfo does. Found against the real nfsd in a 1 GiB guest: with --wsize 1MiB our client sent
// records nfsd refused ("RPC fragment too large: 1048692") and resent them forever. The nfsd end of this is in
// test/linux-nfsd.test.ts; here the arithmetic and the refusal of an oversized call against our own server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clampIoSize, mount, nfsBlockSize, NFS_MAX_FILE_IO_SIZE } from '../client/nfs3';
import { testServer } from '../testing/server-rpc';
import { silentLogger } from '../core/log';
import { TestbedError } from '../core/errors';

test('nfs_block_size (6.1): default below 1024, 1 MiB cap, power of two below it', () => {
  assert.equal(nfsBlockSize(512), 4096);
  assert.equal(nfsBlockSize(1024), 1024);
  assert.equal(nfsBlockSize(262144), 262144);
  assert.equal(nfsBlockSize(262144 + 4096), 262144, 'nfs_block_bits rounds down to a power of two');
  assert.equal(nfsBlockSize(1048576 + 116), NFS_MAX_FILE_IO_SIZE);
});

test('nfs_server_set_fsinfo: clamp only to a server maximum of at least 512, never above 1 MiB', () => {
  assert.equal(clampIoSize(1 << 20, 262144), 262144);
  assert.equal(clampIoSize(1 << 20, 520192), 262144, 'a non-power-of-two wtmax rounds down');
  assert.equal(clampIoSize(65536, 262144), 65536, 'a smaller request stays');
  assert.equal(clampIoSize(1 << 20, 256), 1 << 20, 'a maximum under 512 is ignored');
  assert.equal(clampIoSize(4 << 20, 0), NFS_MAX_FILE_IO_SIZE);
});

test('mount reads FSINFO; a WRITE range larger than wtmax fails at once with a code, sending nothing', async (t) => {
  const { server, cleanup } = await testServer({ logger: silentLogger, journal: undefined });
  t.after(cleanup);
  const m = await mount({ host: '127.0.0.1', port: server.address.port, exportPath: '/export', transport: { logger: silentLogger } });
  try {
    assert.equal(m.fsinfo?.wtmax, 1 << 20, "our server's FSINFO");
    assert.deepEqual(m.nfs.ioLimits, { rtmax: 1 << 20, wtmax: 1 << 20 });
    const f = await m.nfs.createFile(m.root, 'f');
    assert.ok('fh' in f);
    const before = m.nfs.rpc.stats.transmissions;
    m.nfs.ioLimits = { rtmax: 65536, wtmax: 65536 }; // as if the server had said so
    await assert.rejects(m.nfs.writeRange(f.fh, 0n, Buffer.alloc(1 << 20), { wsize: 1 << 20 }), (e: unknown) => e instanceof TestbedError && e.code === 'IO_SIZE_EXCEEDS_SERVER_MAX');
    await assert.rejects(m.nfs.readRange(f.fh, 0n, 1 << 20, { rsize: 1 << 20 }), (e: unknown) => e instanceof TestbedError && e.code === 'IO_SIZE_EXCEEDS_SERVER_MAX');
    assert.equal(m.nfs.rpc.stats.transmissions, before, 'nothing went on the wire');
    const ok = await m.nfs.writeRange(f.fh, 0n, Buffer.alloc(1 << 20), { wsize: clampIoSize(1 << 20, 65536) });
    assert.equal(ok.status, 0);
    assert.equal(ok.calls, 16);
  } finally {
    await m.unmount();
  }
});
