// The server's admin API as a hapi plugin (api/ holds the HTTP edges; nothing under server/ imports hapi).
// Routes: GET /stats, GET/PUT /drc, POST /drc/flush, GET /journal, GET /verify. Tested with server.inject.
import fs from 'node:fs';
import path from 'node:path';
import Hapi from '@hapi/hapi';
import Joi from 'joi';
import { TestbedError } from '../core/errors';
import { VERIFY_LIMIT_MAX, verifyFile } from '../server/verify-file';
import { apiToken, requireBearer } from './auth';
import type { RunningServer } from '../server/index';

export interface AdminApiOptions {
  server: RunningServer;
}

const HOST_DEFAULT = '127.0.0.1';

/** A relative path inside the export, checked component by component without following symlinks. */
async function exportFile(root: string, rel: string): Promise<string> {
  const parts = rel.split('/').filter((p) => p && p !== '.');
  if (parts.length === 0 || parts.includes('..') || rel.includes('\0')) throw new TestbedError('BAD_PATH', `not a file path inside the export: ${rel}`);
  let abs = root;
  for (let i = 0; i < parts.length; i++) {
    abs = path.join(abs, parts[i]);
    const st = await fs.promises.lstat(abs).catch(() => undefined);
    if (!st) throw new TestbedError('NOT_FOUND', `${rel}: no such file in the export`);
    if (st.isSymbolicLink()) throw new TestbedError('BAD_PATH', `${rel}: symlinks are not followed`);
    if (i < parts.length - 1 ? !st.isDirectory() : !st.isFile()) throw new TestbedError('BAD_PATH', `${rel}: not a regular file`);
  }
  return abs;
}

function fail(h: Hapi.ResponseToolkit, status: number, e: unknown) {
  const body = e instanceof TestbedError ? e.toJSON() : { code: 'INTERNAL', message: String((e as Error)?.message ?? e) };
  return h.response(body).code(status);
}

function statusFor(e: unknown): number {
  const code = (e as TestbedError)?.code;
  if (code === 'NOT_FOUND') return 404;
  if (e instanceof TestbedError) return 400;
  return 500;
}

/** PUT /drc: the DrcConfig keys (server/drc/config.ts) with their shapes; drcConfig() then checks the values. */
const drcPayload = Joi.object({
  mode: Joi.string().max(16),
  scope: Joi.string().max(16),
  keyPort: Joi.boolean(),
  reuse: Joi.boolean(),
  hiwat: Joi.alternatives(Joi.number().integer().min(0), Joi.string().pattern(/^\d+$/)),
  inProgress: Joi.string().max(16),
  prune: Joi.string().max(16),
  expiryMs: Joi.alternatives(Joi.number().min(0), Joi.string().max(32)),
  expiry: Joi.alternatives(Joi.number().min(0), Joi.string().max(32)),
  size: Joi.alternatives(Joi.number().integer().min(1), Joi.string().pattern(/^\d+$/)),
  procs: Joi.alternatives(Joi.array().items(Joi.string().max(16)).max(22), Joi.string().max(256)),
})
  .min(1)
  .required();

/** ISO date or epoch milliseconds. */
const instant = Joi.alternatives(Joi.number(), Joi.date().iso());

export const adminApiPlugin: Hapi.Plugin<AdminApiOptions> = {
  name: 'nfs-testbed-server-admin',
  register(hapi, { server }) {
    // Routes without inputs still validate: an unexpected query string or body is a 400, not silently ignored.
    const none = { validate: { query: Joi.object({}), failAction: (_r: Hapi.Request, h: Hapi.ResponseToolkit, err?: Error) => fail(h, 400, err).takeover() } };
    hapi.route({ method: 'GET', path: '/stats', options: none, handler: () => server.stats() });

    hapi.route({ method: 'GET', path: '/drc', options: none, handler: () => ({ config: server.drc.config, counters: server.drc.counters() }) });

    hapi.route({
      method: 'PUT',
      path: '/drc',
      options: { validate: { payload: drcPayload, failAction: (_r, h, err) => fail(h, 400, err).takeover() } },
      handler: (req, h) => {
        try {
          return { config: server.drc.configure(req.payload as Record<string, unknown>), counters: server.drc.counters() };
        } catch (e) {
          return fail(h, statusFor(e), e);
        }
      },
    });

    hapi.route({ method: 'POST', path: '/drc/flush', options: { validate: { ...none.validate, payload: Joi.alternatives(Joi.object({}), Joi.any().valid(null, '')) } }, handler: () => ({ flushed: server.drc.flush(), counters: server.drc.counters() }) });

    hapi.route({
      method: 'GET',
      path: '/journal',
      options: {
        validate: {
          query: Joi.object({
            xid: Joi.number().integer().min(0).max(0xffffffff),
            file: Joi.string().max(4096),
            fh: Joi.string().hex().max(128),
            proc: Joi.string().max(16),
            outcome: Joi.string().max(32),
            since: instant,
            until: instant,
            limit: Joi.number().integer().min(1).max(100000),
          }),
          failAction: (_r, h, err) => fail(h, 400, err).takeover(),
        },
      },
      handler: (req, h) => {
        if (!server.journal) return fail(h, 404, new TestbedError('NOT_FOUND', 'the server runs without a journal (--journal FILE)'));
        const q = req.query as Record<string, unknown>;
        const ms = (v: unknown) => (v === undefined ? undefined : v instanceof Date ? v.getTime() : Number(v));
        const rows = server.journal.query({
          xid: q.xid as number | undefined,
          path: q.file === undefined ? undefined : String(q.file).replace(/^\/+/, ''),
          fh: q.fh as string | undefined,
          proc: q.proc as string | undefined,
          outcome: q.outcome as string | undefined,
          sinceMs: ms(q.since),
          untilMs: ms(q.until),
          limit: q.limit as number | undefined,
        });
        return { count: rows.length, rows };
      },
    });

    hapi.route({
      method: 'GET',
      path: '/verify',
      options: {
        validate: {
          query: Joi.object({ file: Joi.string().max(4096).required(), blockSize: Joi.number().integer().min(4).max(64 * 1024 * 1024).multiple(4).default(4096), limit: Joi.number().integer().min(0).max(VERIFY_LIMIT_MAX).default(1000) }),
          failAction: (_r, h, err) => fail(h, 400, err).takeover(),
        },
      },
      handler: async (req, h) => {
        const { file, blockSize, limit } = req.query as { file: string; blockSize: number; limit: number };
        try {
          const abs = await exportFile(server.exportDir, file);
          await server.drainWrites(); // every WRITE answered so far is in the file
          const fh = await fs.promises.open(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
          try {
            const size = (await fh.stat()).size;
            const { corruptBlocks, corrupt } = await verifyFile({ fd: fh.fd, size, blockSize, limit });
            return { file, size, blockSize, blocks: Math.ceil(size / blockSize), corruptBlocks, ok: corruptBlocks === 0, corrupt };
          } finally {
            await fh.close();
          }
        } catch (e) {
          return fail(h, statusFor(e), e);
        }
      },
    });
  },
};

/**
 * Starts a hapi server with only the admin plugin (the CLI's --api HOST:PORT). Loopback by default; on any other
 * address a bearer token is mandatory (api/auth.ts), and when a token is given it is always required.
 */
export async function startAdminApi(server: RunningServer, host = HOST_DEFAULT, port = 0, o: { token?: string } = {}): Promise<Hapi.Server> {
  const token = apiToken(host, o.token, 'admin API');
  const hapi = Hapi.server({ host, port });
  if (token) requireBearer(hapi, token);
  await hapi.register({ plugin: adminApiPlugin, options: { server } });
  await hapi.start();
  return hapi;
}
