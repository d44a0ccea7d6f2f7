// Control API of the netem proxies (an edge module: hapi + joi live here, never under netem/). Toxiproxy's shape:
// list/create/delete proxies, add/update/remove faults on a live proxy, reset, metrics, connections, stall now.
// 127.0.0.1 by default; joi on every input; bearer token (api/auth.ts) required off loopback.
import Hapi from '@hapi/hapi';
import Joi from 'joi';
import { parseHostPort } from '../core/address';
import { ConfigError, TestbedError } from '../core/errors';
import { FAULT_KEYS, FAULT_KINDS, type NetemRegistry, type Proxy, type FaultSpec } from '../netem';
import { apiToken, isLoopback, requireBearer } from './auth';

// Every input is bounded: strings by length, arrays by items, numbers by range, bodies by bytes. Unknown keys,
// unexpected query strings and bodies on routes that take none are 400s (joi), never silently ignored.
const MAX_BODY = 64 * 1024;
const MAX_LIST = 1024;
const name = Joi.string().pattern(/^[\w.-]{1,64}$/);
const duration = Joi.alternatives(Joi.string().max(32).pattern(/^\s*\d+(\.\d+)?\s*[a-zµ]*\s*$/i), Joi.number().min(0).max(1e12));
const size = Joi.alternatives(Joi.string().max(32), Joi.number().min(0).max(2 ** 53));
const direction = Joi.string().valid('upstream', 'downstream', 'both');
// Checked with the CLI's grammar here (a 400 with its reason), parsed in the handler (a default skips custom()).
const hostPort = Joi.string().max(300).custom((v: string) => (parseHostPort(v, 'address'), v));
const nth = Joi.number().integer().min(1).max(2 ** 32);
const xid = Joi.number().integer().min(0).max(0xffffffff);
const callMatch = Joi.object({
  proc: Joi.alternatives(Joi.string().max(64), Joi.number().integer().min(0).max(0xffffffff)).required(),
  prog: Joi.number().integer().min(0).max(0xffffffff),
  nth: Joi.alternatives(nth, Joi.array().items(nth).max(MAX_LIST)),
});

/** Value rules of the keys fault specs use; what a rule does not cover is checked by the fault itself. */
const KEY_VALUES: Record<string, Joi.Schema> = {
  direction,
  probability: Joi.number().min(0).max(1),
  every: Joi.number().integer().min(1).max(2 ** 53),
  unit: Joi.string().valid('packets', 'records', 'chunks', 'bytes'),
  mss: Joi.number().integer().min(1).max(1 << 30),
  interval: duration,
  at: Joi.alternatives(duration, Joi.array().items(duration).max(MAX_LIST)),
  call: callMatch,
  count: Joi.number().integer().min(0).max(2 ** 53),
  duration,
  delay: duration,
  jitter: duration,
  resume: Joi.string().valid('together', 'backoff'),
  rtoInitial: duration,
  rtoMax: duration,
  phase: Joi.string().valid('before', 'after'),
  xids: Joi.array().items(xid).max(MAX_LIST),
  rate: size,
  size,
  variation: size,
  close: Joi.boolean(),
};
/** A key a new fault kind adds before it has a rule here: bounded, and checked by the fault (ConfigError -> 400). */
const anyValue = Joi.alternatives(Joi.string().max(256), Joi.number(), Joi.boolean(), Joi.array().items(Joi.string().max(256), Joi.number()).max(MAX_LIST));

/**
 * Every key some fault kind reads (netem/faults FAULT_KEYS); anything else is a 400. Whether a key makes sense for
 * the kind, and its value (durations, sizes, procedure names), is checked by the fault itself (ConfigError -> 400).
 */
const faultSchema = Joi.object({
  kind: Joi.string().valid(...FAULT_KINDS).required(),
  id: name,
  ...Object.fromEntries(
    [...new Set(Object.values(FAULT_KEYS).flatMap((k) => [...k.required, ...k.optional] as string[]))].map((k) => [k, KEY_VALUES[k] ?? anyValue]),
  ),
});

const faultPatch = faultSchema.fork(['kind'], (s) => s.optional());

const stallSchema = Joi.object({ duration: duration.required(), resume: Joi.string().valid('together', 'backoff'), direction, rtoInitial: duration, rtoMax: duration });

const proxySchema = Joi.object({
  name: name.required(),
  listen: hostPort.default('127.0.0.1:0'),
  upstream: hostPort.required(),
  timeScale: Joi.number().greater(0).max(1e6),
  seed: Joi.alternatives(Joi.number(), Joi.string().max(256)),
  rpc: Joi.boolean(),
  faults: Joi.array().items(faultSchema).max(64),
});

const noQuery = Joi.object({});
/** POST/DELETE without a body: nothing, an empty string or an empty object; anything else is a 400. */
const noPayload = Joi.alternatives(Joi.object({}), Joi.any().valid(null, ''));
const nameParams = Joi.object({ name: name.required() });
const faultParams = Joi.object({ name: name.required(), id: name.required() });
const connParams = Joi.object({ name: name.required(), id: Joi.number().integer().min(1).max(2 ** 53).required() });
const eventsQuery = Joi.object({ since: Joi.number().integer().min(0).max(2 ** 53).default(0) });

/** A proxy as the API shows it; its capture is flushed first, so a client may read the file up to its last record. */
function summary(p: Proxy) {
  p.flushCapture();
  const io = p.captureIo;
  return {
    name: p.name,
    listen: p.address,
    upstream: p.upstream,
    timeScale: p.timeScale.factor,
    seed: p.seed,
    faults: p.listFaults(),
    capture: p.capturePath ?? null,
    captureIo: io ? { io: io.io, asked: io.asked, reason: io.reason, ...(io.directAfter !== undefined ? { directAfter: io.directAfter } : {}) } : null,
  };
}

const failAction = (_req: Hapi.Request, h: Hapi.ResponseToolkit, err?: Error) => h.response({ code: 'BAD_REQUEST', message: err?.message }).code(400).takeover();

/**
 * Route options validating all three inputs: params (default none), query (default none) and, except on GET where
 * hapi reads no body, the payload (default none) with a byte cap.
 */
function inputs(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', o: { params?: Joi.Schema; query?: Joi.Schema; payload?: Joi.Schema } = {}): Hapi.RouteOptions {
  const validate = { ...(o.params ? { params: o.params } : {}), query: o.query ?? noQuery, failAction };
  if (method === 'GET') return { validate };
  return { validate: { ...validate, payload: o.payload ?? noPayload }, payload: { maxBytes: MAX_BODY } };
}

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
      { method: 'GET', path: '/proxies', options: inputs('GET'), handler: () => ({ proxies: registry.list().map(summary) }) },
      {
        method: 'POST',
        path: '/proxies',
        options: inputs('POST', { payload: proxySchema }),
        handler: async (req, h) => {
          const b = req.payload as { name: string; listen: string; upstream: string; timeScale?: number; seed?: number | string; rpc?: boolean; faults?: FaultSpec[] };
          const listen = parseHostPort(b.listen, 'listen');
          // A proxy relays without authentication: one created through the API listens on loopback only.
          if (!isLoopback(listen.host)) {
            return h.response({ code: 'NETEM_LISTEN_NOT_LOOPBACK', message: `proxies created through the API listen on loopback only, not ${listen.host}` }).code(400);
          }
          try {
            const p = await registry.create({ name: b.name, listen, upstream: parseHostPort(b.upstream, 'upstream'), timeScale: b.timeScale, seed: b.seed, rpc: b.rpc, faults: b.faults });
            return h.response(summary(p)).code(201);
          } catch (err) {
            return fail(h, err);
          }
        },
      },
      { method: 'GET', path: '/proxies/{name}', options: inputs('GET', { params: nameParams }), handler: withProxy((p) => summary(p)) },
      {
        method: 'DELETE',
        path: '/proxies/{name}',
        options: inputs('DELETE', { params: nameParams }),
        handler: withProxy(async (p, _req, h) => {
          await registry.delete(p.name);
          return h.response().code(204);
        }),
      },
      { method: 'GET', path: '/proxies/{name}/faults', options: inputs('GET', { params: nameParams }), handler: withProxy((p) => ({ faults: p.listFaults() })) },
      {
        method: 'POST',
        path: '/proxies/{name}/faults',
        options: inputs('POST', { params: nameParams, payload: faultSchema }),
        handler: withProxy((p, req, h) => h.response(p.addFault(req.payload as FaultSpec)).code(201)),
      },
      {
        method: 'GET',
        path: '/proxies/{name}/faults/{id}',
        options: inputs('GET', { params: faultParams }),
        handler: withProxy((p, req, h) => p.getFault(String(req.params.id)) ?? h.response({ code: 'NETEM_NO_FAULT', message: `no fault ${req.params.id}` }).code(404)),
      },
      ...(['PATCH', 'POST'] as const).map((method) => ({
        method,
        path: '/proxies/{name}/faults/{id}',
        options: inputs(method, { params: faultParams, payload: faultPatch }),
        handler: withProxy((p, req) => p.updateFault(String(req.params.id), req.payload as Partial<FaultSpec>)),
      })),
      {
        method: 'DELETE',
        path: '/proxies/{name}/faults/{id}',
        options: inputs('DELETE', { params: faultParams }),
        handler: withProxy((p, req, h) =>
          p.removeFault(String(req.params.id)) ? h.response().code(204) : h.response({ code: 'NETEM_NO_FAULT', message: `no fault ${req.params.id}` }).code(404),
        ),
      },
      {
        method: 'POST',
        path: '/reset',
        options: inputs('POST'),
        handler: (_req, h) => {
          for (const p of registry.list()) p.reset();
          return h.response().code(204);
        },
      },
      {
        method: 'POST',
        path: '/proxies/{name}/reset',
        options: inputs('POST', { params: nameParams }),
        handler: withProxy((p, _req, h) => {
          p.reset();
          return h.response().code(204);
        }),
      },
      { method: 'GET', path: '/metrics', options: inputs('GET'), handler: () => ({ proxies: registry.list().map((p) => p.metrics()) }) },
      { method: 'GET', path: '/proxies/{name}/metrics', options: inputs('GET', { params: nameParams }), handler: withProxy((p) => p.metrics()) },
      { method: 'GET', path: '/proxies/{name}/connections', options: inputs('GET', { params: nameParams }), handler: withProxy((p) => ({ connections: p.connections() })) },
      {
        method: 'DELETE',
        path: '/proxies/{name}/connections/{id}',
        options: inputs('DELETE', { params: connParams }),
        handler: withProxy((p, req, h) =>
          p.resetConnection(Number(req.params.id)) ? h.response().code(204) : h.response({ code: 'NETEM_NO_CONNECTION', message: `no connection ${req.params.id}` }).code(404),
        ),
      },
      {
        method: 'POST',
        path: '/proxies/{name}/stall',
        options: inputs('POST', { params: nameParams, payload: stallSchema }),
        handler: withProxy((p, req, h) => {
          const b = req.payload as { duration: string | number; resume?: 'together' | 'backoff'; direction?: 'upstream' | 'downstream' | 'both'; rtoInitial?: string; rtoMax?: string };
          const started = p.stallNow(b.duration, b);
          return h.response({ started }).code(started ? 200 : 409);
        }),
      },
      {
        method: 'GET',
        path: '/proxies/{name}/events',
        options: inputs('GET', { params: nameParams, query: eventsQuery }),
        handler: withProxy((p, req) => {
          const since = (req.query as { since: number }).since;
          return { next: p.events.length, events: p.events.slice(since) };
        }),
      },
    ]);
  },
};

export interface NetemApiOptions {
  host?: string;
  port?: number;
  /**
   * Bearer token every request must carry (api/auth.ts, as the admin API and the dashboard): optional on
   * loopback, mandatory elsewhere (ConfigError API_TOKEN_REQUIRED before anything binds).
   */
  token?: string;
}

/** A hapi server with the plugin, 127.0.0.1 by default; not listening until start() (tests use server.inject). */
export async function createNetemApiServer(registry: NetemRegistry, listen: NetemApiOptions = {}): Promise<Hapi.Server> {
  const host = listen.host ?? '127.0.0.1';
  const token = apiToken(host, listen.token, 'netem API');
  const server = Hapi.server({ host, port: listen.port ?? 0 });
  if (token) requireBearer(server, token);
  await server.register({ plugin: netemApiPlugin, options: { registry } });
  return server;
}
