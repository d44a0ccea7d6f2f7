// `nfs-testbed repro` (npm start): the seed's bug on real sockets, with a verdict from three witnesses.
// `nfs-testbed matrix`: every policy x DRC mode x scenario.
import path from 'node:path';
import type { Command } from 'commander';
import { createLogger } from '../core/log';
import { formatSize, parseDuration, parseNumber, parseSize } from '../core/units';
import { POLICY_NAMES, type PolicyName } from '../client/policies';
import { BACKOFFS } from '../client/rpc/timeout';
import { DEFAULT_RESULTS_DB, DEFAULT_RUNS_DIR } from '../lab/paths';
import { DEFAULTS, DRC_MODES, MATRIX_DEFAULTS, LINUX_CLIENT_AXIS, LINUX_SERVER_AXIS, PEERS, checkReproOptions, runRepro, type DrcModeName, type PeerName, type TimerLag } from '../lab/repro';
import { DRC_PRUNES } from '../server/drc/config';
import { SCENARIO_NAMES, type ScenarioName } from '../lab/scenarios';
import { defaultJobs, runMatrix } from '../lab/matrix';
import { openResults } from '../lab/results-db';
import { formatMatrix } from './runs';
import { EXIT } from './exit';
import { colourOn, paint, paintSummaryLine } from './style';
import { SingleBar, Presets } from 'cli-progress';
import { ConfigError } from '../core/errors';
import type { RunRecord, Verdict } from '../lab/run-record';

/** What `repro --expect` can ask for (an error run exits 1 whatever was expected). */
const EXPECTABLE: readonly Verdict[] = ['reproduced', 'not-reproduced'];
import { optionWithDefault } from './help';

interface CommonOpts {
  timeScale?: string;
  maxStalls?: string;
  resume?: string;
  drcPrune?: string;
  backoff?: string;
  wsize?: string;
  inflight?: string;
  realTime?: boolean;
  seed: string;
  count?: string;
  blockSize?: string;
  scribbleHold?: string;
  db: string;
  json?: boolean;
  verbose?: boolean;
  kernel?: string;
  modules?: string;
  /** false with --no-color */
  color?: boolean;
}

/** A run's client timeouts that no fault explains (lab/witnesses.ts unexplainedTimeouts). */
function unexplained(r: RunRecord): number {
  return Number(r.witnesses?.unexplainedTimeouts ?? 0);
}

/** The options a matrix hands every cell (plain data: they cross to the worker threads). */
function reproOverrides(c: ReturnType<typeof common>): NonNullable<Parameters<typeof runMatrix>[0]['repro']> {
  const { seed: _seed, logger: _logger, ...rest } = c;
  return rest;
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
}

function common(o: CommonOpts) {
  const timeScale = o.realTime ? 1 : parseNumber(o.timeScale ?? String(DEFAULTS.timeScale), '--time-scale', 1e-6, 1000);
  return {
    timeScale,
    seed: parseNumber(o.seed, '--seed', 0, 2 ** 31),
    ...(o.count ? { count: parseNumber(o.count, '--count', 1, 1e6) } : {}),
    ...(o.blockSize ? { blockSize: parseSize(o.blockSize, '--block-size') } : {}),
    ...(o.scribbleHold ? { scribbleHold: (parseDuration(o.scribbleHold, '--scribble-hold'), o.scribbleHold) } : {}),
    ...(o.maxStalls !== undefined ? { maxStalls: parseNumber(o.maxStalls, '--max-stalls', 0, 1e6) } : {}),
    ...(o.wsize ? { wsize: parseSize(o.wsize, '--wsize') } : {}),
    ...(o.inflight ? { inflight: parseNumber(o.inflight, '--inflight', 1, 1024) } : {}),
    ...(o.resume ? { resume: oneOf(o.resume, RESUMES, '--resume') } : {}),
    ...(o.drcPrune ? { drcPrune: oneOf(o.drcPrune, DRC_PRUNES, '--drc-prune') } : {}),
    ...(o.backoff ? { backoff: oneOf(o.backoff, BACKOFFS, '--backoff') } : {}),
    logger: createLogger({ level: o.verbose ? 'info' : 'error', name: 'repro' }),
    ...(o.kernel ? { kernel: o.kernel } : {}),
    ...(o.modules ? { modules: o.modules } : {}),
  };
}

function oneOf<T extends string>(v: string, all: readonly T[], name: string): T {
  if (!(all as readonly string[]).includes(v)) throw new ConfigError('BAD_OPTION', `${name} must be one of ${all.join(', ')}, got "${v}"`);
  return v as T;
}

const RESUMES = ['together', 'backoff'] as const;

function addCommon(cmd: Command, defaults: { timeScale: number; maxStalls: number; count: number } = DEFAULTS): Command {
  return cmd
    .option('--time-scale <x>', `multiply every modelled duration (65 s stall, 60 s timeo) by x`, String(defaults.timeScale))
    .option('--max-stalls <n>', 'stalling scenarios: keep writing until the first late transmission or this many stalls (0: write --count blocks once)', String(defaults.maxStalls))
    .option('--resume <how>', 'how a stall ends: together (held packets, as the seed\'s NFQUEUE) | backoff (dropped: each side at its TCP RTO)', DEFAULTS.resume)
    .addOption(optionWithDefault('--drc-prune <when>', `our server: when an expired DRC entry stops answering, ${DRC_PRUNES.join(' | ')} (nfsd until 4.19 | since 4.20)`, "the --drc mode's era: bucket for the checksum modes, lookup for xid"))
    .option('--backoff <how>', "client timer growth: exponential (2.6.18, the seed's kernel) | linear (nfs_init_timeout_values, today)", DEFAULTS.backoff)
    .addOption(optionWithDefault('--wsize <size>', 'bytes per WRITE call', formatSize(DEFAULTS.wsize)))
    .addOption(optionWithDefault('--inflight <k>', 'write() buffers in flight at once', String(DEFAULTS.inflight)))
    .option('--real-time', "the seed's own numbers: time scale 1 (65 s stalls; takes minutes)")
    .option('--seed <n>', 'seed of every random decision', String(DEFAULTS.seed))
    .addOption(optionWithDefault('--count <n>', 'write() calls of --block-size each (the file size with --max-stalls)', String(defaults.count)))
    .addOption(optionWithDefault('--block-size <size>', 'bytes per write()', formatSize(DEFAULTS.blockSize)))
    .addOption(optionWithDefault('--scribble-hold <duration>', 'how long 0xdeadbeef stays in the buffer before the next refill (modelled)', DEFAULTS.scribbleHold))
    .option('--db <file>', 'results database', DEFAULT_RESULTS_DB)
    .option('--kernel <path>', 'with a linux peer: your own bzImage (QEMU) or user-mode-linux binary instead of Debian linux-image-cloud-amd64')
    .option('--modules <dir>', "with a linux peer: your kernel's lib/modules/<release> folder")
    .option('--json', 'print exactly one JSON document')
    .option('--verbose', 'log what the server, proxy and client do')
    .option('--no-color', 'no colour even on a terminal (so does a non-empty NO_COLOR)');
}

export function register(program: Command): void {
  addCommon(
    program
      .command('repro')
      .description("reproduce seed 000: our server, the netem proxy stalling 65 s every 1000 packets, blktest writing and scribbling 0xdeadbeef")
      .option('--policy <name>', `retransmit policy (${POLICY_NAMES.join(', ')})`, DEFAULTS.policy)
      .option('--drc <mode>', `server duplicate request cache (${DRC_MODES.join(', ')})`, DEFAULTS.drc)
      .option('--scenario <name>', `fault scenario (${SCENARIO_NAMES.join(', ')})`, DEFAULTS.scenario)
      .option('--client <peer>', 'testbed (our client with --policy) | linux (the real kernel client in a QEMU guest)', 'testbed')
      .option('--server <peer>', 'testbed (our server with --drc) | linux (the real nfsd in a QEMU guest)', 'testbed')
      .option('--expect <verdict>', 'exit 3 unless the verdict is this: reproduced | not-reproduced (a CI gate)')
      .addOption(optionWithDefault('--out <dir>', 'where the capture, journal, trace and results go', `a fresh folder under ${DEFAULT_RUNS_DIR}`)),
  ).action(async (opts: CommonOpts & { policy: string; drc: string; scenario: string; client: string; server: string; out?: string; expect?: string }) => {
    if (opts.expect !== undefined && !EXPECTABLE.includes(opts.expect as Verdict)) throw new ConfigError('BAD_EXPECT', `--expect: reproduced or not-reproduced, got "${opts.expect}"`);
    checkReproOptions({ policy: opts.policy as PolicyName, drc: opts.drc as DrcModeName, scenario: opts.scenario as ScenarioName, client: opts.client as PeerName, server: opts.server as PeerName });
    const c = common(opts);
    const clientName = opts.client === 'linux' ? LINUX_CLIENT_AXIS : opts.policy;
    const serverName = opts.server === 'linux' ? LINUX_SERVER_AXIS : opts.drc;
    const outDir = path.resolve(opts.out ?? path.join(DEFAULT_RUNS_DIR, `${stamp()}-${clientName}-${serverName}-${opts.scenario}-s${c.seed}`));
    // On a terminal: a progress bar over the write() calls (cli-progress), steps printed around it. Off for --json
    // and when stderr is not a TTY, where the step lines alone are printed.
    const bar = process.stderr.isTTY && !opts.json ? new SingleBar({ format: 'repro {bar} {value}/{total} write() calls', hideCursor: true, stream: process.stderr }, Presets.shades_classic) : undefined;
    let barOn = false;
    const say = (l: string) => {
      if (opts.json) return;
      if (barOn) {
        bar!.stop();
        barOn = false;
      }
      process.stderr.write(l + '\n');
    };
    const progress = (writes: number, total: number) => {
      if (!bar) return;
      if (!barOn) {
        bar.start(total, 0);
        barOn = true;
      }
      bar.update(writes);
    };
    const { record, tap, decodeAs } = await runRepro({
      ...DEFAULTS,
      ...c,
      policy: opts.policy as PolicyName,
      drc: opts.drc as DrcModeName,
      scenario: opts.scenario as ScenarioName,
      client: opts.client as PeerName,
      server: opts.server as PeerName,
      ...(c.kernel ? { kernel: c.kernel } : {}),
      ...(c.modules ? { modules: c.modules } : {}),
      outDir,
      onStep: say,
      onProgress: progress,
    }).finally(() => barOn && bar!.stop());
    const db = openResults(opts.db);
    db.saveRun(record);
    db.close();
    if (opts.json) {
      const k = record.counters;
      process.stdout.write(
        JSON.stringify({
          verdict: record.verdict, policy: record.config.policy, drc: record.config.drc, scenario: opts.scenario, seed: c.seed, timeScale: c.timeScale,
          lateTransmissions: k.lateTransmissions, scribbledOnWire: k.scribbledOnWire, executedScribbled: k.executedScribbled,
          corruptBlocks: k.corruptBlocks, retransmissions: k.retransmissions, partialDuplicates: k.partialDuplicates,
          timing: record.witnesses?.timing,
          capture: record.capture, runId: record.runId, outDir, db: opts.db, summary: record.summary, durationMs: record.durationMs,
          ...(opts.expect ? { expected: opts.expect, expectationMet: record.verdict === opts.expect } : {}),
          ...(record.error ? { error: record.error } : {}),
        }, null, 2) + '\n',
      );
    } else {
      const colour = colourOn(process.stdout, opts.color);
      const lines = [
        '',
        ...record.summary.map((l) => paintSummaryLine(l, colour)),
        `client: ${record.counters.lateTransmissions} late transmissions (bytes read from a buffer already returned to the caller), ${record.counters.retransmissions} retransmissions`,
        `capture at ${path.relative(process.cwd(), record.capture ?? '') || record.capture} (Wireshark/tshark: -d ${decodeAs})`,
        `results: run ${record.runId} in ${opts.db} (nfs-testbed runs show ${record.runId}; nfs-testbed dashboard)`,
      ];
      // Only a run that reproduced has an affected XID worth following (a not-reproduced run's "affected" XID is
      // at most a late transmission that carried the right bytes).
      if (tap.length && record.verdict === 'reproduced') lines.push('', 'trace of one affected XID (seed 000 tap format):', ...tap.map((l) => '  ' + l));
      process.stdout.write(lines.join('\n') + '\n');
    }
    if (record.verdict === 'error') process.exitCode = EXIT.RUNTIME;
    else if (opts.expect !== undefined && record.verdict !== opts.expect) {
      if (!opts.json) process.stderr.write(`nfs-testbed: expected ${opts.expect}, the verdict is ${record.verdict} (exit ${EXIT.CHECKS_FAILED})\n`);
      process.exitCode = EXIT.CHECKS_FAILED;
    }
  });

  addCommon(
    program
      .command('matrix')
      .description('run every retransmit policy x DRC mode x scenario and print a table')
      .option('--repeat <r>', 'runs per cell, seeds seed..seed+r-1', '1')
      .option('--policies <list>', 'comma-separated subset of policies')
      .option('--drcs <list>', 'comma-separated subset of DRC modes')
      .option('--scenarios <list>', 'comma-separated subset of scenarios')
      .option('--clients <list>', 'client axis: testbed (our policies) and/or linux (the real kernel client)', 'testbed')
      .option('--servers <list>', 'server axis: testbed (our DRC modes) and/or linux (the real nfsd)', 'testbed')
      .addOption(optionWithDefault('--jobs <n>', 'cells run at once, each in its own worker thread (1 = one after the other)', 'two per core, at most 4'))
      .option('--out <dir>', 'folder for the runs', DEFAULT_RUNS_DIR),
    MATRIX_DEFAULTS,
  ).action(async (opts: CommonOpts & { repeat: string; policies?: string; drcs?: string; scenarios?: string; clients: string; servers: string; jobs?: string; out: string }) => {
    const c = common(opts);
    const list = <T extends string>(v: string | undefined, all: readonly T[], name: string): readonly T[] => {
      if (!v) return all;
      const xs = v.split(',').map((s) => s.trim()) as T[];
      for (const x of xs) if (!all.includes(x)) checkReproOptions({ [name]: x });
      return xs;
    };
    const matrixId = `matrix-${stamp()}-s${c.seed}`;
    const db = openResults(opts.db);
    try {
      const recs = await runMatrix({
        policies: list(opts.policies, POLICY_NAMES, 'policy'),
        drcs: list(opts.drcs, DRC_MODES, 'drc'),
        scenarios: list(opts.scenarios, SCENARIO_NAMES, 'scenario'),
        clients: list(opts.clients, PEERS, 'client'),
        servers: list(opts.servers, PEERS, 'server'),
        repeat: parseNumber(opts.repeat, '--repeat', 1, 100),
        jobs: opts.jobs === undefined ? defaultJobs() : parseNumber(opts.jobs, '--jobs', 1, 64),
        baseSeed: c.seed,
        outRoot: path.resolve(opts.out),
        matrixId,
        db,
        logLevel: opts.verbose ? 'info' : 'error',
        repro: reproOverrides(c),
        onRun: (r, i, n) => {
          const lag = (r.witnesses?.timerLagMs as TimerLag | undefined)?.max ?? 0;
          const machine = unexplained(r);
          if (!opts.json) process.stderr.write(`[${i}/${n}] ${r.config.scenario} ${r.config.policy} drc=${r.config.drc} seed=${r.config.seed}: ${paint(r.verdict, r.verdict, colourOn(process.stderr, opts.color))} (late ${r.counters.lateTransmissions}, wire ${r.counters.scribbledOnWire}, exec ${r.counters.executedScribbled}, corrupt ${r.counters.corruptBlocks}; timer lag max ${lag} ms${machine ? `; ${machine} timeouts no fault explains` : ''})\n`);
        },
      });
      const summary = db.matrixSummary(matrixId)!;
      if (opts.json) process.stdout.write(JSON.stringify({ matrixId, runs: recs.length, summary }, null, 2) + '\n');
      else {
        // How late timers fired while the cells ran: CPU contention stretches every time-scaled duration by this.
        const lags = recs.map((r) => (r.witnesses?.timerLagMs as TimerLag | undefined)?.max ?? 0).sort((a, b) => a - b);
        const lagLine = `timer lag (max per cell, real ms; the scaled timeo is ${parseDuration(DEFAULTS.timeo, 'timeo') * c.timeScale} ms): median ${lags[lags.length >> 1]}, worst ${lags[lags.length - 1]}`;
        // Cells whose client timed out with no fault holding the reply: the machine, not the scenario, retransmitted.
        const disturbed = recs.filter((r) => unexplained(r) > 0).map((r) => `${r.config.scenario}/${r.config.policy}/${r.config.drc}/s${r.config.seed}`);
        const disturbedLine = disturbed.length ? `\ncells with client timeouts no fault explains (their verdict may be the machine's): ${disturbed.join(', ')}` : '';
        process.stdout.write(formatMatrix(summary, colourOn(process.stdout, opts.color)) + `\n${lagLine}${disturbedLine}\nmatrix ${matrixId}: ${recs.length} runs stored in ${opts.db}\n`);
      }
      if (recs.some((r) => r.verdict === 'error')) process.exitCode = EXIT.RUNTIME;
    } finally {
      db.close();
    }
  });
}
