// Every procedure of NFSv3, MOUNT v3 and PORTMAP v2: random arguments and results survive encode -> decode ->
// encode unchanged, inside whole RPC messages. Fixed seeds; a failure names the seed and procedure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdrReader } from '../xdr/reader';
import { XdrWriter } from '../xdr/writer';
import { NFS3, NFS3_PROCS } from '../xdr/nfs3/procs';
import { MOUNT3, MOUNT3_PROCS } from '../xdr/mount';
import { PMAP2, PMAP2_PROCS } from '../xdr/portmap';
import { decodeCall, decodeCallArgs, decodeReply, encodeCall, encodeReply } from '../xdr/message';
import { encodeAuthSys } from '../xdr/rpc';
import type { ProcCodec } from '../xdr/procedure';
import { MOUNT3_GEN, NFS3_GEN, PMAP2_GEN, Rng, plain } from '../testing/xdr-arbitrary';

const RUNS = 150;

const tables: Array<[string, Record<string, ProcCodec<any, any>>, ReadonlyArray<ProcCodec<any, any>>, typeof NFS3_GEN]> = [
  ['NFSv3', NFS3, NFS3_PROCS, NFS3_GEN],
  ['MOUNTv3', MOUNT3, MOUNT3_PROCS, MOUNT3_GEN],
  ['PMAPv2', PMAP2, PMAP2_PROCS, PMAP2_GEN],
];

function encodeWith(f: (w: XdrWriter) => void): Buffer {
  const w = new XdrWriter();
  f(w);
  return w.toBuffer();
}

for (const [label, table, byNumber, gens] of tables) {
  test(`${label}: the by-number table lists each codec at its procedure number`, () => {
    assert.equal(byNumber.length, Object.keys(table).length);
    byNumber.forEach((c, i) => {
      assert.equal(c.proc, i);
      assert.equal(table[c.name], c);
    });
    assert.deepEqual(Object.keys(gens).sort(), Object.keys(table).sort());
  });

  for (const codec of byNumber) {
    test(`${label} ${codec.name}: args and results round-trip byte-identically`, () => {
      const g = new Rng(0x5eed0000 + codec.prog + codec.proc);
      for (let i = 0; i < RUNS; i++) {
        const args = gens[codec.name].args(g);
        const a1 = encodeWith((w) => codec.encodeArgs(w, args));
        const r = new XdrReader(a1);
        const back = codec.decodeArgs(r);
        r.expectEnd();
        assert.deepEqual(plain(back), plain(args), `args run ${i}`);
        assert.deepEqual(encodeWith((w) => codec.encodeArgs(w, back)), a1);

        const res = gens[codec.name].res(g);
        const b1 = encodeWith((w) => codec.encodeRes(w, res));
        const r2 = new XdrReader(b1);
        const resBack = codec.decodeRes(r2);
        r2.expectEnd();
        assert.deepEqual(plain(resBack), plain(res), `res run ${i}`);
        assert.deepEqual(encodeWith((w) => codec.encodeRes(w, resBack)), b1);
      }
    });
  }
}

test('a whole call with AUTH_SYS and a whole reply carry the procedure values', () => {
  const g = new Rng(42);
  const cred = encodeAuthSys({ stamp: 7, machinename: 'client.example', uid: 1000, gid: 1000, gids: [4, 24, 27] });
  const args = NFS3_GEN.LOOKUP.args(g);
  const rec = Buffer.concat(encodeCall({ xid: 0xdeadbeef, cred }, NFS3.LOOKUP, args));
  const { call, args: rest } = decodeCall(rec);
  assert.equal(call.xid, 0xdeadbeef);
  assert.equal(call.prog, 100003);
  assert.equal(call.vers, 3);
  assert.equal(call.proc, 3);
  assert.deepEqual(call.cred.body, cred.body);
  assert.deepEqual(plain(decodeCallArgs(rest, NFS3.LOOKUP)), plain(args));

  const res = NFS3_GEN.READDIRPLUS.res(g);
  const rep = decodeReply(Buffer.concat(encodeReply(0xdeadbeef, NFS3.READDIRPLUS, res)), NFS3.READDIRPLUS);
  assert.equal(rep.reply.xid, 0xdeadbeef);
  assert.deepEqual(plain(rep.res), plain(res));
});
