// Control API of the netem proxies (an edge module: hapi + joi live here, never under netem/). Toxiproxy's shape:
// list/create/delete proxies, add/update/remove faults on a live proxy, reset, metrics, connections, stall now.
import Hapi from '@hapi/hapi';
import Joi from 'joi';
import { ConfigError, TestbedError } from '../core/errors';
import { FAULT_KINDS, type NetemRegistry, type Proxy, type FaultSpec } from '../netem';

const duration = Joi.alternatives(Joi.string().pattern(/^\s*\d+(\.\d+)?\s*[a-zµ]*\s*$/i), Joi.number().min(0));
const direction = Joi.string().valid('upstream', 'downstream', 'both');
const hostPort = Joi.string().pattern(/^[^\s:]+:\d{1,5}$|^\[[0-9a-f:]+\]:\d{1,5}$/i);
const callMatch = Joi.object({ proc: Joi.alternatives(Joi.string(), Joi.number().integer().min(0)).required(), prog: Joi.number().integer(), nth: Joi.alternatives(Joi.number().integer().min(1), Joi.array().items(Joi.number().integer().min(1))) });

/** Shape checks common to every fault; kind-specific fields are checked by the fault itself (ConfigError -> 400). */
const faultSchema = Joi.object({
  kind: Joi.string().valid(...FAULT_KINDS).required(),
  id: Joi.string().pattern(/^[\w.-]{1,64}$/),
  direction,
  probability: Joi.number().min(0).max(1),
  every: Joi.number().integer().min(1),
  unit: Joi.string().valid('packets', 'records', 'chunks', 'bytes'),
  mss: Joi.number().integer().min(1),
  interval: duration,
  at: Joi.alternatives(duration, Joi.array().items(duration)),
  call: callMatch,
  count: Joi.number().integer().min(0),
  duration,
  delay: duration,
  jitter: duration,
  resume: Joi.string().valid('together', 'backoff'),
  phase: Joi.string().valid('before', 'after'),
  xids: Joi.array().items(Joi.number().integer().min(0).max(0xffffffff)),
}).unknown(true);

const faultPatch = faultSchema.fork(['kind'], (s) => s.optional());

const stallSchema = Joi.object({ duration: duration.required(), resume: Joi.string().valid('together', 'backoff'), direction, rtoInitial: duration, rtoMax: duration });

const proxySchema = Joi.object({
  name: Joi.string().pattern(/^[\w.-]{1,64}$/).required(),
  listen: hostPort.default('127.0.0.1:0'),
  upstream: hostPort.required(),
  timeScale: Joi.number().greater(0),
  seed: Joi.alternatives(Joi.number(), Joi.string()),
  rpc: Joi.boolean(),
  faults: Joi.array().items(faultSchema),
});

export function splitHostPort(s: string): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}

function summary(p: Proxy) {
  return { name: p.name, listen: p.address, upstream: p.upstream, timeScale: p.timeScale.factor, seed: p.seed, faults: p.listFaults(), capture: p.capturePath ?? null };
}

const validate = (payload: Joi.Schema) => ({
  payload,
  failAction: (_req: Hapi.Request, h: Hapi.ResponseToolkit, err?: Error) => h.response({ code: 'BAD_REQUEST', message: err?.message }).code(400).takeover(),
});

/** Maps TestbedErrors to HTTP: bad config 400, unknown thing 404, clash 409, other 500. */
function fail(h: Hapi.ResponseToolkit, err: unknown) {
  if (err instanceof ConfigError) return h.response(err.toJSON()).code(400);
  if (err instanceof TestbedError) {
    const status = /NO_|NOT_FOUND/.test(err.code) ? 404 : /EXISTS/.test(err.code) ? 409 : /LISTEN/.test(err.code) ? 400 : 500;
    return h.response(err.toJSON()).code(status);
  }
  throw err;
}

export const netemApiPlugin: Hapi.Plugin<{ registry: NetemRegistry }> = {
  name: 'nfs-testbed-netem-api',
  register(server, { registry }) {
    const proxyOr404 = (req: Hapi.Request, h: Hapi.ResponseToolkit): Proxy | Hapi.ResponseObject => {
      const p = registry.get(String(req.params.name));
      return p ?? h.response({ code: 'NETEM_NO_PROXY', message: `no proxy ${req.params.name}` }).code(404);
    };
    const withProxy =
      (fn: (p: Proxy, req: Hapi.Request, h: Hapi.ResponseToolkit) => unknown): Hapi.Lifecycle.Method =>
      async (req, h) => {
        const p = proxyOr404(req, h);
        if (!('name' in p && 'addFault' in p)) return p;
        try {
          return (await fn(p, req, h)) as Hapi.Lifecycle.ReturnValue;
        } catch (err) {
          return fail(h, err);
        }
      };

    server.route([
      { method: 'GET', path: '/proxies', handler: () => ({ proxies: registry.list().map(summary) }) },
      {
        method: 'POST',
        path: '/proxies',
        options: { validate: validate(proxySchema) },
        handler: async (req, h) => {
          const b = req.payload as { name: string; listen: string; upstream: string; timeScale?: number; seed?: number | string; rpc?: boolean; faults?: FaultSpec[] };
          try {
            const p = await registry.create({ name: b.name, listen: splitHostPort(b.listen), upstream: splitHostPort(b.upstream), timeScale: b.timeScale, seed: b.seed, rpc: b.rpc, faults: b.faults });
            return h.response(summary(p)).code(201);
          } catch (err) {
            return fail(h, err);
          }
        },
      },
      { method: 'GET', path: '/proxies/{name}', handler: withProxy((p) => summary(p)) },
      {
        method: 'DELETE',
        path: '/proxies/{name}',
        handler: withProxy(async (p, _req, h) => {
          await registry.delete(p.name);
          return h.response().code(204);
        }),
      },
      { method: 'GET', path: '/proxies/{name}/faults', handler: withProxy((p) => ({ faults: p.listFaults() })) },
      {
        method: 'POST',
        path: '/proxies/{name}/faults',
        options: { validate: validate(faultSchema) },
        handler: withProxy((p, req, h) => h.response(p.addFault(req.payload as FaultSpec)).code(201)),
      },
      {
        method: 'GET',
        path: '/proxies/{name}/faults/{id}',
        handler: withProxy((p, req, h) => p.getFault(String(req.params.id)) ?? h.response({ code: 'NETEM_NO_FAULT', message: `no fault ${req.params.id}` }).code(404)),
      },
      {
        method: ['PATCH', 'POST'],
        path: '/proxies/{name}/faults/{id}',
        options: { validate: validate(faultPatch) },
        handler: withProxy((p, req) => p.updateFault(String(req.params.id), req.payload as Partial<FaultSpec>)),
      },
      {
        method: 'DELETE',
        path: '/proxies/{name}/faults/{id}',
        handler: withProxy((p, req, h) =>
          p.removeFault(String(req.params.id)) ? h.response().code(204) : h.response({ code: 'NETEM_NO_FAULT', message: `no fault ${req.params.id}` }).code(404),
        ),
      },
      {
        method: 'POST',
        path: '/reset',
        handler: (_req, h) => {
          for (const p of registry.list()) p.reset();
          return h.response().code(204);
        },
      },
      {
        method: 'POST',
        path: '/proxies/{name}/reset',
        handler: withProxy((p, _req, h) => {
          p.reset();
          return h.response().code(204);
        }),
      },
      { method: 'GET', path: '/metrics', handler: () => ({ proxies: registry.list().map((p) => p.metrics()) }) },
      { method: 'GET', path: '/proxies/{name}/metrics', handler: withProxy((p) => p.metrics()) },
      { method: 'GET', path: '/proxies/{name}/connections', handler: withProxy((p) => ({ connections: p.connections() })) },
      {
        method: 'DELETE',
        path: '/proxies/{name}/connections/{id}',
        handler: withProxy((p, req, h) =>
          p.resetConnection(Number(req.params.id)) ? h.response().code(204) : h.response({ code: 'NETEM_NO_CONNECTION', message: `no connection ${req.params.id}` }).code(404),
        ),
      },
      {
        method: 'POST',
        path: '/proxies/{name}/stall',
        options: { validate: validate(stallSchema) },
        handler: withProxy((p, req, h) => {
          const b = req.payload as { duration: string | number; resume?: 'together' | 'backoff'; direction?: 'upstream' | 'downstream' | 'both'; rtoInitial?: string; rtoMax?: string };
          const started = p.stallNow(b.duration, b);
          return h.response({ started }).code(started ? 200 : 409);
        }),
      },
      {
        method: 'GET',
        path: '/proxies/{name}/events',
        options: { validate: { query: Joi.object({ since: Joi.number().integer().min(0).default(0) }) } },
        handler: withProxy((p, req) => {
          const since = (req.query as { since: number }).since;
          return { next: p.events.length, events: p.events.slice(since) };
        }),
      },
    ]);
  },
};

/** A hapi server with the plugin; not listening until start() (tests use server.inject). */
export async function createNetemApiServer(registry: NetemRegistry, listen: { host?: string; port?: number } = {}): Promise<Hapi.Server> {
  const server = Hapi.server({ host: listen.host ?? '127.0.0.1', port: listen.port ?? 0 });
  await server.register({ plugin: netemApiPlugin, options: { registry } });
  return server;
}
