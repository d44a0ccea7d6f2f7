// RFC 5531 §11 record marking: the sans-IO framer and the fragment encoder. Fragment headers in these tests are
// built by hand (mark()), not by encodeRecord, so the two sides check each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordDecoder, encodeRecord } from '../xdr/record';
import { encodeCall, encodeCallRecord, encodeReply, encodeReplyRecord } from '../xdr/message';
import { NFS3 } from '../xdr/nfs3/procs';
import { NFS3_GEN, Rng } from '../testing/xdr-arbitrary';

/** A fragment header: top bit = last fragment, low 31 bits = length. */
function mark(len: number, last: boolean): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt32BE(((last ? 0x80000000 : 0) | len) >>> 0);
  return h;
}

function frame(msg: Buffer, cuts: number[] = []): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, msg.length]) {
    out.push(mark(c - at, c === msg.length), msg.subarray(at, c));
    at = c;
  }
  return Buffer.concat(out);
}

function decodeAll(chunks: Buffer[], dec = new RecordDecoder()): Buffer[] {
  const out: Buffer[] = [];
  for (const c of chunks) dec.push(c, (r) => out.push(Buffer.from(r)));
  assert.ok(dec.idle, 'decoder must end on a record boundary');
  return out;
}

/** A handful of real messages: small calls, a reply, an empty record. */
function messages(): Buffer[] {
  const g = new Rng(11);
  return [
    Buffer.concat(encodeCall({ xid: 1 }, NFS3.GETATTR, NFS3_GEN.GETATTR.args(g))),
    Buffer.concat(encodeReply(2, NFS3.LOOKUP, NFS3_GEN.LOOKUP.res(g))),
    Buffer.alloc(0),
    Buffer.concat(encodeCall({ xid: 3 }, NFS3.WRITE, { file: Buffer.alloc(8, 1), offset: 0n, count: 37, stable: 0, data: Buffer.alloc(37, 9) })),
  ];
}

test('encodeRecord: a message that fits is one last fragment with its length', () => {
  const msg = messages()[0];
  const out = encodeRecord([msg]);
  assert.deepEqual(Buffer.concat(out), Buffer.concat([mark(msg.length, true), msg]));
});

test('encodeRecord with 512-byte fragments: sizes, last bit only at the end, payload referenced not copied', () => {
  const data = Buffer.alloc(1 << 20);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32BE(i, i);
  const msg = encodeCall({ xid: 9 }, NFS3.WRITE, { file: Buffer.alloc(32, 2), offset: 0n, count: data.length, stable: 2, data });
  const whole = Buffer.concat(msg);
  const out = encodeRecord(msg, 512);
  let at = 0;
  let i = 0;
  const rebuilt: Buffer[] = [];
  while (i < out.length) {
    const h = out[i++].readUInt32BE(0);
    const len = h & 0x7fffffff;
    const last = h >>> 31 === 1;
    assert.equal(last, at + len === whole.length, `last-fragment bit at offset ${at}`);
    assert.ok(len === 512 || last, `fragment of ${len} bytes before the end`);
    let got = 0;
    while (got < len) {
      const p = out[i++];
      if (p.buffer === data.buffer) assert.ok(p.byteOffset >= data.byteOffset && p.byteOffset + p.length <= data.byteOffset + data.length);
      rebuilt.push(p);
      got += p.length;
    }
    assert.equal(got, len);
    at += len;
  }
  assert.deepEqual(Buffer.concat(rebuilt), whole);
  assert.ok(out.filter((p) => p.buffer === data.buffer).length >= 2040, 'payload fragments are views of the payload');
  // and the framer gives the message back
  assert.deepEqual(decodeAll([Buffer.concat(out)]), [whole]);
});

test('multi-fragment records and zero-length fragments decode to the concatenated record', () => {
  const msg = messages()[1];
  const three = frame(msg, [10, 40]);
  const withEmpty = Buffer.concat([mark(0, false), mark(12, false), msg.subarray(0, 12), mark(0, false), mark(msg.length - 12, false), msg.subarray(12), mark(0, true)]);
  const emptyRecord = mark(0, true);
  assert.deepEqual(decodeAll([three, withEmpty, emptyRecord]), [msg, msg, Buffer.alloc(0)]);
});

test('a record inside one chunk is handed out as a view of that chunk (no copy)', () => {
  const msg = messages()[0];
  const chunk = frame(msg);
  const seen: Buffer[] = [];
  new RecordDecoder().push(chunk, (r) => seen.push(r));
  assert.equal(seen.length, 1);
  assert.equal(seen[0].buffer, chunk.buffer);
  assert.equal(seen[0].byteOffset, chunk.byteOffset + 4);
});

test('split chunks: the stream cut at every offset into two pieces gives the same records', () => {
  const msgs = messages();
  const stream = Buffer.concat([frame(msgs[0]), frame(msgs[1], [7, 8, 100]), frame(msgs[2]), frame(msgs[3], [4])]);
  for (let a = 0; a <= stream.length; a++) {
    assert.deepEqual(decodeAll([stream.subarray(0, a), stream.subarray(a)]), msgs, `cut at ${a}`);
  }
});

test('split chunks: every record cut at every pair of offsets into three pieces gives the same record', () => {
  const msgs = messages();
  for (const [k, framed] of [frame(msgs[0]), frame(msgs[1], [7, 8, 100]), frame(msgs[3], [4])].entries()) {
    const want = [msgs[k === 2 ? 3 : k]];
    for (let a = 0; a <= framed.length; a++) {
      for (let b = a; b <= framed.length; b++) {
        assert.deepEqual(decodeAll([framed.subarray(0, a), framed.subarray(a, b), framed.subarray(b)]), want, `record ${k} cut at ${a},${b}`);
      }
    }
  }
});

test('one byte at a time', () => {
  const msgs = messages();
  const stream = Buffer.concat(msgs.map((m) => frame(m, m.length > 20 ? [3, 20] : [])));
  const bytes = [...stream].map((b) => Buffer.from([b]));
  assert.deepEqual(decodeAll(bytes), msgs);
});

test('encodeCallRecord / encodeReplyRecord frame exactly like encodeRecord, also in 512-byte fragments', () => {
  const g = new Rng(12);
  for (let i = 0; i < 40; i++) {
    const args = NFS3_GEN.WRITE.args(g);
    const res = NFS3_GEN.READDIRPLUS.res(g);
    for (const max of [undefined, 512, 64]) {
      assert.deepEqual(Buffer.concat(encodeCallRecord({ xid: i }, NFS3.WRITE, args as never, max)), Buffer.concat(encodeRecord(encodeCall({ xid: i }, NFS3.WRITE, args as never), max)));
      assert.deepEqual(Buffer.concat(encodeReplyRecord(i, NFS3.READDIRPLUS, res as never, undefined, max)), Buffer.concat(encodeRecord(encodeReply(i, NFS3.READDIRPLUS, res as never), max)));
    }
  }
});
