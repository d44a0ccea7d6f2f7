// The control API (server.inject): create a proxy, add/update/remove faults on it live, metrics, connections,
// stall now, reset, and validation errors as 400s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createNetemApiServer } from '../api/netem';
import { NetemRegistry } from '../netem';
import { NFSPROC3 } from '../xdr/nfs3/constants';
import { RpcTestClient, startEchoServer } from './support/netem-rpc';

async function rig(t: { after(fn: () => unknown): void }) {
  const server = await startEchoServer();
  t.after(() => server.close());
  const registry = new NetemRegistry({ timeScale: 0.01 });
  t.after(() => registry.closeAll());
  const api = await createNetemApiServer(registry);
  const inject = async (method: string, url: string, payload?: object) => {
    const r = await api.inject({ method, url, payload });
    return { status: r.statusCode, body: r.payload ? JSON.parse(r.payload) : undefined };
  };
  return { server, registry, inject };
}

test('create a proxy, relay through it, then list, inspect and delete it', async (t) => {
  const { server, inject } = await rig(t);
  const created = await inject('POST', '/proxies', { name: 'nfs', upstream: `127.0.0.1:${server.port}` });
  assert.equal(created.status, 201);
  assert.equal(created.body.upstream.port, server.port);
  assert.equal(created.body.timeScale, 0.01);
  const client = await RpcTestClient.connect(created.body.listen.port);
  t.after(() => client.close());
  await client.call(NFSPROC3.WRITE, Buffer.alloc(64));
  const metrics = await inject('GET', '/proxies/nfs/metrics');
  assert.deepEqual(metrics.body.upstreamDir.calls, { WRITE: 1 });
  const conns = await inject('GET', '/proxies/nfs/connections');
  assert.equal(conns.body.connections.length, 1);
  assert.equal((await inject('GET', '/proxies')).body.proxies.length, 1);
  assert.equal((await inject('POST', '/proxies', { name: 'nfs', upstream: `127.0.0.1:${server.port}` })).status, 409);
  assert.equal((await inject('DELETE', '/proxies/nfs')).status, 204);
  assert.equal((await inject('GET', '/proxies/nfs')).status, 404);
});

test('faults are added, updated and removed on a live proxy', async (t) => {
  const { server, inject } = await rig(t);
  const { body: p } = await inject('POST', '/proxies', { name: 'p1', upstream: `127.0.0.1:${server.port}` });
  const client = await RpcTestClient.connect(p.listen.port);
  t.after(() => client.close());
  const add = await inject('POST', '/proxies/p1/faults', { kind: 'drop-reply', call: { proc: 'WRITE', nth: 1 } });
  assert.equal(add.status, 201);
  assert.equal(add.body.id, 'drop-reply-1');
  const r = await client.call(NFSPROC3.WRITE, Buffer.alloc(8), { timeoutMs: 1000 });
  assert.equal(r.transmissions, 2);
  assert.equal((await inject('GET', '/proxies/p1/faults/drop-reply-1')).body.fired, 1);
  const upd = await inject('PATCH', '/proxies/p1/faults/drop-reply-1', { call: { proc: 'WRITE', nth: 3 } });
  assert.equal(upd.status, 200);
  assert.equal(upd.body.spec.call.nth, 3);
  assert.equal((await inject('DELETE', '/proxies/p1/faults/drop-reply-1')).status, 204);
  assert.equal((await inject('DELETE', '/proxies/p1/faults/drop-reply-1')).status, 404);
  assert.deepEqual((await inject('GET', '/proxies/p1/faults')).body.faults, []);
  const events = await inject('GET', '/proxies/p1/events?since=0');
  assert.deepEqual(
    events.body.events.filter((e: { source: string }) => e.source === 'drop-reply-1').map((e: { event: string }) => e.event),
    ['fault-added', 'drop-reply', 'fault-updated', 'fault-removed'],
  );
});

test('stall now, one at a time; reset releases it', async (t) => {
  const { server, inject } = await rig(t);
  await inject('POST', '/proxies', { name: 's', upstream: `127.0.0.1:${server.port}` });
  const first = await inject('POST', '/proxies/s/stall', { duration: '1h', resume: 'backoff' });
  assert.equal(first.status, 200);
  assert.equal(first.body.started, true);
  assert.equal((await inject('POST', '/proxies/s/stall', { duration: '10s' })).status, 409);
  assert.equal((await inject('GET', '/proxies/s/metrics')).body.stalling, true);
  assert.equal((await inject('POST', '/reset')).status, 204);
  assert.equal((await inject('GET', '/proxies/s/metrics')).body.stalling, false);
});

test('bad requests are 400s with a reason', async (t) => {
  const { server, inject } = await rig(t);
  await inject('POST', '/proxies', { name: 'v', upstream: `127.0.0.1:${server.port}` });
  assert.equal((await inject('POST', '/proxies', { name: 'bad name!', upstream: '127.0.0.1:1' })).status, 400);
  assert.equal((await inject('POST', '/proxies', { name: 'x', upstream: 'nowhere' })).status, 400);
  assert.equal((await inject('POST', '/proxies/v/faults', { kind: 'teleport' })).status, 400);
  assert.equal((await inject('POST', '/proxies/v/faults', { kind: 'latency', probability: 2, delay: '1ms' })).status, 400);
  // shape is fine, the fault itself rejects it (ConfigError -> 400 with its code)
  const deep = await inject('POST', '/proxies/v/faults', { kind: 'stall', duration: '5 parsecs' });
  assert.equal(deep.status, 400);
  assert.equal(deep.body.code, 'BAD_DURATION');
  const proc = await inject('POST', '/proxies/v/faults', { kind: 'drop-reply', call: { proc: 'FROBNICATE' } });
  assert.equal(proc.body.code, 'NETEM_PROC');
  assert.equal((await inject('POST', '/proxies/v/stall', {})).status, 400);
  assert.equal((await inject('GET', '/proxies/none/metrics')).status, 404);
});
