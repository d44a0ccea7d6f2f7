// Zero-copy contract of the wire layer (xdr/writer.ts ownership note): a large WRITE/READ payload is put in
// the gather list by reference and decoded as a view of the record. The zero-copy retransmit policy relies on
// exactly this, so a silent copy here would hide the corruption the project studies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeCall, encodeCallRecord, encodeReply, decodeCall, decodeCallArgs, decodeReply } from '../xdr/message';
import { XdrWriter } from '../xdr/writer';
import { encodeRecord, gatherLength } from '../xdr/record';
import { NFS3 } from '../xdr/nfs3/procs';
import type { WriteArgs } from '../xdr/nfs3/types';

const FH = Buffer.alloc(28, 0xab);
const MiB = 1 << 20;

test('a 1 MiB WRITE call puts the payload Buffer itself in the gather list', () => {
  const data = Buffer.alloc(MiB, 0x5a);
  const parts = encodeCall({ xid: 1 }, NFS3.WRITE, { file: FH, offset: 0n, count: MiB, stable: 0, data });
  assert.ok(parts.includes(data), 'payload Buffer is an element of the list');
  assert.equal(gatherLength(parts) - data.length, 40 + 4 + 28 + 8 + 4 + 4 + 4, 'everything else is the header');
  const framed = encodeRecord(parts);
  assert.ok(framed.includes(data), 'still referenced after record framing');
  // mutating the payload after encoding changes what would go on the wire: no hidden copy anywhere
  data[0] = 0x00;
  assert.equal(Buffer.concat(framed)[4 + 92], 0x00);
});

test('an unaligned payload is referenced and followed by zero padding', () => {
  const data = Buffer.alloc(MiB + 1, 1);
  const parts = encodeCall({ xid: 2 }, NFS3.WRITE, { file: FH, offset: 0n, count: data.length, stable: 0, data });
  const i = parts.indexOf(data);
  assert.ok(i >= 0);
  assert.deepEqual(parts.slice(i + 1).reduce((a, p) => Buffer.concat([a, p]), Buffer.alloc(0)), Buffer.alloc(3));
});

test('a 1 MiB READ reply puts the payload Buffer itself in the gather list', () => {
  const data = Buffer.alloc(MiB, 7);
  const parts = encodeReply(3, NFS3.READ, { status: 0, fileAttributes: undefined, count: MiB, eof: true, data });
  assert.ok(parts.includes(data));
});

test('decoded WRITE data and READ data are views of the record, not copies', () => {
  const data = Buffer.alloc(64 * 1024, 3);
  const rec = Buffer.concat(encodeCall({ xid: 4 }, NFS3.WRITE, { file: FH, offset: 0n, count: data.length, stable: 2, data }));
  const { args } = decodeCall(rec);
  const w: WriteArgs = decodeCallArgs(args, NFS3.WRITE);
  assert.equal(w.data.buffer, rec.buffer);
  assert.equal(w.data.byteOffset, rec.byteOffset + rec.length - data.length);
  const rep = Buffer.concat(encodeReply(4, NFS3.READ, { status: 0, count: data.length, eof: false, data }));
  const res = decodeReply(rep, NFS3.READ).res;
  assert.ok(res && res.status === 0);
  if (res.status === 0) assert.equal(res.data.buffer, rep.buffer);
});

test('header chunks handed out are never written again by later encodes (slab ownership)', () => {
  const kept = encodeCallRecord({ xid: 77 }, NFS3.LOOKUP, { what: { dir: FH, name: 'kept' } });
  const snapshot = Buffer.concat(kept);
  // enough traffic to roll over many 64 KiB slabs, including abandoned and interleaved writers
  for (let i = 0; i < 5000; i++) {
    encodeCallRecord({ xid: i }, NFS3.LOOKUP, { what: { dir: FH, name: `n${i}` } });
    if (i % 97 === 0) new XdrWriter().u32(0xdeadbeef); // abandoned mid-message
  }
  assert.deepEqual(Buffer.concat(kept), snapshot);
});

test('two writers alive at once do not share bytes', () => {
  const a = new XdrWriter();
  const b = new XdrWriter();
  for (let i = 0; i < 1000; i++) {
    a.u32(i);
    b.u32(0xffffffff - i);
  }
  const ba = a.toBuffer();
  const bb = b.toBuffer();
  for (let i = 0; i < 1000; i++) {
    assert.equal(ba.readUInt32BE(i * 4), i);
    assert.equal(bb.readUInt32BE(i * 4), 0xffffffff - i);
  }
});
