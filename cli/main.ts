#!/usr/bin/env node
// nfs-testbed: one CLI, subcommands registered explicitly. Only this file ends the process.
import { Command, CommanderError } from 'commander';
import { TestbedError, ConfigError, RpcError } from '../core/errors';
import { EXIT } from './exit';
import { HELP_CONFIG } from './help';

// eslint-disable-next-line @typescript-eslint/no-var-requires
const pkg = require('../../package.json') as { version: string; description: string };

type Register = (program: Command) => void;

/**
 * Subcommands, one module each: the commands it registers and its register(program), loaded on demand. A run of
 * one command loads only its own module: `inspect` need not load hapi, SQLite and the whole lab before reading its
 * first packet (0.45 s of CPU before, against 0.07 for bare node; about a fifth of inspect's time on a 221 MB
 * capture). Help, `help CMD` and an unknown command load them all. test/cli-lazy-commands pins the names.
 */
export const SUBCOMMANDS: ReadonlyArray<{ commands: readonly string[]; load: () => Register }> = [
  { commands: ['repro', 'matrix'], load: () => (require('./repro') as typeof import('./repro')).register }, // the main job
  { commands: ['server'], load: () => (require('./server') as typeof import('./server')).register },
  { commands: ['netem'], load: () => (require('./netem') as typeof import('./netem')).register },
  { commands: ['blktest'], load: () => (require('./blktest') as typeof import('./blktest')).register },
  { commands: ['inspect'], load: () => (require('./inspect') as typeof import('./inspect')).register },
  { commands: ['runs'], load: () => (require('./runs') as typeof import('./runs')).register },
  { commands: ['dashboard'], load: () => (require('./dashboard') as typeof import('./dashboard')).register },
  { commands: ['linux'], load: () => (require('./linux') as typeof import('./linux')).register },
];

/** The CLI; with `only`, just the module that registers that command (the others are not loaded). */
export function buildProgram(only?: string): Command {
  const program = new Command('nfs-testbed')
    .description(pkg.description)
    .version(pkg.version)
    .showHelpAfterError()
    .exitOverride()
    .configureHelp(HELP_CONFIG); // before the subcommands: each copies it
  for (const s of SUBCOMMANDS) if (only === undefined || s.commands.includes(only)) s.load()(program);
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
  // A peer we cannot talk to: nothing listens, or what listens does not speak ONC RPC (client/rpc/transport.ts).
  if (err instanceof RpcError && (err.code === 'RPC_CONNECT' || err.code === 'RPC_NOT_RPC')) return EXIT.UNREACHABLE;
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
  const named = argv[2];
  const program = buildProgram(SUBCOMMANDS.some((s) => s.commands.includes(named)) ? named : undefined);
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
