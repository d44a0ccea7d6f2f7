// The CLI: `nfs-testbed netem` prints a ready line and a tshark hint, relays with the seed's stall flags, serves the
// control API, stops cleanly on SIGTERM; bad values exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseFaultArg } from '../cli/netem';
import { NFSPROC3 } from '../xdr/nfs3/constants';
import { RpcTestClient, startEchoServer } from './support/netem-rpc';
import { runCli, startCli } from './support/cli';
import { directIoBase } from './support/capture-dirs';


test('compact fault syntax', () => {
  assert.deepEqual(parseFaultArg('latency:delay=5ms,jitter=1ms,direction=downstream,probability=0.5'), {
    kind: 'latency',
    delay: '5ms',
    jitter: '1ms',
    direction: 'downstream',
    probability: 0.5,
  });
  assert.deepEqual(parseFaultArg('drop-reply:call=WRITE#2|5'), { kind: 'drop-reply', call: { proc: 'WRITE', nth: [2, 5] } });
  assert.deepEqual(parseFaultArg('drop-reply:xids=7|9,count=1'), { kind: 'drop-reply', xids: [7, 9], count: 1 });
  assert.deepEqual(parseFaultArg('{"kind":"reset"}'), { kind: 'reset' });
});

test('netem runs with the seed flags, capture and API, and stops on SIGTERM', async (t) => {
  const server = await startEchoServer();
  t.after(() => server.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'netem-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const pcap = path.join(dir, 'run.pcap');
  const netem = await startCli([
    'netem', '--upstream', `127.0.0.1:${server.port}`, '--stall', '65s', '--every', '3', '--unit', 'records', '--resume', 'backoff',
    '--time-scale', '0.001', '--seed', '5', '--capture', pcap, '--api', '127.0.0.1:0', '--fault', 'latency:delay=1ms',
  ]);
  t.after(() => netem.stop('SIGKILL'));
  const ready = netem.readyLine;
  const hint = await netem.line('hint:');
  assert.match(ready, /^ready netem listen=127\.0\.0\.1:\d+ upstream=127\.0\.0\.1:\d+ api=http:\/\/127\.0\.0\.1:\d+ /);
  const port = Number(/listen=[\d.]+:(\d+)/.exec(ready)![1]);
  const api = /api=(\S+)/.exec(ready)![1];
  assert.match(hint, new RegExp(`^hint: tshark -r .*run\\.pcap -d tcp\\.port==${port},rpc -d tcp\\.port==${server.port},rpc$`));

  const client = await RpcTestClient.connect(port);
  for (let i = 0; i < 7; i++) await client.call(NFSPROC3.WRITE, Buffer.alloc(100, i));
  client.close();
  const metrics = (await (await fetch(`${api}/proxies/netem/metrics`)).json()) as { stalls: number; upstreamDir: { calls: Record<string, number> } };
  assert.deepEqual(metrics.upstreamDir.calls, { WRITE: 7 });
  assert.ok(metrics.stalls >= 2, `stalls ${metrics.stalls}`); // every 3 records counted on both legs
  assert.equal((await netem.stop()).code, 0);
  assert.ok(fs.statSync(pcap).size > 24);
  const events = fs.readFileSync(pcap.replace(/\.pcap$/, '.events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(events.some((e) => e.event === 'stall-start' && e.modelDurationMs === 65000));
});

test('bad option values exit 2', () => {
  for (const args of [['--upstream', 'nowhere'], ['--upstream', '127.0.0.1:1', '--resume', 'later'], ['--upstream', '127.0.0.1:1', '--every', '5'], ['--upstream', '127.0.0.1:1', '--fault', 'teleport:x=1'], ['--upstream', '127.0.0.1:1', '--capture-io', 'mmap']]) {
    const r = runCli(['netem', ...args], { timeoutMs: 10_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
  }
});

test('the capture writer is in the ready line; auto falling back to the page cache says why on stderr, once', { skip: fs.existsSync('/dev/shm') ? undefined : 'needs /dev/shm (tmpfs)' }, async (t) => {
  const server = await startEchoServer();
  t.after(() => server.close());
  const dir = fs.mkdtempSync(path.join('/dev/shm', 'netem-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const netem = await startCli(['netem', '--upstream', `127.0.0.1:${server.port}`, '--capture', path.join(dir, 'shm.pcap'), '--capture-io', 'auto']);
  t.after(() => netem.stop('SIGKILL'));
  const tmpfs = Number(fs.statfsSync(dir).type) === 0x01021994;
  assert.match(netem.readyLine, tmpfs ? / capture-io=buffered$/ : / capture-io=(direct|buffered)$/);
  assert.equal((await netem.stop()).code, 0);
  const err = netem.stderr();
  if (tmpfs) assert.equal(err.match(/capture .*shm\.pcap: written through the page cache, not O_DIRECT: tmpfs/g)?.length, 1, err);
});

const direct = directIoBase();
test('by default (auto) a capture on a file system that takes O_DIRECT starts through the page cache and says when it goes O_DIRECT, with no warning', { skip: 'skip' in direct ? direct.skip : undefined }, async (t) => {
  if ('skip' in direct) return;
  const server = await startEchoServer();
  t.after(() => server.close());
  const dir = fs.mkdtempSync(path.join(direct.base, 'netem-cli-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const netem = await startCli(['netem', '--upstream', `127.0.0.1:${server.port}`, '--capture', path.join(dir, 'disk.pcap')]);
  t.after(() => netem.stop('SIGKILL'));
  assert.match(netem.readyLine, / capture-io=buffered,direct-after=64MiB$/);
  assert.equal((await netem.stop()).code, 0);
  assert.doesNotMatch(netem.stderr(), /not O_DIRECT/);
});
