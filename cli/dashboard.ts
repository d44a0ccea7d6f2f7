// `nfs-testbed dashboard`: serves the results database as web pages (runs, matrices, run timelines) on loopback.
import type { Command } from 'commander';
import { untilStopSignal } from './signals';
import { parseHostPort } from '../core/address';
import { createDashboard } from '../api/dashboard/server';
import { API_TOKEN_ENV, apiToken } from '../api/auth';
import { DEFAULT_RESULTS_DB } from '../lab/paths';
import { openResults } from '../lab/results-db';

interface DashboardCliOptions {
  db: string;
  listen: string;
  apiToken?: string;
}

export function register(program: Command): void {
  program
    .command('dashboard')
    .description('serve the runs, the matrix tables and each run\'s timeline as web pages')
    .option('--db <file>', 'results database (created empty if missing)', DEFAULT_RESULTS_DB)
    .option('--listen <host:port>', 'address to serve on (port 0: any free port)', '127.0.0.1:8080')
    .option('--api-token <token>', `bearer token every request must carry (env ${API_TOKEN_ENV}); mandatory when not on loopback`)
    .action(async (opts: DashboardCliOptions) => {
      const { host, port } = parseHostPort(opts.listen, '--listen');
      const token = opts.apiToken ?? process.env[API_TOKEN_ENV];
      apiToken(host, token, 'dashboard'); // refuse before opening anything
      const db = openResults(opts.db);
      const server = createDashboard({ db, host, port, token });
      try {
        await server.start();
      } catch (err) {
        db.close();
        throw err;
      }
      const stopped = untilStopSignal();
      process.stdout.write(`ready ${server.info.uri} db=${opts.db}\n`);
      await stopped;
      await server.stop({ timeout: 2000 }).finally(() => db.close());
    });
}

