// The duplicate request cache with raw RPC bytes: what a retransmitted call does under each mode, scope,
// in-progress policy, expiry and capacity. The journal (in memory) tells executed from replayed calls.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodeReply } from '../xdr/message';
import { NFS3 } from '../xdr/nfs3/procs';
import { NFSSTAT3, STABLE_HOW } from '../xdr/nfs3/constants';
import { GANESHA_TCP_DRC } from '../server/drc/config';
import { csumPartial } from '../server/drc/csum-partial';
import { RawRpc, TestServer, createFile, mountedServer } from '../testing/server-rpc';
import { DEFAULT_PAYLOAD_HASH, payloadHash } from '../core/payload-hash';
import { until } from './support/until';

const DATA_AT = 64; // WRITE args: fh (4 + 38 + 2 pad) + offset 8 + count 4 + stable 4 + data length 4

function writeMsg(fh: Buffer, data: Buffer, xid: number, offset = 0n): Buffer {
  return RawRpc.message(NFS3.WRITE, { file: fh, offset, count: data.length, stable: STABLE_HOW.FILE_SYNC, data }, xid);
}

function status(codec: typeof NFS3.WRITE | typeof NFS3.REMOVE | typeof NFS3.RENAME | typeof NFS3.CREATE, rep: Buffer): number {
  return (decodeReply(rep, codec as never).res as { status: number }).status;
}

const sha = (b: Buffer) => payloadHash(DEFAULT_PAYLOAD_HASH, b);
const outcomes = (t: TestServer, xid: number) => t.server.journal!.query({ xid }).map((r) => r.outcome);

async function fixture(drc: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const t = await mountedServer({ drc, ...extra });
  return { t, rpc: t.rpc, root: t.root };
}

describe('checksum-256 (Linux nfsd since 3.10): xid key + length + csum_partial of the first 256 argument bytes', () => {
  let t: TestServer;
  let rpc: RawRpc;
  let root: Buffer;
  before(async () => ({ t, rpc, root } = await fixture({ mode: 'checksum-256' })));
  after(async () => {
    rpc.close();
    await t.cleanup();
  });

  test('the same WRITE twice: executed once, the duplicate is answered from the cache', async () => {
    const fh = await createFile(rpc, root, 'same.bin');
    const data = Buffer.alloc(4096, 0x41);
    const xid = rpc.xid();
    const msg = writeMsg(fh, data, xid);
    rpc.send(msg);
    const [first] = await rpc.waitFor(xid);
    // Change the file behind the server's back: a re-executed WRITE would put the A's back.
    fs.writeFileSync(path.join(t.dir, 'same.bin'), Buffer.alloc(4096));
    rpc.send(msg);
    const [, second] = await rpc.waitFor(xid, 2);
    assert.deepEqual(second, first);
    assert.deepEqual(fs.readFileSync(path.join(t.dir, 'same.bin')), Buffer.alloc(4096));
    assert.deepEqual(outcomes(t, xid), ['executed', 'replayed']);
  });

  test('same XID, data differing inside the first 256 argument bytes: a payload miss, executed twice', async () => {
    const fh = await createFile(rpc, root, 'miss.bin');
    const a = Buffer.alloc(4096, 0x41);
    const b = Buffer.from(a);
    b[10] = 0x42; // argument byte 74
    const xid = rpc.xid();
    const before = t.server.drc.counters().payloadMisses;
    rpc.send(writeMsg(fh, a, xid));
    await rpc.waitFor(xid);
    rpc.send(writeMsg(fh, b, xid));
    const replies = await rpc.waitFor(xid, 2);
    assert.equal(status(NFS3.WRITE, replies[1]), NFSSTAT3.NFS3_OK);
    assert.deepEqual(fs.readFileSync(path.join(t.dir, 'miss.bin')), b);
    assert.deepEqual(outcomes(t, xid), ['executed', 'payload-miss-executed']);
    assert.equal(t.server.drc.counters().payloadMisses, before + 1);
  });

  test('same XID, data differing beyond byte 256: replayed, and the new data silently never lands', async () => {
    const fh = await createFile(rpc, root, 'beyond.bin');
    const a = Buffer.alloc(4096, 0x41);
    const c = Buffer.from(a);
    c.fill(0xef, 300 - DATA_AT + 64); // from argument byte 364 on: 0xefefefef, the seed's "reused buffer"
    const xid = rpc.xid();
    rpc.send(writeMsg(fh, a, xid));
    await rpc.waitFor(xid);
    rpc.send(writeMsg(fh, c, xid));
    const replies = await rpc.waitFor(xid, 2);
    assert.equal(status(NFS3.WRITE, replies[1]), NFSSTAT3.NFS3_OK);
    assert.deepEqual(fs.readFileSync(path.join(t.dir, 'beyond.bin')), a);
    const rows = t.server.journal!.query({ xid });
    assert.deepEqual(rows.map((r) => [r.outcome, r.data_hash]), [
      ['executed', sha(a)],
      ['replayed', sha(c)],
    ]);
  });

  test('checksum-all turns the same change into a payload miss', async () => {
    t.server.drc.configure({ mode: 'checksum-all' });
    try {
      const fh = await createFile(rpc, root, 'all.bin');
      const a = Buffer.alloc(4096, 0x41);
      const c = Buffer.from(a).fill(0xef, 1000);
      const xid = rpc.xid();
      rpc.send(writeMsg(fh, a, xid));
      await rpc.waitFor(xid);
      rpc.send(writeMsg(fh, c, xid));
      await rpc.waitFor(xid, 2);
      assert.deepEqual(fs.readFileSync(path.join(t.dir, 'all.bin')), c);
      assert.deepEqual(outcomes(t, xid), ['executed', 'payload-miss-executed']);
    } finally {
      t.server.drc.configure({ mode: 'checksum-256' });
    }
  });

  test('a payload miss inserts a new entry and keeps the old one: the first arguments still hit', async () => {
    const fh = await createFile(rpc, root, 'keep.bin');
    const a = Buffer.alloc(1024, 0x41);
    const b = Buffer.from(a);
    b[20] = 0x42;
    const xid = rpc.xid();
    for (const [data, n] of [[a, 1], [b, 2], [a, 3], [b, 4]] as const) {
      rpc.send(writeMsg(fh, data, xid));
      await rpc.waitFor(xid, n);
    }
    assert.deepEqual(outcomes(t, xid), ['executed', 'payload-miss-executed', 'replayed', 'replayed']);
    assert.deepEqual(fs.readFileSync(path.join(t.dir, 'keep.bin')), b);
  });

  test("csum_partial's collisions are nfsd's: two argument words swapped inside the first 256 bytes are replayed", async () => {
    const fh = await createFile(rpc, root, 'swap.bin');
    const a = Buffer.alloc(1024, 0x41);
    a.writeUInt32BE(0x11112222, 16);
    const swapped = Buffer.from(a);
    swapped.writeUInt32BE(0x22221111, 16); // the one's-complement sum is the same
    const xid = rpc.xid();
    rpc.send(writeMsg(fh, a, xid));
    await rpc.waitFor(xid);
    rpc.send(writeMsg(fh, swapped, xid));
    await rpc.waitFor(xid, 2);
    assert.deepEqual(outcomes(t, xid), ['executed', 'replayed']);
    assert.deepEqual(fs.readFileSync(path.join(t.dir, 'swap.bin')), a, 'the swapped copy never landed');
  });

  test('a retransmitted REMOVE answers NFS3_OK from the cache, not NFS3ERR_NOENT', async () => {
    await createFile(rpc, root, 'victim');
    const xid = rpc.xid();
    const msg = RawRpc.message(NFS3.REMOVE, { object: { dir: root, name: 'victim' } }, xid);
    rpc.send(msg);
    await rpc.waitFor(xid);
    rpc.send(msg);
    const replies = await rpc.waitFor(xid, 2);
    assert.deepEqual(replies.map((r) => status(NFS3.REMOVE, r)), [NFSSTAT3.NFS3_OK, NFSSTAT3.NFS3_OK]);
    assert.deepEqual(outcomes(t, xid), ['executed', 'replayed']);
  });

  test('a retransmitted RENAME answers NFS3_OK from the cache, not NFS3ERR_NOENT', async () => {
    await createFile(rpc, root, 'from');
    const xid = rpc.xid();
    const msg = RawRpc.message(NFS3.RENAME, { from: { dir: root, name: 'from' }, to: { dir: root, name: 'to' } }, xid);
    rpc.send(msg);
    await rpc.waitFor(xid);
    rpc.send(msg);
    const replies = await rpc.waitFor(xid, 2);
    assert.deepEqual(replies.map((r) => status(NFS3.RENAME, r)), [NFSSTAT3.NFS3_OK, NFSSTAT3.NFS3_OK]);
    assert.ok(fs.existsSync(path.join(t.dir, 'to')));
  });

  test('a retransmitted CREATE EXCLUSIVE answers NFS3_OK with the same handle, not NFS3ERR_EXIST', async () => {
    const xid = rpc.xid();
    const verf = Buffer.from('0123456789abcdef', 'hex');
    const msg = RawRpc.message(NFS3.CREATE, { where: { dir: root, name: 'excl' }, how: { mode: 2, verf } }, xid);
    rpc.send(msg);
    await rpc.waitFor(xid);
    rpc.send(msg);
    const replies = await rpc.waitFor(xid, 2);
    const res = replies.map((r) => decodeReply(r, NFS3.CREATE).res!);
    assert.deepEqual(res.map((r) => r.status), [NFSSTAT3.NFS3_OK, NFSSTAT3.NFS3_OK]);
    assert.deepEqual((res[1] as { obj: Buffer }).obj, (res[0] as { obj: Buffer }).obj);
    // Someone else's EXCLUSIVE create of the same name (another verifier) is refused.
    const other = await rpc.call(NFS3.CREATE, { where: { dir: root, name: 'excl' }, how: { mode: 2, verf: Buffer.alloc(8, 7) } });
    assert.equal(other.status, NFSSTAT3.NFS3ERR_EXIST);
  });
});

describe('without a DRC the same retransmissions misbehave (the contrast)', () => {
  let t: TestServer;
  let rpc: RawRpc;
  let root: Buffer;
  before(async () => ({ t, rpc, root } = await fixture({ mode: 'off' })));
  after(async () => {
    rpc.close();
    await t.cleanup();
  });

  test('a duplicate WRITE executes again and a duplicate REMOVE gets NFS3ERR_NOENT', async () => {
    const fh = await createFile(rpc, root, 'off.bin');
    const xid = rpc.xid();
    const msg = writeMsg(fh, Buffer.alloc(512, 0x41), xid);
    rpc.send(msg);
    await rpc.waitFor(xid);
    fs.writeFileSync(path.join(t.dir, 'off.bin'), Buffer.alloc(512));
    rpc.send(msg);
    await rpc.waitFor(xid, 2);
    assert.deepEqual(fs.readFileSync(path.join(t.dir, 'off.bin')), Buffer.alloc(512, 0x41));
    assert.deepEqual(outcomes(t, xid), ['executed', 'executed']);

    const rx = rpc.xid();
    const rm = RawRpc.message(NFS3.REMOVE, { object: { dir: root, name: 'off.bin' } }, rx);
    rpc.send(rm);
    await rpc.waitFor(rx);
    rpc.send(rm);
    const replies = await rpc.waitFor(rx, 2);
    assert.deepEqual(replies.map((r) => status(NFS3.REMOVE, r)), [NFSSTAT3.NFS3_OK, NFSSTAT3.NFS3ERR_NOENT]);
  });
});

describe('xid mode: the xid key alone decides', () => {
  test('same XID with different data in the first bytes is replayed; the new data never lands', async () => {
    const { t, rpc, root } = await fixture({ mode: 'xid' });
    try {
      const fh = await createFile(rpc, root, 'x.bin');
      const a = Buffer.alloc(512, 0x41);
      const b = Buffer.alloc(512, 0x42);
      const xid = rpc.xid();
      rpc.send(writeMsg(fh, a, xid));
      await rpc.waitFor(xid);
      rpc.send(writeMsg(fh, b, xid));
      await rpc.waitFor(xid, 2);
      assert.deepEqual(fs.readFileSync(path.join(t.dir, 'x.bin')), a);
      assert.deepEqual(outcomes(t, xid), ['executed', 'replayed']);
    } finally {
      rpc.close();
      await t.cleanup();
    }
  });
});

describe('a duplicate of a call still executing', () => {
  // Both copies (and a NULL behind them) go out in one socket write, so the server sees the duplicate while the
  // original is still waiting on the filesystem.
  for (const inProgress of ['drop', 'wait'] as const) {
    test(`inProgress=${inProgress}: ${inProgress === 'drop' ? 'dropped, one reply (nfsd)' : 'waits and gets the cached reply (ganesha)'}`, async () => {
      const { t, rpc, root } = await fixture({ mode: 'checksum-256', inProgress });
      try {
        const fh = await createFile(rpc, root, 'busy.bin');
        const xid = rpc.xid();
        const ping = rpc.xid();
        const msg = writeMsg(fh, Buffer.alloc(512, 0x41), xid);
        rpc.send(msg, msg, RawRpc.message(NFS3.NULL, undefined, ping));
        await rpc.waitFor(ping);
        const replies = await rpc.waitFor(xid, inProgress === 'drop' ? 1 : 2);
        if (inProgress === 'drop') {
          assert.equal(rpc.repliesFor(xid).length, 1);
          assert.deepEqual(outcomes(t, xid).sort(), ['dropped-in-progress', 'executed']);
          assert.equal(t.server.drc.counters().inProgressDrops, 1);
        } else {
          assert.deepEqual(replies[1], replies[0]);
          assert.deepEqual(outcomes(t, xid).sort(), ['executed', 'waited']);
          assert.equal(t.server.drc.counters().inProgressWaits, 1);
        }
      } finally {
        rpc.close();
        await t.cleanup();
      }
    });
  }
});

describe('expiry and capacity', () => {
  // The 2.6.18-4.19 rule (prune lookup); test/server-drc-prune.test.ts has today's (bucket) beside it.
  test('prune lookup: an entry older than the expiry (120 s modelled, time scale 0.01) no longer answers', async () => {
    let now = 0; // the DRC's clock, real ms: 120 s modelled at 1/100 is 1200 ms
    const { t, rpc, root } = await fixture({ mode: 'checksum-256', prune: 'lookup', expiry: '120s' }, { timeScale: 0.01, clock: () => now });
    try {
      const fh = await createFile(rpc, root, 'old.bin');
      const xid = rpc.xid();
      const msg = writeMsg(fh, Buffer.alloc(512, 0x41), xid);
      rpc.send(msg);
      await rpc.waitFor(xid);
      rpc.send(msg);
      await rpc.waitFor(xid, 2);
      now += 1500; // 150 s modelled
      rpc.send(msg);
      await rpc.waitFor(xid, 3);
      assert.deepEqual(outcomes(t, xid), ['executed', 'replayed', 'executed']);
      assert.ok(t.server.drc.counters().expired >= 1); // the CREATE's entry expired as well
    } finally {
      rpc.close();
      await t.cleanup();
    }
  });

  test('prune lookup: beyond its capacity the cache evicts the least recently used entry', async () => {
    const { t, rpc, root } = await fixture({ mode: 'checksum-256', prune: 'lookup', size: 2 });
    try {
      const fh = await createFile(rpc, root, 'lru.bin'); // CREATE takes one entry too
      const msgs = [1, 2, 3].map((i) => {
        const xid = rpc.xid();
        return { xid, msg: writeMsg(fh, Buffer.alloc(512, i), xid, BigInt(i * 512)) };
      });
      for (const m of msgs) {
        rpc.send(m.msg);
        await rpc.waitFor(m.xid);
      }
      rpc.send(msgs[2].msg);
      rpc.send(msgs[0].msg);
      await rpc.waitFor(msgs[2].xid, 2);
      await rpc.waitFor(msgs[0].xid, 2);
      assert.deepEqual(outcomes(t, msgs[2].xid), ['executed', 'replayed']);
      assert.deepEqual(outcomes(t, msgs[0].xid), ['executed', 'executed']);
      assert.ok(t.server.drc.counters().evictions >= 2);
      assert.ok(t.server.drc.counters().entries <= 2);
    } finally {
      rpc.close();
      await t.cleanup();
    }
  });
});

describe('scope: who a retransmission must come from to be recognised', () => {
  async function resendFromNewConnection(drc: Record<string, unknown>): Promise<string[]> {
    const { t, rpc, root } = await fixture(drc);
    try {
      const fh = await createFile(rpc, root, 'scope.bin');
      const xid = rpc.xid();
      const msg = writeMsg(fh, Buffer.alloc(512, 0x41), xid);
      rpc.send(msg);
      await rpc.waitFor(xid);
      rpc.close();
      const again = await RawRpc.connect(t.server.address.port);
      try {
        assert.notEqual(again.localPort, rpc.localPort);
        again.send(msg);
        await again.waitFor(xid);
      } finally {
        again.close();
      }
      return outcomes(t, xid);
    } finally {
      await t.cleanup();
    }
  }

  test('client scope keyed on address:port (nfsd): a reconnect from a new port is a new client', async () => {
    assert.deepEqual(await resendFromNewConnection({ scope: 'client', keyPort: true }), ['executed', 'executed']);
  });

  test('client scope keyed on the address only: the reconnect is recognised and replayed', async () => {
    assert.deepEqual(await resendFromNewConnection({ scope: 'client', keyPort: false }), ['executed', 'replayed']);
  });

  test('connection scope (ganesha): replayed on the same connection, executed again after a reconnect', async () => {
    const { t, rpc, root } = await fixture({ scope: 'connection', keyPort: false });
    try {
      const fh = await createFile(rpc, root, 'conn.bin');
      const xid = rpc.xid();
      const msg = writeMsg(fh, Buffer.alloc(512, 0x41), xid);
      rpc.send(msg);
      await rpc.waitFor(xid);
      rpc.send(msg);
      await rpc.waitFor(xid, 2);
      const again = await RawRpc.connect(t.server.address.port);
      again.send(msg);
      await again.waitFor(xid);
      again.close();
      assert.deepEqual(outcomes(t, xid), ['executed', 'replayed', 'executed']);
    } finally {
      rpc.close();
      await t.cleanup();
    }
  });

  test('connection scope with reuse (ganesha recycles a closed connection\'s DRC): a reconnect from the same address:port is replayed', async () => {
    const { t, rpc, root } = await fixture({ scope: 'connection', reuse: true });
    try {
      const fh = await createFile(rpc, root, 'recycle.bin');
      const xid = rpc.xid();
      const msg = writeMsg(fh, Buffer.alloc(512, 0x41), xid);
      rpc.send(msg);
      await rpc.waitFor(xid);
      const port = rpc.localPort;
      // Reset, as a Linux client's xs_tcp_reuse_connection does: a FIN would leave the port in TIME_WAIT.
      rpc.socket.resetAndDestroy();
      await until(() => t.server.stats().connections.open === 0, 'the first connection closed');
      const again = await RawRpc.connect(t.server.address.port, '127.0.0.1', port);
      try {
        again.send(msg);
        await again.waitFor(xid);
      } finally {
        again.close();
      }
      assert.deepEqual(outcomes(t, xid), ['executed', 'replayed']);
      assert.equal(t.server.drc.counters().reused, 1);
    } finally {
      await t.cleanup();
    }
  });
});

describe("nfs-ganesha's TCP DRC: no time expiry, retired by the high-water mark", () => {
  test('an entry far older than nfsd\'s 120 s still answers (expiry none)', async () => {
    let now = 0; // the DRC's clock, real ms
    const { t, rpc, root } = await fixture({ ...GANESHA_TCP_DRC, mode: 'checksum-256' }, { timeScale: 0.01, clock: () => now });
    try {
      const fh = await createFile(rpc, root, 'forever.bin');
      const xid = rpc.xid();
      const msg = writeMsg(fh, Buffer.alloc(512, 0x41), xid);
      rpc.send(msg);
      await rpc.waitFor(xid);
      now += 100 * 60_000 * 0.01; // 100 modelled minutes
      rpc.send(msg);
      await rpc.waitFor(xid, 2);
      assert.deepEqual(outcomes(t, xid), ['executed', 'replayed']);
      assert.equal(t.server.drc.counters().expired, 0);
    } finally {
      rpc.close();
      await t.cleanup();
    }
  });

  test('above the high-water mark the oldest entries are retired when a request completes (nfs_dupreq_finish)', async () => {
    const { t, rpc, root } = await fixture({ ...GANESHA_TCP_DRC, mode: 'checksum-256', hiwat: 2 });
    try {
      const fh = await createFile(rpc, root, 'hiwat.bin'); // CREATE is the first entry
      const msgs = [1, 2, 3, 4].map((i) => {
        const xid = rpc.xid();
        return { xid, msg: writeMsg(fh, Buffer.alloc(512, i), xid, BigInt(i * 512)) };
      });
      for (const m of msgs) {
        rpc.send(m.msg);
        await rpc.waitFor(m.xid);
      }
      assert.ok(t.server.drc.counters().retired >= 2);
      assert.ok(t.server.drc.counters().entries <= 2);
      rpc.send(msgs[0].msg); // retired: executed again
      await rpc.waitFor(msgs[0].xid, 2);
      rpc.send(msgs[3].msg); // newest: still there
      await rpc.waitFor(msgs[3].xid, 2);
      assert.deepEqual(outcomes(t, msgs[0].xid), ['executed', 'executed']);
      assert.deepEqual(outcomes(t, msgs[3].xid), ['executed', 'replayed']);
    } finally {
      rpc.close();
      await t.cleanup();
    }
  });
});

describe('csum_partial (RFC 1071)', () => {
  test("RFC 1071 §3's example and nfsd's blind spots", () => {
    assert.equal(csumPartial(Buffer.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])), 0xddf2);
    assert.equal(csumPartial(Buffer.from([0xab])), 0xab00, 'an odd last byte is the high byte of a padded word');
    const a = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const swapped = Buffer.from('44556677001122338899aabbccddeeff', 'hex');
    assert.equal(csumPartial(a), csumPartial(swapped));
    assert.equal(csumPartial(Buffer.from('0000ffff', 'hex')), csumPartial(Buffer.from('ffff0000', 'hex')));
    assert.notEqual(csumPartial(Buffer.alloc(256, 0x41)), csumPartial(Buffer.alloc(256, 0x42)));
    const big = Buffer.alloc(1 << 20, 0xff); // folding keeps the sum exact over a megabyte of 0xffff words
    assert.equal(csumPartial(big), 0xffff);
  });
});
