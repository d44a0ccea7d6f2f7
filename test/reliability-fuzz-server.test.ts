// The running server under mutated calls over real sockets (127.0.0.1, port 0): calls from the real libnfs
// captures and every procedure encoded with live handles, mutated; some inputs are raw streams with broken record
// marking. Every reply is a well-formed RFC 5531 reply, every readable call is answered, the server keeps
// answering and its memory stays flat.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { NFS3 } from '../xdr/nfs3/procs';
import { fuzzServer, liveCalls } from '../lab/fuzz/server';
import { RawRpc, TestServer, testServer } from '../testing/server-rpc';

let t: TestServer;
before(async () => {
  t = await testServer();
});
after(() => t.cleanup());

test('5000 mutated calls: RFC 5531 replies or a closed connection, never a crash; RSS grows < 64 MiB', async () => {
  const calls = await liveCalls(t.server.address.port);
  assert.equal(calls.length, 22 + 5);
  const rssStart = process.memoryUsage.rss();
  const s = await fuzzServer({ port: t.server.address.port, seed: 8, inputs: 5000, calls });
  const rssEnd = process.memoryUsage.rss();
  console.log(`server fuzz: ${JSON.stringify({ ...s, rssStart, rssEnd })}`);
  assert.deepEqual(s.findings, []);
  assert.equal(s.inputs, 5000);
  assert.ok(s.replies.GARBAGE_ARGS > 0 && s.replies.SUCCESS > 0 && s.replies.AUTH_ERROR > 0, JSON.stringify(s.replies));
  assert.ok(s.rawStreams > 0 && s.closedByServer > 0);
  assert.equal(s.probes > 0, true);
  // No procedure threw something other than an nfsstat3 (that would be logged as an error and be SYSTEM_ERR).
  assert.deepEqual(t.logLines.filter((l) => l.startsWith('error')), []);
  assert.ok(rssEnd - rssStart < 64 * 1024 * 1024, `RSS ${rssStart} -> ${rssEnd}`);
  const rpc = await RawRpc.connect(t.server.address.port);
  try {
    await rpc.call(NFS3.NULL, undefined);
  } finally {
    rpc.close();
  }
});
