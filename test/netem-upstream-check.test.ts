// Regression (issue 15 item 12, issue 21): `netem` with its upstream down logged nothing, and a client only saw
// ECONNRESET from the proxy's address. netem now checks the upstream once at start (an NFSv3 NULL call, or a plain
// connect with --no-rpc; a warning, never a failure) and logs every upstream connect that fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { checkUpstream } from '../netem/upstream-check';
import { AUTH_NONE, encodeReplyHeader, decodeMessage } from '../xdr/rpc';
import { XdrReader } from '../xdr/reader';
import { XdrWriter } from '../xdr/writer';
import { RecordDecoder, encodeRecord } from '../xdr/record';
import { startCli } from './support/cli';
import { testServer } from '../testing/server-rpc';

/** A port nothing listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A listener that answers every connection with `answer` (or says nothing when null). */
async function fakeUpstream(t: { after(fn: () => unknown): void }, answer: ((rec: Buffer) => Buffer) | Buffer | null): Promise<number> {
  const socks = new Set<net.Socket>();
  const s = net.createServer((c) => {
    socks.add(c);
    c.on('error', () => {});
    if (Buffer.isBuffer(answer)) c.write(answer);
    else if (answer) {
      const dec = new RecordDecoder();
      c.on('data', (chunk) => dec.push(chunk, (rec) => c.write(answer(rec))));
    }
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const c of socks) c.destroy();
    s.close();
  });
  return (s.address() as net.AddressInfo).port;
}

/** RFC 5531 §9 reply: MSG_ACCEPTED with the given accept_stat (PROG_UNAVAIL: a server of another program). */
function acceptedReply(acceptStat: number) {
  return (rec: Buffer) => {
    const m = decodeMessage(new XdrReader(rec));
    const w = new XdrWriter();
    encodeReplyHeader(w, { xid: m.type === 'call' ? m.call.xid : 0, stat: 'accepted', verf: AUTH_NONE, acceptStat });
    return Buffer.concat(encodeRecord(w.finish()));
  };
}

test('upstream check: NFS answers NULL; nothing listening, a non-RPC listener and another RPC program are named', async (t) => {
  const nfs = await testServer();
  t.after(() => nfs.cleanup());
  const opts = { rpc: true, timeoutMs: 2000 };
  assert.deepEqual(await checkUpstream({ host: '127.0.0.1', port: nfs.server.address.port }, opts), { ok: true, what: 'answers NFSv3 NULL' });
  assert.equal((await checkUpstream({ host: '127.0.0.1', port: await deadPort() }, opts) as { code: string }).code, 'CONNECT');
  assert.equal((await checkUpstream({ host: '127.0.0.1', port: await fakeUpstream(t, Buffer.from('SSH-2.0-OpenSSH_9.2\r\n')) }, opts) as { code: string }).code, 'NO_RPC');
  assert.equal((await checkUpstream({ host: '127.0.0.1', port: await fakeUpstream(t, null) }, { rpc: true, timeoutMs: 300 }) as { code: string }).code, 'NO_RPC');
  const other = await checkUpstream({ host: '127.0.0.1', port: await fakeUpstream(t, acceptedReply(1)) }, opts);
  assert.deepEqual([other.ok, (other as { code: string }).code], [false, 'NOT_NFS3']);
  assert.match(other.what, /PROG_UNAVAIL/);
  // --no-rpc: the stream need not be RPC, so a listener is enough
  assert.equal((await checkUpstream({ host: '127.0.0.1', port: await fakeUpstream(t, null) }, { rpc: false, timeoutMs: 2000 })).ok, true);
});

test('netem CLI: warns at start when the upstream is down, still starts, and logs each failed upstream connect', async (t) => {
  const port = await deadPort();
  const netem = await startCli(['netem', '--upstream', `127.0.0.1:${port}`], { timeoutMs: 60_000 });
  t.after(() => netem.stop('SIGKILL'));
  // stderr and stdout are separate pipes: the warning (written before ready) may be read just after it
  for (let i = 0; i < 100 && !netem.stderr().includes('check='); i++) await new Promise((r) => setTimeout(r, 20));
  assert.match(netem.stderr(), new RegExp(`^warn netem: upstream 127\\.0\\.0\\.1:${port}: cannot connect \\(ECONNREFUSED\\); relaying to it anyway check=CONNECT$`, 'm'));
  const listen = Number(netem.ready.listen.split(':').pop());
  for (let i = 0; i < 3; i++) {
    const c = net.connect(listen, '127.0.0.1');
    await new Promise<void>((r) => {
      c.on('error', () => {});
      c.on('close', () => r());
    });
  }
  for (let i = 0; i < 100 && (netem.stderr().match(/cannot connect to the upstream/g) ?? []).length < 3; i++) await new Promise((r) => setTimeout(r, 20));
  const lines = netem.stderr().split('\n').filter((l) => l.includes('cannot connect to the upstream'));
  assert.deepEqual(
    lines.map((l) => /conn=(\d+) upstream=(\S+) code=(\S+)/.exec(l)?.slice(1)),
    [1, 2, 3].map((n) => [String(n), `127.0.0.1:${port}`, 'ECONNREFUSED']),
  );
  assert.deepEqual(await netem.stop(), { code: 0, signal: null });
});

test('netem CLI: an upstream that answers NULL gives no warning', async (t) => {
  const nfs = await testServer();
  t.after(() => nfs.cleanup());
  const netem = await startCli(['netem', '--upstream', `127.0.0.1:${nfs.server.address.port}`], { timeoutMs: 60_000 });
  assert.deepEqual(await netem.stop(), { code: 0, signal: null });
  assert.doesNotMatch(netem.stderr(), /warn/);
});
