#!/usr/bin/env node
// nfs-testbed: one CLI, subcommands registered explicitly. Only this file ends the process.
import { Command, CommanderError } from 'commander';
import { TestbedError, ConfigError, RpcError } from '../core/errors';
import { EXIT } from './exit';
import { HELP_CONFIG } from './help';
import { register as registerRuns } from './runs';
import { register as registerDashboard } from './dashboard';
import { register as registerInspect } from './inspect';
import { register as registerServer } from './server';
import { register as registerBlktest } from './blktest';
import { register as registerNetem } from './netem';
import { register as registerRepro } from './repro';
import { register as registerLinux } from './linux';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const pkg = require('../../package.json') as { version: string; description: string };

/** Subcommands, one module each. Each exports register(program). */
const SUBCOMMANDS: Array<(program: Command) => void> = [
  registerRepro, // repro, matrix: the main job
  registerServer,
  registerNetem,
  registerBlktest,
  registerInspect,
  registerRuns,
  registerDashboard,
  registerLinux,
];

export function buildProgram(): Command {
  const program = new Command('nfs-testbed')
    .description(pkg.description)
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride()
    .configureHelp(HELP_CONFIG); // before the subcommands: each copies it
  for (const register of SUBCOMMANDS) register(program);
  return program;
}

/** --json before any `--`: known before commander parses, since a usage error may stop it first. */
function wantsJson(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
}

/** The documented exit code of an error that ended a command. */
function exitFor(err: unknown): number {
  if (err instanceof CommanderError || err instanceof ConfigError) return EXIT.USAGE;
  if (err instanceof RpcError && err.code === 'RPC_CONNECT') return EXIT.UNREACHABLE;
  return EXIT.RUNTIME;
}

/**
 * The one place errors are reported. Usage errors (commander's own, or a ConfigError for a bad option value) print
 * the message and the command's usage on stderr; under --json stdout then holds exactly one document,
 * `{ ok: false, error: { name, code, message, details? } }`, whatever went wrong.
 */
function reportError(err: unknown, command: Command, json: boolean): number {
  const code = exitFor(err);
  if (err instanceof CommanderError) {
    // commander has printed the message and the usage already
  } else if (err instanceof ConfigError) {
    process.stderr.write(`error: ${err.message}\n\n`);
    command.outputHelp({ error: true });
  } else if (err instanceof TestbedError) {
    process.stderr.write(code === EXIT.UNREACHABLE ? `nfs-testbed: ${err.message}\n` : `nfs-testbed: ${err.code}: ${err.message}\n`);
  } else {
    process.stderr.write(`nfs-testbed: ${(err as Error)?.stack ?? String(err)}\n`);
  }
  if (json) {
    const error =
      err instanceof CommanderError
        ? { name: 'UsageError', code: 'USAGE', message: err.message.replace(/^error: /, ''), details: { commander: err.code } }
        : err instanceof TestbedError
          ? err.toJSON()
          : { name: 'Error', code: 'INTERNAL', message: String((err as Error)?.message ?? err) };
    process.stdout.write(JSON.stringify({ ok: false, error }, null, 2) + '\n');
  }
  return code;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  let running: Command = program;
  program.hook('preAction', (_program, action) => {
    running = action;
  });
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? EXIT.OK : Number(process.exitCode);
  } catch (err) {
    // --help and --version end parsing with a CommanderError too, exit code 0
    if (err instanceof CommanderError && err.exitCode === 0) return EXIT.OK;
    return reportError(err, running, wantsJson(argv));
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
