// The server's receive framer (server/rpc/direct-framer.ts): RFC 5531 §11 records come out whole and unchanged
// however the stream is cut into reads, large fragments land in Buffers of their own, a record handed out is
// never written again, and an oversize header is refused. Also the chunked fallback path end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord } from '../xdr/record';
import { NFS3 } from '../xdr/nfs3/procs';
import { STABLE_HOW } from '../xdr/nfs3/constants';
import { DirectFramer } from '../server/rpc/direct-framer';
import { BufferPool } from '../core/buffer-pool';
import { createFile, mountedServer } from '../testing/server-rpc';

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

/** Messages of assorted sizes (some above directMin, one split into fragments of 1000 bytes). */
function messages(rnd: () => number): { msgs: Buffer[]; stream: Buffer } {
  const sizes = [0, 4, 40, 100, 5000, 16 * 1024, 70_000, 300, 1 << 20, 12, 40_000, 8];
  const msgs = sizes.map((n, i) => Buffer.from(Array.from({ length: n }, () => Math.floor(rnd() * 256) ^ i)));
  const stream = Buffer.concat(msgs.flatMap((m, i) => encodeRecord([m], i === 5 ? 1000 : undefined)));
  return { msgs, stream };
}

function feed(framer: DirectFramer, stream: Buffer, cut: () => number, onRecord: (r: Buffer) => void): void {
  let off = 0;
  while (off < stream.length) {
    const dst = framer.nextBuffer();
    assert.ok(dst.length > 0);
    const n = Math.min(dst.length, stream.length - off, cut());
    stream.copy(dst, 0, off, off + n);
    off += n;
    framer.advance(n, onRecord);
  }
}

for (const [name, cutOf] of [
  ['one byte at a time', () => () => 1],
  ['random reads up to 64 KiB (seed 3)', () => { const r = prng(3); return () => 1 + Math.floor(r() * 65536); }],
  ['as much as the framer offers', () => () => Infinity],
] as const) for (const pooled of [false, true]) {
  test(`records come out whole and stay unchanged: ${name}${pooled ? ', bodies in pool slabs (slack behind them)' : ''}`, () => {
    const { msgs, stream } = messages(prng(9));
    const framer = new DirectFramer(pooled ? { pool: new BufferPool({ granule: 64 * 1024, maxIdleBytes: 0 }) } : {});
    const got: Buffer[] = [];
    const snapshots: Buffer[] = [];
    feed(framer, name === 'one byte at a time' ? stream.subarray(0, 200_000) : stream, cutOf(), (r) => {
      got.push(r);
      snapshots.push(Buffer.from(r));
    });
    const want = name === 'one byte at a time' ? msgs.slice(0, 8) : msgs; // the 1 MiB record is cut off
    assert.equal(got.length, want.length);
    got.forEach((r, i) => {
      assert.deepEqual(r, want[i], `record ${i}`);
      assert.deepEqual(r, snapshots[i], `record ${i} changed after delivery`);
    });
  });
}

test('a large single-fragment record owns its whole ArrayBuffer (it can be handed over without a copy)', () => {
  const msg = Buffer.alloc(300_000, 7);
  const framer = new DirectFramer();
  const got: Buffer[] = [];
  feed(framer, Buffer.concat(encodeRecord([msg])), () => 65536, (r) => got.push(r));
  assert.equal(got.length, 1);
  assert.equal(got[0].byteOffset, 0);
  assert.equal(got[0].buffer.byteLength, msg.length);
});

test('after a large record the next header is read alone, so a following large body is never copied', () => {
  const framer = new DirectFramer();
  const big = (v: number) => Buffer.alloc(200_000, v);
  const copies: Buffer[] = [];
  const got: Buffer[] = [];
  // Each read takes all the framer offers (a busy socket): the first header arrives with 64 KiB of its body.
  const stream = Buffer.concat([big(1), big(2), Buffer.alloc(40, 3), Buffer.alloc(40, 4), big(5)].flatMap((m) => encodeRecord([m])));
  let off = 0;
  const sizes: number[] = [];
  while (off < stream.length) {
    const dst = framer.nextBuffer();
    sizes.push(dst.length);
    const n = Math.min(dst.length, stream.length - off);
    stream.copy(dst, 0, off, off + n);
    off += n;
    framer.advance(n, (r) => (got.push(r), copies.push(Buffer.from(r))));
  }
  assert.deepEqual(got, [big(1), big(2), Buffer.alloc(40, 3), Buffer.alloc(40, 4), big(5)]);
  assert.deepEqual(got, copies);
  // Headers read alone: after big(1) (big(2)'s) and after big(2) (the first small record's). The small records
  // switch it off, so big(5)'s header arrives with whole-stage reads; 40-byte records stay views of the stage.
  assert.equal(sizes.filter((n) => n === 4).length, 2, `read sizes ${sizes.join(',')}`);
  assert.equal(got[1].byteOffset, 0);
  assert.equal(got[1].buffer.byteLength, 200_000, 'big(2) fills a Buffer of its own from byte 0');
  assert.ok(got[2].buffer === got[3].buffer, 'small records share the stage');
});

test('an oversize record header is refused with RM_OVERSIZE before anything is allocated', () => {
  const framer = new DirectFramer({ maxRecordSize: 1 << 20 });
  const dst = framer.nextBuffer();
  Buffer.from([0x80, 0x20, 0x00, 0x00]).copy(dst); // last fragment, 2 MiB
  assert.throws(() => framer.advance(4, () => {}), { code: 'RM_OVERSIZE' });
});

test('the chunked fallback (directReads: false) serves WRITE and READ too', async () => {
  const t = await mountedServer({ directReads: false });
  const { rpc, root } = t;
  try {
    const fh = await createFile(rpc, root, 'chunked.bin');
    const data = Buffer.alloc(200_000, 5);
    const w = await rpc.call(NFS3.WRITE, { file: fh, offset: 0n, count: data.length, stable: STABLE_HOW.FILE_SYNC, data });
    assert.equal(w.status, 0);
    const r = await rpc.call(NFS3.READ, { file: fh, offset: 0n, count: data.length });
    assert.deepEqual((r as { data: Buffer }).data, data);
  } finally {
    await t.cleanup();
  }
});
