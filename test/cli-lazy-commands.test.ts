// cli/main.ts loads a subcommand's module only when that command runs (issue 20: inspect spent 0.45 s of CPU
// loading hapi, SQLite and the lab before its first packet). The table of which module registers which command
// must stay true, or a command would be missing when run on its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { buildProgram, SUBCOMMANDS } from '../cli/main';
import { CLI, runCli } from './support/cli';

test('each SUBCOMMANDS row names exactly the commands its module registers, and together they are the CLI', () => {
  const all = buildProgram().commands.map((c) => c.name());
  const rows: string[] = [];
  for (const s of SUBCOMMANDS) {
    for (const name of s.commands) assert.deepEqual(buildProgram(name).commands.map((c) => c.name()), s.commands, `buildProgram('${name}')`);
    rows.push(...s.commands);
  }
  assert.deepEqual([...rows].sort(), [...all].sort());
});

// SQLite (--journal), the annotator (--annotate) and the text renderer are loaded when asked for: 5-15 ms of
// startup that `inspect --json` would spend before its first packet (issue 20).
test('running inspect loads neither hapi nor the lab, server or client, nor SQLite, the annotator or the text renderer; help still lists every command', () => {
  const probe = `require(${JSON.stringify(CLI)}).buildProgram('inspect');
    const loaded = Object.keys(require.cache);
    if (process.moduleLoadList.includes('NativeModule zlib')) loaded.push('node:zlib'); // gunzip, for .gz only
    console.log(JSON.stringify(['@hapi', '/lab/', '/server/', '/client/', 'better-sqlite3', '/captures/annotate', '/captures/analysis/text', 'node:zlib'].filter((m) => loaded.some((f) => f.includes(m)))));`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), []);
  const help = runCli(['--help']);
  assert.equal(help.code, 0, help.err);
  for (const s of SUBCOMMANDS) for (const name of s.commands) assert.match(help.out, new RegExp(`^  ${name}\\b`, 'm'));
  // A command run alone still reports a bad option as a usage error (exit 2).
  const bad = runCli(['inspect', '--no-such-option', 'x.pcap']);
  assert.equal(bad.code, 2, bad.err);
});
