// `nfs-testbed blktest`: seed 000's blktest2 write loop against an NFSv3 server, with a retransmit policy.
import { Command, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { DEFAULT_BLOCKS, runBlktest, STABLE_NAMES, type BlktestResult, type StableName } from '../client/blktest';
import { POLICY_NAMES, getPolicy } from '../client/policies';
import { BACKOFFS, type Backoff } from '../client/rpc/timeout';
import { startTrace, type TapScope } from '../client/rpc/trace';
import { parseHostPort } from '../core/address';
import { ConfigError } from '../core/errors';
import { createLogger } from '../core/log';
import { formatAt, formatBytes, formatSize, parseDuration, parseNumber, parseSize } from '../core/units';
import { hexXid } from '../client/rpc/xid';
import { EXIT } from './exit';
import { optionWithDefault } from './help';
import { DEFAULTS as REPRO, SEED_NUMBERS } from '../lab/repro-options';

interface Opts {
  server: string;
  export: string;
  file: string;
  mountPort?: string;
  portmap?: boolean;
  blockSize: string;
  count?: string;
  duration?: string;
  fileBlocks?: string;
  untilLate?: boolean;
  wsize: string;
  inflight: string;
  stable: string;
  commitEvery?: string;
  policy: string;
  scribble: string;
  scribbleHold: string;
  timeo: string;
  retrans: string;
  backoff: string;
  soft?: boolean;
  timeScale: string;
  seed?: string;
  trace?: string | boolean;
  traceJson?: string;
  json?: boolean;
  verbose?: boolean;
}

function parseWord(s: string): number {
  const v = /^0x[0-9a-f]{1,8}$/i.test(s) ? parseInt(s, 16) : Number(s);
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new ConfigError('BAD_SCRIBBLE', `--scribble expects a 32-bit word like 0xdeadbeef, got "${s}"`);
  return v;
}

function lateTimes(ms: number[]): string {
  if (ms.length === 0) return '';
  const s = [...ms].sort((a, b) => a - b);
  return `, ${(s[0] / 1000).toFixed(2)}-${(s[s.length - 1] / 1000).toFixed(2)} modelled s after completion`;
}

function summary(r: BlktestResult, timeScale: number): string {
  const lines = [
    `blktest ${r.server} ${r.file}: ${r.writes} writes of ${formatBytes(r.blockSize)} (${formatBytes(r.bytes)}) in ${formatAt(r.durationMs, timeScale)}, policy ${r.policy}, wsize ${formatBytes(r.wsize)}${r.wsize !== r.wsizeRequested ? ` (asked ${formatBytes(r.wsizeRequested)}, clamped to the server's FSINFO wtmax)` : ''}, inflight ${r.inflight}, ${r.stable}`,
    `  transmissions ${r.transmissions}, retransmissions ${r.retransmissions}, replays ${r.replays}, timeouts ${r.timeoutsMinor} minor / ${r.timeoutsMajor} major`,
    `  duplicates at the reply: ${r.duplicatesCancelled} queued and skipped, ${r.duplicatesFinished} in the socket and finished, ${r.duplicatesWithdrawn} withdrawn by a reset; reconnects ${r.reconnects}`,
    `  LATE TRANSMISSIONS ${r.lateTransmissions} (${r.latePaths.inSocket} in the socket at the reply, ${r.latePaths.queued} queued)${lateTimes(r.lateAfterCompleteModelMs)}`,
    `  verify: ${r.fileBytesRead} bytes read back, ${r.corruptBlocks} corrupt block(s)${r.committed ? ', committed' : ''}${r.verifierChanged ? `, WRITE VERIFIER CHANGED ${r.verifierChanges}x, ${r.resentBlocks} block(s) resent` : ''}`,
  ];
  for (const c of r.corrupt.slice(0, 20)) lines.push(`  corrupt block ${c.block} at offset ${c.offset}: ${c.found} (${c.badWords} bad words, first at ${c.firstBadOffset})`);
  if (r.corrupt.length > 20) lines.push(`  ... ${r.corrupt.length - 20} more`);
  return lines.join('\n');
}

/**
 * Why blktest's defaults are not repro's: blktest is the seed's program as Ian Campbell ran it, against any server in
 * real time; repro picks what makes the same bug show within seconds on loopback (lab/repro-options.ts DEFAULTS).
 */
const BLKTEST_VS_REPRO = `
Defaults are blktest2.c's own (one O_DIRECT write() at a time, 0xdeadbeef written the moment it returns, real
time), for use against any server. \`nfs-testbed repro\` runs this loop with other values, to show the bug within
seconds on loopback: --block-size and --wsize ${formatSize(REPRO.wsize)} with --inflight ${REPRO.inflight} (one WRITE per write(), as many
in flight as 2.6.18's RPC slot table, so more waits behind a stall than Node's kernel copies hold and a duplicate
still references its caller's buffer), --backoff ${REPRO.backoff} (2.6.18), --scribble-hold ${REPRO.scribbleHold}, --time-scale
${REPRO.timeScale} (the ${SEED_NUMBERS.stall} stall lasts ${parseDuration(SEED_NUMBERS.stall) * REPRO.timeScale} ms), cycling over ${REPRO.count} blocks until the first late transmission
(--until-late).`;

export function register(program: Command): void {
  program
    .command('blktest')
    .description("seed 000's blktest2: write counter-filled O_DIRECT-style buffers, scribble them as soon as write() returns, verify over NFS")
    .addHelpText('after', BLKTEST_VS_REPRO)
    .requiredOption('--server <host:port>', 'NFS server (NFS port; MOUNT on the same port unless --mount-port/--portmap)')
    .requiredOption('--export <path>', 'export path to mount', '/export')
    .requiredOption('--file <name>', 'file in the export root (created or truncated)')
    .option('--mount-port <n>', 'MOUNT port when it differs from the NFS port')
    .option('--portmap', 'ask PORTMAP on port 111 for the MOUNT port')
    .option('--block-size <size>', 'bytes per write()', '1MiB')
    .addOption(optionWithDefault('--count <n>', 'write blocks 0..N-1 once each', `${DEFAULT_BLOCKS} (without --duration)`))
    .option('--duration <time>', 'keep writing for this long (modelled; obeys --time-scale), cycling over --file-blocks')
    .option('--until-late', 'stop writing at the first late transmission (what is in flight finishes); --count or --duration is the budget')
    .addOption(optionWithDefault('--file-blocks <n>', 'file size in blocks: --duration cycles over blocks 0..N-1', `--count, else ${DEFAULT_BLOCKS}`))
    .option('--wsize <size>', 'bytes per WRITE call', '64KiB')
    .option('--inflight <k>', 'write() buffers in flight at once (aio)', '1')
    .addOption(new Option('--stable <how>', 'stable_how of every WRITE').choices(Object.keys(STABLE_NAMES)).default('unstable'))
    .addOption(optionWithDefault('--commit-every <n>', 'with unstable writes, COMMIT after every N write() calls', 'one COMMIT at the end'))
    .addOption(new Option('--policy <name>', 'retransmit policy').choices([...POLICY_NAMES]).default('linux-2008'))
    .option('--scribble <word>', 'word written over the buffer once write() returns', '0xdeadbeef')
    .option('--scribble-hold <time>', 'keep the scribble this long before the refill (modelled; 0 = one event-loop turn)', '0s')
    .option('--timeo <time>', 'RPC timeout (Linux timeo)', '60s')
    .option('--retrans <n>', 'Linux retrans: the major timeout comes at timeo + timeo x retrans (linear) or timeo << retrans', '2')
    .addOption(new Option('--backoff <how>', 'minor timeouts grow the timer linearly (nfs_init_timeout_values) or double it (2.6.18)').choices([...BACKOFFS]).default('linear'))
    .option('--soft', 'fail calls at the major timeout, or when a lost connection is not back within 60 s (2.6.18 `xprt_connect`; "Timers and reconnects"), instead of retrying forever')
    .option('--time-scale <x>', 'multiply every modelled duration', '1')
    .addOption(optionWithDefault('--seed <n>', 'seed for XIDs (same seed, same XIDs)', 'a random first XID'))
    .option('--trace [scope]', 'print the call lifecycle as tap blocks on stderr: all | retransmitted')
    .option('--trace-json <file>', 'write every lifecycle event as a JSON line')
    .option('--verbose', 'log every reconnect (and why) on stderr: a hard mount retries a peer that closes at once forever')
    .option('--json', 'print exactly one JSON document on stdout')
    .action(async (o: Opts) => {
      const { host, port } = parseHostPort(o.server, '--server');
      if (o.count !== undefined && o.duration !== undefined) throw new ConfigError('BAD_OPTIONS', '--count and --duration are exclusive');
      const scope = o.trace === undefined || o.trace === false ? undefined : o.trace === true ? 'all' : o.trace;
      if (scope !== undefined && scope !== 'all' && scope !== 'retransmitted') throw new ConfigError('BAD_TRACE', `--trace scope must be all or retransmitted, got "${scope}"`);
      const opts = {
        host,
        port,
        exportPath: o.export,
        file: o.file,
        mountPort: o.mountPort !== undefined ? parseNumber(o.mountPort, '--mount-port', 1, 65535) : undefined,
        portmap: o.portmap,
        blockSize: parseSize(o.blockSize, '--block-size'),
        count: o.count !== undefined ? parseNumber(o.count, '--count', 1) : undefined,
        durationMs: o.duration !== undefined ? parseDuration(o.duration, '--duration') : undefined,
        fileBlocks: o.fileBlocks !== undefined ? parseNumber(o.fileBlocks, '--file-blocks', 1) : undefined,
        untilLate: !!o.untilLate,
        wsize: parseSize(o.wsize, '--wsize'),
        inflight: parseNumber(o.inflight, '--inflight', 1),
        stable: o.stable as StableName,
        commitEvery: o.commitEvery !== undefined ? parseNumber(o.commitEvery, '--commit-every', 1) : undefined,
        policy: getPolicy(o.policy).name,
        scribble: parseWord(o.scribble),
        scribbleHoldMs: parseDuration(o.scribbleHold, '--scribble-hold'),
        timeo: parseDuration(o.timeo, '--timeo'),
        retrans: parseNumber(o.retrans, '--retrans', 0),
        backoff: o.backoff as Backoff,
        soft: !!o.soft,
        timeScale: parseNumber(o.timeScale, '--time-scale', Number.MIN_VALUE),
        seed: o.seed !== undefined ? parseNumber(o.seed, '--seed', 0, 0xffffffff) : undefined,
        // --verbose shows the transport's info lines: one per reconnect, with its backoff delay (xprt_reconnect_backoff).
        logger: createLogger({ name: 'blktest', level: o.verbose ? 'info' : o.json ? 'error' : 'warn' }),
      };
      const trace = startTrace({
        tap: scope ? { out: (l) => process.stderr.write(l + '\n'), scope: scope as TapScope } : undefined,
        jsonFile: o.traceJson,
      });
      const bar = process.stderr.isTTY && !o.json && !scope ? new SingleBar({ format: 'blktest {bar} {value}/{total} writes', hideCursor: true }, Presets.shades_classic) : undefined;
      let result: BlktestResult;
      try {
        bar?.start(opts.count ?? 0, 0);
        result = await runBlktest({ ...opts, onProgress: (n, total) => (total ? bar?.update(n) : bar?.setTotal(n)) });
      } catch (e) {
        bar?.stop();
        await trace.stop();
        throw e; // cli/main.ts reports it (exit 4 when the server is unreachable)
      }
      bar?.stop();
      await trace.stop();
      // XIDs in hex, as every other output prints them (README "Times and XIDs")
      if (o.json) process.stdout.write(JSON.stringify({ ok: result.corruptBlocks === 0, ...result, lateXids: result.lateXids.map(hexXid) }) + '\n');
      else process.stdout.write(summary(result, opts.timeScale) + '\n');
      process.exitCode = result.corruptBlocks > 0 ? EXIT.CHECKS_FAILED : EXIT.OK;
    });
}
