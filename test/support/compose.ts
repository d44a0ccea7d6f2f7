// Reads docker-compose.yml (with the `yaml` package, as YAML 1.1 like docker-compose's PyYAML) so tests can start the
// very commands the containers run, as local processes.
import fs from 'node:fs';
import { parse } from 'yaml';
import { ConfigError } from '../../core/errors';

/** Every service command starts with this (the image's working directory is the repository root). */
export const CLI_PREFIX = ['node', 'dist/cli/main.js'] as const;

type Yaml = unknown;

function isMap(v: Yaml): v is Record<string, Yaml> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Each service's `command` list, by service name, from compose YAML text. YAML 1.1 resolves an unquoted `off` to
 * false and `0xdeadbeef` to a number, as docker-compose does: such an item is an error naming the service.
 */
export function composeCommands(text: string): Record<string, string[]> {
  const doc = parse(text, { version: '1.1' }) as Yaml;
  const services = isMap(doc) ? doc.services : undefined;
  if (!isMap(services)) throw new ConfigError('COMPOSE_NO_SERVICES', 'docker-compose.yml has no services mapping');
  const out: Record<string, string[]> = {};
  for (const [name, svc] of Object.entries(services)) {
    const command = isMap(svc) ? svc.command : undefined;
    if (!Array.isArray(command)) {
      throw new ConfigError('COMPOSE_BAD_COMMAND', `service ${name}: command must be a list, one argument per item`, { service: name });
    }
    const bad = command.findIndex((a) => typeof a !== 'string');
    if (bad >= 0) {
      throw new ConfigError('COMPOSE_BAD_COMMAND', `service ${name}: command item ${bad} is ${JSON.stringify(command[bad])} (${typeof command[bad]}), not a string: quote it`, { service: name, item: bad });
    }
    out[name] = command as string[];
  }
  return out;
}

/** composeCommands() of a file. */
export function loadComposeCommands(file: string): Record<string, string[]> {
  return composeCommands(fs.readFileSync(file, 'utf8'));
}

/** The nfs-testbed arguments of a service command: ['server', '--export', ...], to run as `node dist/cli/main.js ...args`. */
export function cliArgs(command: readonly string[]): string[] {
  if (command[0] !== CLI_PREFIX[0] || command[1] !== CLI_PREFIX[1]) {
    throw new ConfigError('COMPOSE_BAD_COMMAND', `command does not start with "${CLI_PREFIX.join(' ')}": ${command.join(' ')}`);
  }
  return command.slice(2);
}
