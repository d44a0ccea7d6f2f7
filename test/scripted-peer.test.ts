// The scripted peer (test/support/scripted-peer.ts) is the witness of the transport tests: "the peer saw the
// duplicate cut short by the reset" is its word. A paused peer's socket still reads a little from the kernel into
// its stream buffer, and a reset used to destroy those bytes unseen (a full-suite run: cancel-on-reply's withdrawn
// duplicate counted as never started). Whatever arrived before the reset counts, complete records included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { encodeCall } from '../xdr/message';
import { encodeRecord } from '../xdr/record';
import { BLOB_PUT } from './support/client-responder';
import { startScriptedPeer } from './support/scripted-peer';

test('scripted peer: bytes that reached a paused peer before a reset are counted, a whole record among them recorded', async () => {
  const peer = await startScriptedPeer();
  try {
    const s = net.connect(peer.port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    await peer.until(() => peer.conns.length === 1);
    peer.pause();
    // One whole record, then the first 3,000 bytes of a second: fewer than a paused socket's stream buffer takes in.
    const whole = Buffer.concat(encodeRecord(encodeCall({ xid: 7 }, BLOB_PUT, { offset: 0n, data: Buffer.alloc(1000, 1) })));
    const next = Buffer.concat(encodeRecord(encodeCall({ xid: 8 }, BLOB_PUT, { offset: 0n, data: Buffer.alloc(10_000, 2) })));
    s.write(Buffer.concat([whole, next.subarray(0, 3000)]));
    // Give the peer's socket time to read them into its buffer (it is paused: nothing is emitted), then reset.
    await new Promise((r) => setTimeout(r, 100));
    s.resetAndDestroy();
    await peer.until(() => peer.conns[0].ended);
    assert.deepEqual(peer.records.map((r) => r.xid), [7]);
    assert.equal(peer.conns[0].partialBytes, 3000);
  } finally {
    await peer.close();
  }
});
