#!/usr/bin/env node
// nfs-testbed: one CLI, subcommands registered explicitly. Only this file ends the process.
import { Command, CommanderError } from 'commander';
import { TestbedError, ConfigError } from '../core/errors';
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

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? EXIT.OK : Number(process.exitCode);
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; every misuse exits 2 (usage already printed by commander).
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`nfs-testbed: ${err.message}\n`);
      return EXIT.USAGE;
    }
    if (err instanceof TestbedError) {
      process.stderr.write(`nfs-testbed: ${err.code}: ${err.message}\n`);
      return EXIT.RUNTIME;
    }
    process.stderr.write(`nfs-testbed: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT.RUNTIME;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
