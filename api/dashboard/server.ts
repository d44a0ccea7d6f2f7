// The results dashboard as a hapi server: HTML pages for people, the same data as JSON under /api. Read-only over
// a ResultsDb the caller opened and closes. Listens on 127.0.0.1 unless told otherwise.
import Hapi from '@hapi/hapi';
import Joi from 'joi';
import type { ResultsDb, RunFilter } from '../../lab/results-db';
import { VERDICTS } from '../../lab/results-db';
import { matrixListPage, matrixPage, notFoundPage, runPage, runsPage } from './pages';
import { timelineSvg } from './timeline-svg';
import { RUN_PART_NAMES, RUN_PARTS, type RunPart } from './run-parts';
import { apiToken, requireBearer } from '../auth';

export interface DashboardOptions {
  db: ResultsDb;
  /** default 127.0.0.1 */
  host?: string;
  /** default 0 (any free port; read server.info.port after start) */
  port?: number;
  /** bearer token every request must carry; mandatory when host is not loopback (api/auth.ts) */
  token?: string;
}

const id = Joi.string().min(1).max(256);
const idParams = Joi.object({ id: id.required() });
const partParams = Joi.object({ id: id.required(), part: Joi.string().valid(...RUN_PART_NAMES).required() });
const axis = Joi.string().max(100).empty('');
const listQuery = Joi.object({
  limit: Joi.number().integer().min(1).max(10_000).default(100),
  offset: Joi.number().integer().min(0).default(0),
  matrix: id.empty(''),
  policy: axis,
  drc: axis,
  scenario: axis,
  verdict: Joi.string().valid(...VERDICTS).empty(''),
});

interface ListQuery {
  limit: number;
  offset: number;
  matrix?: string;
  policy?: string;
  drc?: string;
  scenario?: string;
  verdict?: RunFilter['verdict'];
}

const toFilter = (q: ListQuery): RunFilter => ({
  limit: q.limit,
  offset: q.offset,
  matrixId: q.matrix,
  policy: q.policy,
  drc: q.drc,
  scenario: q.scenario,
  verdict: q.verdict,
});

// After joi validation the params and query have the validated shapes.
const idOf = (req: Hapi.Request) => req.params.id as string;
const listQueryOf = (req: Hapi.Request) => req.query as unknown as ListQuery;

/** Bad input answers 400 with joi's own message (hapi's default hides it). */
const failAction: Hapi.Lifecycle.Method = (_request, _h, err) => {
  throw err;
};

const html = (h: Hapi.ResponseToolkit, body: string, code = 200) => h.response(body).type('text/html; charset=utf-8').code(code);
const notFound = (h: Hapi.ResponseToolkit, code: string, message: string) =>
  h.response({ statusCode: 404, error: 'Not Found', code, message }).code(404);

/** Builds (does not start) the dashboard server. */
export function createDashboard(opts: DashboardOptions): Hapi.Server {
  const { db } = opts;
  const host = opts.host ?? '127.0.0.1';
  const token = apiToken(host, opts.token, 'dashboard');
  const server = Hapi.server({
    host,
    port: opts.port ?? 0,
    router: { stripTrailingSlash: true },
    routes: { security: true, validate: { failAction } },
  });
  if (token) requireBearer(server, token);

  server.route([
    {
      method: 'GET',
      path: '/',
      options: { validate: { query: listQuery } },
      handler: (req, h) => {
        const filter = toFilter(listQueryOf(req));
        return html(h, runsPage(db.listRuns(filter), filter));
      },
    },
    {
      method: 'GET',
      path: '/runs/{id}',
      options: { validate: { params: idParams } },
      handler: (req, h) => {
        const rec = db.getRun(idOf(req));
        return rec ? html(h, runPage(rec)) : html(h, notFoundPage(`No run with id ${idOf(req)}.`), 404);
      },
    },
    {
      method: 'GET',
      path: '/runs/{id}/timeline.svg',
      options: { validate: { params: idParams } },
      handler: (req, h) => {
        const rec = db.getRun(idOf(req));
        if (!rec) return notFound(h, 'RUN_NOT_FOUND', `no run with id ${idOf(req)}`);
        const svg = timelineSvg(rec.timeline, { timeScale: rec.config.timeScale, title: `Timeline of run ${rec.runId}` });
        return h.response(svg).type('image/svg+xml; charset=utf-8');
      },
    },
    {
      method: 'GET',
      path: '/matrix',
      handler: (_req, h) => html(h, matrixListPage(db.listMatrices())),
    },
    {
      method: 'GET',
      path: '/matrix/{id}',
      options: { validate: { params: idParams } },
      handler: (req, h) => {
        const m = db.matrixSummary(idOf(req));
        return m ? html(h, matrixPage(m)) : html(h, notFoundPage(`No runs belong to matrix ${idOf(req)}.`), 404);
      },
    },
    {
      method: 'GET',
      path: '/api/runs',
      options: { validate: { query: listQuery } },
      handler: (req) => {
        const filter = toFilter(listQueryOf(req));
        return { runs: db.listRuns(filter), limit: filter.limit, offset: filter.offset };
      },
    },
    {
      method: 'GET',
      path: '/api/runs/{id}',
      options: { validate: { params: idParams } },
      handler: (req, h) => db.getRun(idOf(req)) ?? notFound(h, 'RUN_NOT_FOUND', `no run with id ${idOf(req)}`),
    },
    {
      method: 'GET',
      path: '/api/runs/{id}/{part}',
      options: { validate: { params: partParams } },
      handler: (req, h) => {
        const rec = db.getRun(idOf(req));
        if (!rec) return notFound(h, 'RUN_NOT_FOUND', `no run with id ${idOf(req)}`);
        // Stringified here: a run without findings answers the JSON document `null`, not an empty 204.
        return h.response(JSON.stringify(RUN_PARTS[req.params.part as RunPart](rec))).type('application/json; charset=utf-8');
      },
    },
    {
      method: 'GET',
      path: '/api/matrix',
      handler: () => ({ matrices: db.listMatrices() }),
    },
    {
      method: 'GET',
      path: '/api/matrix/{id}',
      options: { validate: { params: idParams } },
      handler: (req, h) => db.matrixSummary(idOf(req)) ?? notFound(h, 'MATRIX_NOT_FOUND', `no runs belong to matrix ${idOf(req)}`),
    },
  ]);
  return server;
}
