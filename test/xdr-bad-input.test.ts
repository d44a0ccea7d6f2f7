// Malformed and hostile input: each case ends in a typed XdrError with a stable code, before anything is
// allocated from an untrusted length. Byte patches address fields at offsets computed from the RFC layouts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XdrError } from '../core/errors';
import { RecordDecoder } from '../xdr/record';
import { XdrReader } from '../xdr/reader';
import { XdrWriter } from '../xdr/writer';
import { decodeCall, decodeCallArgs, decodeReply, encodeCall, encodeReply } from '../xdr/message';
import { NFS3 } from '../xdr/nfs3/procs';
import { NFS3_LIMITS, readFattr, readFh, writeFh } from '../xdr/nfs3/structs';
import type { ProcCodec } from '../xdr/procedure';
import { Rng, fattr } from '../testing/xdr-arbitrary';

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof XdrError, `expected XdrError, got ${e}`);
    return e.code;
  }
  assert.fail('no error thrown');
}

const call = (codec: ProcCodec<any, any>, args: unknown) => Buffer.concat(encodeCall({ xid: 7 }, codec, args));
const parseCall = (codec: ProcCodec<any, any>, rec: Buffer) => {
  const { args } = decodeCall(rec);
  return decodeCallArgs(args, codec);
};
const HDR = 40; // call header with AUTH_NONE cred and verf: xid..proc (24) + 2 x (flavor, length)

// WRITE3args after the header: fh length, fh (8), offset (8), count, stable, data length, data
const FH = Buffer.from('0123456789abcdef', 'hex');
const writeArgs = { file: FH, offset: 4096n, count: 5, stable: 1, data: Buffer.from('hello') };
const W = { count: HDR + 4 + 8 + 8, stable: HDR + 4 + 8 + 8 + 4, dataLen: HDR + 4 + 8 + 8 + 8, data: HDR + 4 + 8 + 8 + 12 };

test('truncated records: every strict prefix of a call and of a reply is XDR_SHORT', () => {
  const g = new Rng(3);
  const rec = call(NFS3.WRITE, writeArgs);
  for (let n = 0; n < rec.length; n++) assert.equal(code(() => parseCall(NFS3.WRITE, rec.subarray(0, n))), 'XDR_SHORT', `prefix ${n}`);
  const rep = Buffer.concat(encodeReply(7, NFS3.READDIRPLUS, { status: 0, dirAttributes: fattr(g), cookieverf: Buffer.alloc(8), entries: [{ fileid: 1n, name: 'a', cookie: 1n, nameAttributes: fattr(g), nameHandle: FH }], eof: true }));
  for (let n = 0; n < rep.length; n++) assert.equal(code(() => decodeReply(rep.subarray(0, n), NFS3.READDIRPLUS)), 'XDR_SHORT', `reply prefix ${n}`);
});

test('lengths past the end: XDR_SHORT within the cap, XDR_LIMIT beyond it (checked before allocation)', () => {
  const rec = call(NFS3.WRITE, writeArgs);
  const past = Buffer.from(rec);
  past.writeUInt32BE(1000, W.dataLen);
  assert.equal(code(() => parseCall(NFS3.WRITE, past)), 'XDR_SHORT');
  const huge = Buffer.from(rec);
  huge.writeUInt32BE(0xfffffff0, W.dataLen);
  assert.equal(code(() => parseCall(NFS3.WRITE, huge)), 'XDR_LIMIT');
  const count = Buffer.from(rec);
  count.writeUInt32BE(NFS3_LIMITS.maxData + 1, W.count);
  assert.equal(code(() => parseCall(NFS3.WRITE, count)), 'XDR_LIMIT');
  // an array count that cannot fit in what remains
  const r = new XdrReader(Buffer.from([0x10, 0, 0, 0, 0, 0, 0, 0]));
  assert.equal(code(() => r.array(0xffffffff, (x) => x.u32())), 'XDR_SHORT');
});

test('record marking: a 2^31-1 fragment length is refused from the header, before buffering', () => {
  for (const word of [0xffffffff, 0x7fffffff]) {
    const h = Buffer.alloc(4);
    h.writeUInt32BE(word);
    const dec = new RecordDecoder();
    assert.equal(code(() => dec.push(h, () => assert.fail('no record'))), 'RM_OVERSIZE');
    assert.equal(dec.buffered, 0);
  }
  // fragments that are each small but add up past the limit
  const dec = new RecordDecoder({ maxRecordSize: 1000 });
  const frag = Buffer.concat([Buffer.from([0, 0, 0x02, 0x00]), Buffer.alloc(512)]);
  assert.equal(code(() => dec.push(Buffer.concat([frag, frag]), () => assert.fail('no record'))), 'RM_OVERSIZE');
});

test('non-zero padding is XDR_PADDING (strict mode)', () => {
  const rec = call(NFS3.WRITE, writeArgs); // 5 data bytes + 3 padding
  const bad = Buffer.from(rec);
  bad[W.data + 6] = 1;
  assert.equal(code(() => parseCall(NFS3.WRITE, bad)), 'XDR_PADDING');
  const lookup = call(NFS3.LOOKUP, { what: { dir: FH, name: 'abc' } });
  const bad2 = Buffer.from(lookup);
  bad2[bad2.length - 1] = 0xff;
  assert.equal(code(() => parseCall(NFS3.LOOKUP, bad2)), 'XDR_PADDING');
  // lenient readers exist for captures of sloppy peers
  const lenient = new XdrReader(bad2, 0, bad2.length, false);
  lenient.pos = HDR;
  assert.equal(NFS3.LOOKUP.decodeArgs(lenient).what.name, 'abc');
});

test('unknown enum values are XDR_ENUM, bad booleans XDR_BOOL', () => {
  const rec = call(NFS3.WRITE, writeArgs);
  const stable = Buffer.from(rec);
  stable.writeUInt32BE(3, W.stable); // stable_how has 0..2
  assert.equal(code(() => parseCall(NFS3.WRITE, stable)), 'XDR_ENUM');

  const g = new Rng(5);
  const rep = Buffer.concat(encodeReply(7, NFS3.GETATTR, { status: 0, objAttributes: fattr(g) }));
  const status = Buffer.from(rep);
  status.writeUInt32BE(9999, 24); // reply header with AUTH_NONE verf is 24 bytes; nfsstat3 follows
  assert.equal(code(() => decodeReply(status, NFS3.GETATTR)), 'XDR_ENUM');
  const ftype = Buffer.from(rep);
  ftype.writeUInt32BE(0, 28); // ftype3 starts at 1
  assert.equal(code(() => decodeReply(ftype, NFS3.GETATTR)), 'XDR_ENUM');
  const msgType = Buffer.from(rep);
  msgType.writeUInt32BE(2, 4);
  assert.equal(code(() => decodeReply(msgType, NFS3.GETATTR)), 'XDR_ENUM');
  const acceptStat = Buffer.from(rep);
  acceptStat.writeUInt32BE(6, 20);
  assert.equal(code(() => decodeReply(acceptStat, NFS3.GETATTR)), 'XDR_ENUM');

  const create = call(NFS3.CREATE, { where: { dir: FH, name: 'f' }, how: { mode: 0, attributes: {} } });
  const mode = Buffer.from(create);
  mode.writeUInt32BE(3, HDR + 4 + 8 + 8); // createmode3 after diropargs3 (fh 4+8, name 4+4)
  assert.equal(code(() => parseCall(NFS3.CREATE, mode)), 'XDR_ENUM');
  const how = Buffer.from(create);
  how.writeUInt32BE(3, HDR + 4 + 8 + 8 + 4 + 16); // set_atime time_how after four FALSE set_it flags
  assert.equal(code(() => parseCall(NFS3.CREATE, how)), 'XDR_ENUM');
  const flag = Buffer.from(create);
  flag.writeUInt32BE(2, HDR + 4 + 8 + 8 + 4); // set_mode's bool
  assert.equal(code(() => parseCall(NFS3.CREATE, flag)), 'XDR_BOOL');
  // encoders refuse values the decoder would refuse
  assert.equal(code(() => call(NFS3.WRITE, { ...writeArgs, stable: 7 })), 'XDR_ENUM');
});

test('nfs_fh3 longer than 64 bytes is XDR_LIMIT, both ways', () => {
  const w = new XdrWriter();
  w.opaque(Buffer.alloc(65));
  assert.equal(code(() => readFh(new XdrReader(w.toBuffer()))), 'XDR_LIMIT');
  assert.equal(code(() => writeFh(new XdrWriter(), Buffer.alloc(65))), 'XDR_LIMIT');
  assert.equal(readFh(new XdrReader(Buffer.concat([Buffer.from([0, 0, 0, 64]), Buffer.alloc(64)]))).length, 64);
  assert.equal(code(() => call(NFS3.GETATTR, { object: Buffer.alloc(65) })), 'XDR_LIMIT');
});

test('trailing bytes after a body and an RPC version other than 2 are refused', () => {
  const rec = call(NFS3.GETATTR, { object: FH });
  assert.equal(code(() => parseCall(NFS3.GETATTR, Buffer.concat([rec, Buffer.alloc(4)]))), 'XDR_TRAILING');
  const v3 = Buffer.from(rec);
  v3.writeUInt32BE(3, 8);
  assert.equal(code(() => decodeCall(v3)), 'RPC_VERSION');
  assert.equal(code(() => readFattr(new XdrReader(Buffer.from([0, 0, 0, 1, 0, 0])))), 'XDR_SHORT');
});
