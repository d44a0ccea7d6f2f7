// When an expired nfsd DRC entry stops answering (server/drc/config.ts DRC_PRUNES): before the lookup (nfsd 2.6.18 to
// 4.19, prune lookup) or only when a miss in its hash bucket prunes it (nfsd since 4.20, prune bucket). The bucket
// arithmetic is checked against the kernel's formulas computed here independently (fs/nfsd/nfscache.c
// nfsd_hashsize, nfsd_cache_bucket_find; include/linux/hash.h hash_32).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DrcTable, nfsdBucket, nfsdMaskbits, type DrcEntry, type TableCounters } from '../server/drc/table';
import { DuplicateRequestCache, MODE_ERA, drcConfig, type DrcPrune } from '../server/drc';
import { NFS_PROGRAM, NFS_V3, NFSPROC3 } from '../xdr/nfs3/constants';
import { TimeScale } from '../core/units';
import { RawRpc, createFile, mountedServer } from '../testing/server-rpc';
import { NFS3 } from '../xdr/nfs3/procs';
import { STABLE_HOW } from '../xdr/nfs3/constants';

/** roundup_pow_of_two(limit / TARGET_BUCKET_SIZE) and ilog2 of it, as nfsd_reply_cache_init computes maskbits. */
function kernelMaskbits(limit: number): number {
  let hashsize = 1;
  while (hashsize < Math.floor(limit / 64)) hashsize *= 2;
  return Math.log2(hashsize);
}

/** hash_32((__force u32)xid, bits) on x86: the XID's wire bytes read little-endian, times GOLDEN_RATIO_32, top bits. */
function kernelBucket(xid: number, bits: number): number {
  if (bits === 0) return 0;
  const wire = Buffer.alloc(4);
  wire.writeUInt32BE(xid >>> 0);
  const host = BigInt(wire.readUInt32LE(0));
  return Number(((host * 0x61c88647n) & 0xffffffffn) >> BigInt(32 - bits));
}

function counters(): TableCounters {
  return { evictions: 0, expired: 0, retired: 0, staleMatches: 0 };
}

function entry(xid: number): DrcEntry {
  return { key: `c|${xid}#0`, xidKey: `c|${xid}`, xid, state: 'in-progress', stamp: 0, waiters: [] };
}

/** XIDs from `from` on whose bucket is `bucket` (bits as given). */
function xidsInBucket(bucket: number, bits: number, n: number, from = 0x1000): number[] {
  const out: number[] = [];
  for (let x = from; out.length < n; x++) if (nfsdBucket(x, bits) === bucket) out.push(x);
  return out;
}

describe('the bucket arithmetic is the kernel formula', () => {
  test('nfsdMaskbits: nfsd_hashsize = roundup_pow_of_two(size / 64), maskbits its log2', () => {
    for (const size of [1, 63, 64, 65, 128, 200, 1024, 31936, 32768, 32769, 262144]) assert.equal(nfsdMaskbits(size), kernelMaskbits(size), String(size));
    // the eras' sizes: 2.6.18's 1024 entries in 16 buckets, today's 32768 (a 1 GiB machine) in 512
    assert.equal(nfsdMaskbits(MODE_ERA.xid.size), 4);
    assert.equal(nfsdMaskbits(MODE_ERA['checksum-256'].size), 9);
  });

  test('nfsdBucket: hash_32 of the XID as the host reads its wire bytes', () => {
    for (const bits of [0, 1, 4, 9, 12]) {
      for (const xid of [0, 1, 0x12345678, 0x96a0f973, 0xffffffff, 0x80000000]) assert.equal(nfsdBucket(xid, bits), kernelBucket(xid, bits), `${xid.toString(16)}/${bits}`);
    }
    // consecutive XIDs (a client's calls) spread over the 512 buckets
    const used = new Set(Array.from({ length: 512 }, (_, i) => nfsdBucket(0x96a0f900 + i, 9)));
    assert.ok(used.size > 256, `${used.size} buckets for 512 consecutive XIDs`);
  });
});

describe('DrcTable with prune bucket (nfsd_prune_bucket_locked after a miss)', () => {
  const BITS = 9;
  const SIZE = 32768;

  function filled(n: number, bucket: number): { t: DrcTable; c: TableCounters; xids: number[] } {
    const c = counters();
    const t = new DrcTable(SIZE, 1000, 0, c, 'bucket');
    const xids = xidsInBucket(bucket, BITS, n + 2);
    for (const x of xids.slice(0, n)) {
      const e = entry(x);
      t.put(e, 0);
      e.state = 'done';
      t.completed(e, 0);
    }
    return { t, c, xids };
  }

  test('a miss prunes at most 4 expired entries of its own bucket, oldest first', () => {
    const { t, c, xids } = filled(6, 7);
    // an entry in another bucket, as old: no miss lands there, so it stays
    const other = entry(xidsInBucket(8, BITS, 1)[0]);
    t.put(other, 0);
    other.state = 'done';
    t.completed(other, 0);
    assert.equal(t.size, 7);
    t.put(entry(xids[6]), 5000); // a miss in bucket 7, 5 expiries later
    assert.equal(c.expired, 4, 'at most 4 per miss (`++freed > 3`)');
    assert.equal(t.size, 7 - 4 + 1);
    // the two youngest of the six are still there (oldest first), and still answer: a stale match
    assert.equal(t.get(`c|${xids[0]}#0`, 5000), undefined);
    assert.ok(t.get(`c|${xids[5]}#0`, 5000));
    assert.equal(c.staleMatches, 1);
    t.put(entry(xids[7]), 5000); // the next miss takes the rest
    assert.equal(c.expired, 6);
    assert.ok(t.get(other.key, 5000), 'the other bucket was never pruned');
  });

  test('entries in progress are skipped, an unexpired one stops the walk', () => {
    const c = counters();
    const t = new DrcTable(SIZE, 1000, 0, c, 'bucket');
    const [a, b, d, e] = xidsInBucket(3, BITS, 4);
    const busy = entry(a);
    t.put(busy, 0); // never completes: in progress
    const old = entry(d);
    t.put(old, 0);
    old.state = 'done';
    t.completed(old, 0);
    const young = entry(b);
    t.put(young, 0);
    young.state = 'done';
    t.completed(young, 4500); // last used at 4.5 s: live at 5 s
    t.put(entry(e), 5000);
    // LRU order: busy (skipped), old (expired, pruned), young (live: stop)
    assert.equal(c.expired, 1);
    assert.ok(t.get(young.key, 5000));
    assert.ok(t.get(busy.key, 5000));
  });

  test('over max_drc_entries a miss frees its bucket\'s oldest even when unexpired', () => {
    const c = counters();
    const t = new DrcTable(2, 0, 0, c, 'bucket'); // 1 bucket (2 / 64 rounds up to 1), no time expiry
    const es = [1, 2, 3, 4].map((x) => entry(x));
    for (const e of es) {
      t.put(e, 0);
      e.state = 'done';
      t.completed(e, 0);
    }
    // num_drc_entries counts the new entry only after the prune: 3 entries stay (max + 1), as nfsd's do
    assert.equal(t.size, 3);
    assert.equal(c.evictions, 1);
    assert.equal(t.get(es[0].key, 0), undefined);
  });
});

describe('an expired entry: answered under bucket, gone under lookup (DuplicateRequestCache)', () => {
  const write = (xid: number, first: number) => ({ xid, prog: NFS_PROGRAM, vers: NFS_V3, proc: NFSPROC3.WRITE, args: Buffer.alloc(512, first), connId: 1, clientAddr: '127.0.0.1', clientPort: 700 });

  function run(prune: DrcPrune) {
    let now = 0;
    const drc = new DuplicateRequestCache({ mode: 'checksum-256', prune, expiryMs: 120_000 }, new TimeScale(1), () => now);
    const first = drc.begin(write(0x96a0f973, 0x41));
    assert.equal(first.kind, 'execute');
    drc.complete((first as { entry: DrcEntry }).entry, Buffer.from('reply'), 0);
    now = 198_000; // the seed-like DRC age of a scribbled duplicate: 198 s after the original's completion
    const same = drc.begin(write(0x96a0f973, 0x41));
    const scribbled = drc.begin(write(0x96a0f973, 0xde));
    return { same, scribbled, c: drc.counters() };
  }

  test('prune bucket (nfsd since 4.20): the same bytes replay from the expired entry (a stale match; the hit refreshes it, lru_put_end), other bytes are a payload miss', () => {
    const { same, scribbled, c } = run('bucket');
    assert.equal(same.outcome, 'replayed');
    assert.equal(scribbled.outcome, 'payload-miss-executed');
    assert.equal(c.staleMatches, 1);
    assert.equal(c.expired, 0);
  });

  test('prune lookup (nfsd 2.6.18-4.19): the entry is gone, both copies execute as new', () => {
    const { same, scribbled, c } = run('lookup');
    assert.equal(same.outcome, 'executed');
    // the re-executed copy made a new entry: the scribbled one is a payload miss against it, not against the old
    assert.equal(scribbled.outcome, 'payload-miss-executed');
    assert.equal(c.staleMatches, 0);
    assert.equal(c.expired, 1);
  });

  test('prune bucket: a miss in the same bucket prunes the expired entry, then its duplicate executes', () => {
    let now = 0;
    const drc = new DuplicateRequestCache({ mode: 'checksum-256', prune: 'bucket', expiryMs: 120_000 }, new TimeScale(1), () => now);
    const [x, y] = xidsInBucket(nfsdBucket(0x96a0f973, 9), 9, 1).concat(xidsInBucket(nfsdBucket(0x96a0f973, 9), 9, 1, 0x96a0f974));
    const a = drc.begin(write(x, 0x41)) as { entry: DrcEntry };
    drc.complete(a.entry, Buffer.from('reply'), 0);
    now = 198_000;
    assert.equal(drc.begin(write(y, 0x42)).outcome, 'executed'); // the miss that prunes x's entry
    assert.equal(drc.counters().expired, 1);
    assert.equal(drc.begin(write(x, 0x41)).outcome, 'executed');
    assert.equal(drc.counters().staleMatches, 0);
  });

  test("each mode brings its era: xid prunes at lookup with 2.6.18's 1024 entries, the checksum modes by bucket", () => {
    assert.deepEqual([drcConfig({ mode: 'xid' }).prune, drcConfig({ mode: 'xid' }).size], ['lookup', 1024]);
    assert.deepEqual([drcConfig({ mode: 'checksum-256' }).prune, drcConfig({ mode: 'checksum-256' }).size], ['bucket', 32768]);
    assert.deepEqual([drcConfig({ mode: 'checksum-all', prune: 'lookup', size: 64 }).prune, drcConfig({ mode: 'checksum-all', prune: 'lookup', size: 64 }).size], ['lookup', 64]);
    assert.throws(() => drcConfig({ prune: 'sometimes' }), /drc prune/);
  });
});

test('end to end on a socket: a WRITE 150 s (modelled) after its original is replayed under bucket, executed under lookup', async () => {
  for (const [prune, want] of [['bucket', ['executed', 'replayed']], ['lookup', ['executed', 'executed']]] as const) {
    let now = 0;
    const t = await mountedServer({ drc: { mode: 'checksum-256', prune, expiry: '120s' }, timeScale: 0.01, clock: () => now });
    try {
      const fh = await createFile(t.rpc, t.root, 'old.bin');
      const xid = t.rpc.xid();
      const msg = RawRpc.message(NFS3.WRITE, { file: fh, offset: 0n, count: 512, stable: STABLE_HOW.FILE_SYNC, data: Buffer.alloc(512, 0x41) }, xid);
      t.rpc.send(msg);
      await t.rpc.waitFor(xid);
      now += 1500; // 150 s modelled at 1/100
      t.rpc.send(msg);
      await t.rpc.waitFor(xid, 2);
      assert.deepEqual(t.server.journal!.query({ xid }).map((r) => r.outcome), want, prune);
      assert.equal(t.server.drc.counters().staleMatches, prune === 'bucket' ? 1 : 0);
    } finally {
      t.rpc.close();
      await t.cleanup();
    }
  }
});
