// Regression: a record header alone used to pin a Buffer of the size it announced (200 connections sending
// 8 bytes each pinned 812 MiB). Full-size receive Buffers now come from a server-wide budget; past it a Buffer
// grows only as bytes arrive. The grow path must still deliver every record byte-exact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ByteBudget, DirectFramer } from '../server/rpc/direct-framer';
import { NFS3 } from '../xdr/nfs3/procs';
import { RawRpc, createFile, mountRoot, testServer } from '../testing/server-rpc';
import { until } from './support/until';

const MiB = 1 << 20;

test('framer: a 1 MiB record read in small pieces outside the budget arrives intact', () => {
  const budget = new ByteBudget(0); // nothing may be reserved: every Buffer must grow
  const f = new DirectFramer({ budget });
  const body = crypto.randomBytes(MiB + 3);
  const wire = Buffer.concat([Buffer.from([0x80 | 0x00, 0x10, 0x00, 0x03]), body]);
  const out: Buffer[] = [];
  let o = 0;
  while (o < wire.length) {
    const dst = f.nextBuffer();
    const n = Math.min(dst.length, 1 + (o % 7919), wire.length - o);
    wire.copy(dst, 0, o, o + n);
    o += n;
    f.advance(n, (r) => out.push(r));
  }
  assert.equal(out.length, 1);
  assert.ok(out[0].equals(body));
  assert.equal(budget.used, 0);
});

test('server: headers without bodies pin at most the budget; WRITEs still land; the budget is returned', async () => {
  const t = await testServer({ limits: { maxPendingBytes: '8MiB' } });
  const socks: net.Socket[] = [];
  try {
    const port = t.server.address.port;
    // 100 peers announce a 4 MiB record each and send 4 bytes of it.
    for (let i = 0; i < 100; i++) {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.on('error', () => {});
      await new Promise((r) => s.once('connect', r));
      s.write(Buffer.from([0x80, 0x40, 0x00, 0x00, 1, 2, 3, 4]));
      socks.push(s);
    }
    // every peer's 8 bytes read: the server has reserved (or refused to reserve) for each header
    await until(() => t.server.stats().bytesIn >= 100 * 8, "every peer's header read by the server");
    const pending = t.server.stats().connections.pendingBytes;
    assert.ok(pending <= 8 * MiB, `reserved ${pending} bytes, budget 8 MiB`);

    // A real client still writes 1 MiB records while the budget is exhausted (the grow path).
    const rpc = await RawRpc.connect(port);
    const root = await mountRoot(rpc);
    const fh = await createFile(rpc, root, 'grow.bin');
    const data = crypto.randomBytes(MiB);
    const res = await rpc.call(NFS3.WRITE, { file: fh, offset: 0n, count: data.length, stable: 2, data });
    assert.equal(res.status, 0);
    assert.ok(fs.readFileSync(path.join(t.dir, 'grow.bin')).equals(data));
    rpc.socket.destroy();

    for (const s of socks) s.destroy();
    await until(() => t.server.stats().connections.pendingBytes === 0, 'the budget returned');
    assert.equal(t.server.stats().connections.pendingBytes, 0);
  } finally {
    for (const s of socks) s.destroy();
    await t.cleanup();
  }
});
