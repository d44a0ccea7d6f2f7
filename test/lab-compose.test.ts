// docker-compose.yml runs the seed's scenario with the seed's numbers, docker-compose accepts it, and the reader
// the tests use to start the same commands locally (the yaml package, YAML 1.1) reads what docker-compose reads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cliArgs, composeCommands, loadComposeCommands } from './support/compose';
import { missingTools } from '../lab/peers/tools';

const ROOT = path.join(__dirname, '..', '..');
const COMPOSE = path.join(ROOT, 'docker-compose.yml');

function assertCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (err: unknown) => (err as { code?: string }).code === code);
}

/** The value after `name` in an argument list. */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

describe('reading the compose file', () => {
  test('a command item YAML 1.1 reads as a non-string (unquoted off, 0xdeadbeef) is an error naming the service', () => {
    assertCode(() => composeCommands('services:\n  s:\n    command:\n      - server\n      - --drc\n      - off\n'), 'COMPOSE_BAD_COMMAND');
    assertCode(() => composeCommands('services:\n  s:\n    command:\n      - blktest\n      - --scribble\n      - 0xdeadbeef\n'), 'COMPOSE_BAD_COMMAND');
    assert.deepEqual(composeCommands('services:\n  s:\n    command:\n      - blktest\n      - "0xdeadbeef"\n      - "off"\n'), { s: ['blktest', '0xdeadbeef', 'off'] });
    assertCode(() => composeCommands('services:\n  s:\n    command: server --drc off\n'), 'COMPOSE_BAD_COMMAND');
    assertCode(() => composeCommands('version: "3"\n'), 'COMPOSE_NO_SERVICES');
    assertCode(() => cliArgs(['npm', 'start']), 'COMPOSE_BAD_COMMAND');
  });
});

describe('docker-compose.yml', () => {
  const cmds = loadComposeCommands(COMPOSE);
  const args = Object.fromEntries(Object.entries(cmds).map(([name, c]) => [name, cliArgs(c)]));

  test('has the four services, each running one nfs-testbed subcommand', () => {
    assert.deepEqual(Object.keys(cmds).sort(), ['client', 'dashboard', 'netem', 'server']);
    assert.equal(args.server[0], 'server');
    assert.equal(args.netem[0], 'netem');
    assert.equal(args.client[0], 'blktest');
    assert.equal(args.dashboard[0], 'dashboard');
  });

  test("runs the seed's scenario in real time with the seed's numbers", () => {
    // 000: "Stalling all network traffic with the NFS server for 65s every 1000 packets", held and released
    // together (the NFQUEUE program delayed packets), timeo 60 s, 2.6.18's timer backoff, 0xdeadbeef after
    // write() returns.
    assert.equal(flag(args.server, '--drc'), 'off');
    assert.equal(flag(args.netem, '--stall'), '65s');
    assert.equal(flag(args.netem, '--every'), '1000');
    assert.equal(flag(args.netem, '--unit'), 'packets');
    assert.equal(flag(args.netem, '--resume'), 'together');
    assert.equal(flag(args.client, '--backoff'), 'exponential');
    assert.equal(flag(args.client, '--policy'), 'linux-2008');
    assert.equal(flag(args.client, '--scribble'), '0xdeadbeef');
    assert.equal(flag(args.client, '--timeo'), '60s');
    assert.equal(flag(args.client, '--retrans'), '2');
    for (const name of ['server', 'netem', 'client']) assert.equal(flag(args[name], '--time-scale'), '1', name);
  });

  test('the components are wired to each other over loopback, and the capture goes to ./captures', () => {
    assert.equal(flag(args.netem, '--upstream'), `127.0.0.1:${flag(args.server, '--port')}`);
    assert.equal(flag(args.client, '--server'), flag(args.netem, '--listen'));
    assert.match(flag(args.netem, '--listen') ?? '', /^127\.0\.0\.1:\d+$/);
    assert.match(flag(args.netem, '--capture') ?? '', /^captures\/.+\.pcap$/);
    assert.equal(flag(args.dashboard, '--db'), 'captures/results.sqlite');
  });

  test('the Dockerfile builds one image from node:20-bookworm-slim with npm ci and the build', () => {
    const df = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    assert.match(df, /^FROM node:20-bookworm-slim AS build$/m);
    assert.match(df, /^RUN npm ci$/m);
    assert.match(df, /^RUN npm run build/m);
    assert.match(df, /^COPY --from=build \/app\/dist dist$/m);
  });

  test(
    'docker-compose config accepts the file and reads the same commands',
    { skip: missingTools(['docker-compose', 'docker-compose']) },
    () => {
      const r = spawnSync('docker-compose', ['-f', COMPOSE, 'config'], { encoding: 'utf8', cwd: ROOT, timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      // docker-compose's normalised output is an independent reading (PyYAML) of the same file.
      assert.deepEqual(composeCommands(r.stdout), cmds);
      const services = spawnSync('docker-compose', ['-f', COMPOSE, 'config', '--services'], { encoding: 'utf8', cwd: ROOT, timeout: 30_000 });
      assert.deepEqual(services.stdout.trim().split('\n').sort(), ['client', 'dashboard', 'netem', 'server']);
    },
  );
});
