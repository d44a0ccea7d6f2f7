// The proxy's record framer (RFC 5531 §11) never changes a byte: cut the stream at every offset, in passive and
// record mode, and the units concatenate back to the input; in record mode each unit is exactly one record.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RpcFramer, type FramerHooks } from '../netem/rpc-framer';
import { RpcTestClient } from './support/netem-rpc';

const hooks = (): FramerHooks & { calls: number[] } => {
  const calls: number[] = [];
  return {
    calls,
    onCall: (xid, prog, vers, proc) => {
      calls.push(xid);
      return { prog, vers, proc, procName: String(proc), callNumber: calls.length };
    },
    onReply: () => undefined,
  };
};

/** Three calls; the middle one is sent as two fragments (independently framed by hand). */
function stream(): { bytes: Buffer; records: Buffer[] } {
  const a = RpcTestClient.encodeCall(1, 7, Buffer.alloc(40, 1));
  const whole = RpcTestClient.encodeCall(2, 1, Buffer.alloc(30, 2)).subarray(4);
  const h1 = Buffer.alloc(4);
  h1.writeUInt32BE(10, 0); // not last, 10 bytes
  const h2 = Buffer.alloc(4);
  h2.writeUInt32BE((0x80000000 | (whole.length - 10)) >>> 0, 0);
  const b = Buffer.concat([h1, whole.subarray(0, 10), h2, whole.subarray(10)]);
  const c = RpcTestClient.encodeCall(3, 7, Buffer.alloc(8, 3));
  return { bytes: Buffer.concat([a, b, c]), records: [a, b, c] };
}

for (const recordMode of [false, true]) {
  test(`${recordMode ? 'record' : 'passive'} mode: every split point gives back the same bytes and 3 records`, () => {
    const { bytes, records } = stream();
    for (let cut = 0; cut <= bytes.length; cut++) {
      for (let cut2 = cut; cut2 <= bytes.length; cut2 += 7) {
        const h = hooks();
        const f = new RpcFramer(h);
        f.setRecordMode(recordMode);
        const units = [bytes.subarray(0, cut), bytes.subarray(cut, cut2), bytes.subarray(cut2)].flatMap((c) => f.push(c)).concat(f.flush());
        assert.deepEqual(Buffer.concat(units.map((u) => u.bytes)), bytes);
        assert.deepEqual(units.flatMap((u) => u.records.map((r) => r.xid)), [1, 2, 3]);
        assert.deepEqual(h.calls, [1, 2, 3]);
        if (recordMode) assert.deepEqual(units.filter((u) => u.bytes.length).map((u) => u.bytes), records);
      }
    }
  });
}

test('record mode switched on mid-record passes the rest of that record through, then frames', () => {
  const { bytes, records } = stream();
  const f = new RpcFramer(hooks());
  const first = f.push(bytes.subarray(0, 20));
  f.setRecordMode(true);
  const rest = f.push(bytes.subarray(20));
  assert.deepEqual(Buffer.concat([...first, ...rest].map((u) => u.bytes)), bytes);
  assert.deepEqual(rest.map((u) => u.bytes), [records[0].subarray(20), records[1], records[2]]);
});

test('a stream that is not record marking falls back to pass-through, byte for byte', () => {
  const junk = Buffer.from([0x7f, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5]);
  const f = new RpcFramer(hooks());
  f.setRecordMode(true);
  const units = [...f.push(junk.subarray(0, 3)), ...f.push(junk.subarray(3)), ...f.push(Buffer.from('more'))];
  assert.equal(f.rpc, false);
  assert.deepEqual(Buffer.concat(units.map((u) => u.bytes)), Buffer.concat([junk, Buffer.from('more')]));
});
