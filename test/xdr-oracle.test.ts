// Independent oracle: @jsonjoy.com/json-pack's NFSv3, MOUNT and RPC codecs. Random values (fixed seeds) encoded
// by xdr/ decode to the same values with json-pack, and values encoded by json-pack decode to the same values
// with xdr/; both encoders must also produce the same bytes. NFSPROC3_NULL and the void MOUNT procedures carry
// no body and json-pack has no message for them, so they are not compared here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Reader } from '@jsonjoy.com/buffers/lib/Reader';
import { RpcMessageDecoder } from '@jsonjoy.com/json-pack/lib/rpc/RpcMessageDecoder';
import { RpcMessageEncoder } from '@jsonjoy.com/json-pack/lib/rpc/RpcMessageEncoder';
import { RpcOpaqueAuth } from '@jsonjoy.com/json-pack/lib/rpc/messages';
import { XdrReader } from '../xdr/reader';
import { XdrWriter } from '../xdr/writer';
import { NFS3_PROCS } from '../xdr/nfs3/procs';
import { MOUNT3 } from '../xdr/mount';
import { ACCEPT_STAT, AUTH_STAT, REJECT_STAT, decodeMessage, encodeAuthSys } from '../xdr/rpc';
import { encodeCall, encodeErrorReply, encodeReply, type ErrorReply } from '../xdr/message';
import type { ProcCodec } from '../xdr/procedure';
import { MOUNT3_GEN, NFS3_GEN, Rng, plain } from '../testing/xdr-arbitrary';
import { fromJpArgs, fromJpMount, fromJpRes, jpDecode, jpEncode, toJpArgs, toJpMount, toJpRes } from '../testing/xdr-jsonpack';

const RUNS = 120;

function ours(f: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter();
  f(w);
  return w.toBuffer();
}

function oursDecode<T>(bytes: Buffer, f: (r: XdrReader) => T): T {
  const r = new XdrReader(bytes);
  const v = f(r);
  r.expectEnd();
  return v;
}

interface Case {
  label: string;
  codec: ProcCodec<any, any>;
  prog: 'nfs' | 'mount';
  gen: { args: (g: Rng) => unknown; res: (g: Rng) => unknown };
  toJp: (isRequest: boolean, v: unknown) => unknown;
  fromJp: (isRequest: boolean, m: unknown) => unknown;
  directions: { args: boolean; res: boolean };
}

const cases: Case[] = [
  ...NFS3_PROCS.filter((c) => c.name !== 'NULL').map<Case>((codec) => ({
    label: `NFSv3 ${codec.name}`,
    codec,
    prog: 'nfs',
    gen: NFS3_GEN[codec.name],
    toJp: (req, v) => (req ? toJpArgs(codec.name, v) : toJpRes(codec.name, v)),
    fromJp: (req, m) => (req ? fromJpArgs(codec.name, m) : fromJpRes(codec.name, m)),
    directions: { args: true, res: true },
  })),
  ...(['MNT', 'DUMP', 'UMNT', 'EXPORT'] as const).map<Case>((name) => ({
    label: `MOUNTv3 ${name}`,
    codec: MOUNT3[name],
    prog: 'mount',
    gen: MOUNT3_GEN[name],
    toJp: (req, v) => toJpMount(name, req, v),
    fromJp: (req, m) => fromJpMount(name, req, m),
    directions: { args: name === 'MNT' || name === 'UMNT', res: name !== 'UMNT' },
  })),
];

for (const c of cases) {
  test(`${c.label}: xdr/ and json-pack agree on values and bytes in both directions`, () => {
    const g = new Rng(0x0dac1e00 + c.codec.proc + (c.prog === 'mount' ? 100 : 0));
    for (let i = 0; i < RUNS; i++) {
      for (const isRequest of [true, false]) {
        if (!(isRequest ? c.directions.args : c.directions.res)) continue;
        const v = isRequest ? c.gen.args(g) : c.gen.res(g);
        const what = `${isRequest ? 'args' : 'res'} run ${i}`;
        const ourBytes = ours((w) => (isRequest ? c.codec.encodeArgs(w, v) : c.codec.encodeRes(w, v)));
        // ours -> json-pack
        const theirs = jpDecode(c.prog, c.codec.proc, isRequest, ourBytes);
        assert.deepEqual(plain(c.fromJp(isRequest, theirs)), plain(v), `json-pack decodes our ${what}`);
        // json-pack -> ours
        const theirBytes = jpEncode(c.prog, c.codec.proc, isRequest, c.toJp(isRequest, v));
        const back = oursDecode(theirBytes, (r) => (isRequest ? c.codec.decodeArgs(r) : c.codec.decodeRes(r)));
        assert.deepEqual(plain(back), plain(v), `we decode json-pack's ${what}`);
        assert.deepEqual(theirBytes, ourBytes, `same bytes for ${what}`);
      }
    }
  });
}

const auth = (flavor: number, body: Buffer) => {
  const r = new Reader(body);
  return new RpcOpaqueAuth(flavor, r);
};
const readerBytes = (r: Reader | undefined): Buffer => (r ? Buffer.from(r.uint8.subarray(r.x, r.end)) : Buffer.alloc(0));

test('RPC call headers: AUTH_SYS and AUTH_NONE calls agree with json-pack both ways', () => {
  const g = new Rng(531);
  const dec = new RpcMessageDecoder();
  const enc = new RpcMessageEncoder();
  for (let i = 0; i < RUNS; i++) {
    const gids = Array.from({ length: g.int(17) }, () => g.u32());
    const cred = g.bool()
      ? encodeAuthSys({ stamp: g.u32(), machinename: 'host-' + g.int(1000), uid: g.u32(), gid: g.u32(), gids })
      : { flavor: 0, body: Buffer.alloc(0) };
    const codec = NFS3_PROCS[1 + g.int(21)];
    const args = NFS3_GEN[codec.name].args(g);
    const xid = g.u32();
    const bytes = Buffer.concat(encodeCall({ xid, cred }, codec, args));
    const r = new Reader(bytes);
    const m: any = dec.decodeMessage(r);
    assert.equal(m.xid, xid);
    assert.equal(m.rpcvers, 2);
    assert.deepEqual([m.prog, m.vers, m.proc], [100003, 3, codec.proc]);
    assert.equal(m.cred.flavor, cred.flavor);
    assert.deepEqual(readerBytes(m.cred.body), cred.body);
    assert.equal(m.verf.flavor, 0);
    assert.deepEqual(plain(fromJpArgs(codec.name, jpDecode('nfs', codec.proc, true, readerBytes(m.params)))), plain(args));

    const theirs = Buffer.from(enc.encodeCall(xid, 100003, 3, codec.proc, auth(cred.flavor, cred.body), auth(0, Buffer.alloc(0)), jpEncode('nfs', codec.proc, true, toJpArgs(codec.name, args))));
    assert.deepEqual(theirs, bytes);
    const xr = new XdrReader(theirs);
    const back = decodeMessage(xr);
    assert.equal(back.type, 'call');
    if (back.type === 'call') assert.deepEqual(plain(codec.decodeArgs(xr)), plain(args));
  }
});

test('RPC replies: SUCCESS and every error arm agree with json-pack both ways', () => {
  const g = new Rng(5531);
  const dec = new RpcMessageDecoder();
  const enc = new RpcMessageEncoder();
  const errors: ErrorReply[] = [
    { kind: 'PROG_UNAVAIL' },
    { kind: 'PROG_MISMATCH', low: 2, high: 3 },
    { kind: 'PROC_UNAVAIL' },
    { kind: 'GARBAGE_ARGS' },
    { kind: 'SYSTEM_ERR' },
    { kind: 'RPC_MISMATCH', low: 2, high: 2 },
    ...Object.values(AUTH_STAT).map((authStat): ErrorReply => ({ kind: 'AUTH_ERROR', authStat })),
  ];
  const none = auth(0, Buffer.alloc(0));
  for (const e of errors) {
    const xid = g.u32();
    const bytes = Buffer.concat(encodeErrorReply(xid, e));
    const r = new Reader(bytes);
    const m: any = dec.decodeMessage(r);
    assert.equal(m.xid, xid);
    let theirs: Uint8Array;
    if (e.kind === 'RPC_MISMATCH' || e.kind === 'AUTH_ERROR') {
      assert.equal(m.stat, REJECT_STAT[e.kind]);
      if (e.kind === 'AUTH_ERROR') assert.equal(m.authStat, e.authStat);
      else assert.deepEqual([m.mismatchInfo.low, m.mismatchInfo.high], [2, 2]);
      theirs = enc.encodeRejectedReply(xid, REJECT_STAT[e.kind], e.kind === 'RPC_MISMATCH' ? { low: 2, high: 2 } : undefined, e.kind === 'AUTH_ERROR' ? e.authStat : undefined);
    } else {
      assert.equal(m.stat, ACCEPT_STAT[e.kind]);
      if (e.kind === 'PROG_MISMATCH') assert.deepEqual([m.mismatchInfo.low, m.mismatchInfo.high], [2, 3]);
      assert.equal(m.results, undefined);
      theirs = enc.encodeAcceptedReply(xid, none, ACCEPT_STAT[e.kind], e.kind === 'PROG_MISMATCH' ? { low: 2, high: 3 } : undefined);
    }
    assert.deepEqual(Buffer.from(theirs), bytes, e.kind);
  }
  for (let i = 0; i < RUNS; i++) {
    const codec = NFS3_PROCS[1 + g.int(21)];
    const res = NFS3_GEN[codec.name].res(g);
    const xid = g.u32();
    const bytes = Buffer.concat(encodeReply(xid, codec, res));
    const theirs = Buffer.from(enc.encodeAcceptedReply(xid, none, 0, undefined, jpEncode('nfs', codec.proc, false, toJpRes(codec.name, res))));
    assert.deepEqual(theirs, bytes, `${codec.name} reply run ${i}`);
    const r = new Reader(bytes);
    const m: any = dec.decodeMessage(r);
    assert.equal(m.stat, 0);
    assert.deepEqual(plain(fromJpRes(codec.name, jpDecode('nfs', codec.proc, false, readerBytes(m.results)))), plain(res));
  }
});
