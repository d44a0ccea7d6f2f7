// Issue 8 "Security" for the netem control API: binds 127.0.0.1 by default, joi validates params, query and body
// of every route (bounded; unexpected input is a 400), and a bearer token (api/auth.ts, as the admin API
// and dashboard use it) is required when given and mandatory off loopback: the API refuses to be built and the
// CLI exits 2 before anything binds. Nothing here binds a non-loopback address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError } from '../core/errors';
import { createNetemApiServer } from '../api/netem';
import { NetemRegistry } from '../netem';
import { startEchoServer } from './support/netem-rpc';
import { runCli } from './support/cli';

const TOKEN = 'netem-token-0123456789abcdef';

async function rig(t: { after(fn: () => unknown): void }, token?: string) {
  const upstream = await startEchoServer();
  t.after(() => upstream.close());
  const registry = new NetemRegistry({ timeScale: 0.01 });
  t.after(() => registry.closeAll());
  const api = await createNetemApiServer(registry, { token });
  const inject = async (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) => {
    const r = await api.inject({ method, url, payload: payload as object, headers });
    return { status: r.statusCode, body: r.payload ? JSON.parse(r.payload) : undefined };
  };
  return { upstream, registry, api, inject };
}

test('the API binds 127.0.0.1 by default; off loopback it refuses to be built without a (strong) token', async (t) => {
  const { api } = await rig(t);
  assert.equal(api.settings.host, '127.0.0.1');
  const registry = new NetemRegistry();
  for (const host of ['0.0.0.0', '::', '10.1.2.3']) {
    await assert.rejects(createNetemApiServer(registry, { host }), (e: unknown) => e instanceof ConfigError && e.code === 'API_TOKEN_REQUIRED');
  }
  await assert.rejects(createNetemApiServer(registry, { host: '0.0.0.0', token: 'short' }), (e: unknown) => (e as ConfigError).code === 'API_TOKEN_WEAK');
});

test('with a token, every request needs the right bearer (401 otherwise) and nothing happens before the check', async (t) => {
  const { inject, registry, upstream } = await rig(t, TOKEN);
  const create = { name: 'p', upstream: `127.0.0.1:${upstream.port}` };
  for (const headers of [{}, { authorization: 'Bearer wrong-token-wrong-token' }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }] as Array<Record<string, string>>) {
    const r = await inject('POST', '/proxies', create, headers);
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'UNAUTHORIZED');
    assert.equal((await inject('GET', '/proxies', undefined, headers)).status, 401);
  }
  assert.equal(registry.list().length, 0);
  const auth = { authorization: `Bearer ${TOKEN}` };
  assert.equal((await inject('POST', '/proxies', create, auth)).status, 201);
  assert.equal((await inject('GET', '/proxies/p/metrics', undefined, auth)).status, 200);
  assert.equal((await inject('POST', '/proxies/p/stall', { duration: '1s' })).status, 401);
  assert.equal((await inject('GET', '/proxies/p/metrics', undefined, auth)).body.stalling, false);
});

test('every route refuses an unexpected query string, bad path parameters and an unexpected body with 400', async (t) => {
  const { inject, upstream } = await rig(t);
  assert.equal((await inject('POST', '/proxies', { name: 'p', upstream: `127.0.0.1:${upstream.port}` })).status, 201);
  assert.equal((await inject('POST', '/proxies/p/faults', { kind: 'latency', id: 'lat', delay: '1ms' })).status, 201);
  const routes: Array<[string, string]> = [
    ['GET', '/proxies'],
    ['GET', '/proxies/p'],
    ['GET', '/proxies/p/faults'],
    ['GET', '/proxies/p/faults/lat'],
    ['GET', '/metrics'],
    ['GET', '/proxies/p/metrics'],
    ['GET', '/proxies/p/connections'],
    ['GET', '/proxies/p/events'],
    ['POST', '/reset'],
    ['POST', '/proxies/p/reset'],
    ['DELETE', '/proxies/p/connections/1'],
    ['DELETE', '/proxies/p/faults/lat'],
    ['DELETE', '/proxies/p'],
  ];
  for (const [method, url] of routes) {
    const r = await inject(method, `${url}?debug=1`);
    assert.equal(r.status, 400, `${method} ${url}?debug=1`);
    assert.equal(r.body.code, 'BAD_REQUEST');
  }
  for (const [method, url] of routes.filter(([m]) => m !== 'GET')) {
    assert.equal((await inject(method, url, { surprise: true })).status, 400, `${method} ${url} with a body`);
  }
  const badParams: Array<[string, string]> = [
    ['GET', `/proxies/${'p'.repeat(65)}`],
    ['GET', '/proxies/p%20q/metrics'],
    ['GET', `/proxies/p/faults/${'f'.repeat(65)}`],
    ['DELETE', '/proxies/p/connections/abc'],
    ['DELETE', '/proxies/p/connections/0'],
    ['GET', '/proxies/p/events?since=-1'],
    ['GET', '/proxies/p/events?since=1e99'],
  ];
  for (const [method, url] of badParams) assert.equal((await inject(method, url)).status, 400, `${method} ${url}`);
  // The routes still work with exactly their documented input (the proxy was not deleted by a refused DELETE).
  assert.equal((await inject('GET', '/proxies/p/events?since=0')).status, 200);
  assert.equal((await inject('POST', '/proxies/p/reset')).status, 204);
  assert.equal((await inject('DELETE', '/proxies/p/connections/1')).status, 404);
  assert.equal((await inject('DELETE', '/proxies/p')).status, 204);
});

test('bodies are bounded: unknown fields, long strings, long lists and oversized bodies are refused', async (t) => {
  const { inject, upstream, registry } = await rig(t);
  const up = `127.0.0.1:${upstream.port}`;
  assert.equal((await inject('POST', '/proxies', { name: 'p', upstream: up })).status, 201);
  const refused: Array<[string, string, unknown]> = [
    ['POST', '/proxies', { name: 'q', upstream: up, capture: '/tmp/evil.pcap' }],
    ['POST', '/proxies', { name: 'q', upstream: `${'h'.repeat(400)}:1` }],
    ['POST', '/proxies', { name: 'q', upstream: up, seed: 's'.repeat(300) }],
    ['POST', '/proxies', { name: 'q', upstream: up, faults: Array.from({ length: 65 }, () => ({ kind: 'reset' })) }],
    ['POST', '/proxies/p/faults', { kind: 'latency', delay: '1ms', eventLog: '/etc/passwd' }],
    ['POST', '/proxies/p/faults', { kind: 'stall', duration: `${'9'.repeat(40)}s` }],
    ['POST', '/proxies/p/faults', { kind: 'drop-reply', xids: Array.from({ length: 1025 }, (_, i) => i) }],
    ['POST', '/proxies/p/faults', { kind: 'drop-reply', xids: [2 ** 32] }],
    ['POST', '/proxies/p/faults', { kind: 'drop-reply', call: { proc: 'W'.repeat(65) } }],
    ['POST', '/proxies/p/faults', { kind: 'stall', duration: '1s', call: { proc: 'WRITE', nth: 0 } }],
    ['POST', '/proxies/p/stall', { duration: '1s', extra: 1 }],
    ['POST', '/proxies/p/stall', 'not json'],
  ];
  for (const [method, url, body] of refused) assert.equal((await inject(method, url, body)).status, 400, `${method} ${url} ${JSON.stringify(body).slice(0, 80)}`);
  const huge = await inject('POST', '/proxies/p/faults', { kind: 'reset', id: 'x', pad: 'x'.repeat(100 * 1024) });
  assert.equal(huge.status, 413);
  // A proxy relays without authentication, so the API only creates proxies that listen on loopback.
  const remote = await inject('POST', '/proxies', { name: 'open', listen: '0.0.0.0:0', upstream: up });
  assert.equal(remote.status, 400);
  assert.equal(remote.body.code, 'NETEM_LISTEN_NOT_LOOPBACK');
  assert.deepEqual(registry.list().map((p) => p.name), ['p']);
  assert.deepEqual((await inject('GET', '/proxies/p/faults')).body.faults, []);
  // Every field a fault kind documents is accepted.
  const ok: unknown[] = [
    { kind: 'stall', id: 's', duration: '65s', every: 1000, unit: 'packets', mss: 1448, resume: 'backoff', rtoInitial: '200ms', rtoMax: '120s', direction: 'both', probability: 1, count: 3 },
    { kind: 'slicer', id: 'sl', size: 100, variation: 10, delay: '1ms' },
    { kind: 'bandwidth', id: 'bw', rate: '10MiB' },
    { kind: 'blackhole', id: 'bh', duration: '1s', close: false, at: ['10s', '20s'] },
    { kind: 'duplicate-call', id: 'dc', xids: [1, 2], delay: '1ms' },
  ];
  for (const f of ok) assert.equal((await inject('POST', '/proxies/p/faults', f)).status, 201, JSON.stringify(f));
});

test('CLI: --api off loopback without a token (or with a weak one) exits 2 before binding anything', () => {
  const run = (args: string[], token = '') => runCli(['netem', '--upstream', '127.0.0.1:1', ...args], { timeoutMs: 10_000, env: { ...process.env, NFS_TESTBED_API_TOKEN: token } });
  for (const r of [run(['--api', '0.0.0.0:0']), run(['--api', '[::]:0']), run(['--api', '0.0.0.0:0', '--api-token', 'short']), run(['--api', '0.0.0.0:0'], 'short')]) {
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /token/);
    assert.doesNotMatch(r.out, /ready/);
  }
});
