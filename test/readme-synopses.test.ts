// The README's option tables are generated from the commander definitions (cli/help.ts, scripts/readme-synopses.js)
// and must list exactly what each subcommand's --help lists (issue 21: options in --help were missing from the
// README, defaults were printed two ways, a record size as "4259840").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildProgram } from '../cli/main';
import { commandPath, documentedCommands, optionRows, SYNOPSES_COMMAND, updateSynopses } from '../cli/help';
import { formatDuration, formatSize, parseDuration, parseSize } from '../core/units';

const ROOT = path.join(__dirname, '..', '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const MAIN = path.join(ROOT, 'dist', 'cli', 'main.js');

test('README.md option tables are what --help lists (regenerate them with the command the message names)', () => {
  const r = updateSynopses(README, buildProgram());
  const problems = [
    ...(r.changed.length ? [`out of date for: ${r.changed.join(', ')}`] : []),
    ...(r.missing.length ? [`missing for: ${r.missing.join(', ')} (add "<!-- synopsis NAME -->" and "<!-- /synopsis -->" lines in its section)`] : []),
    ...(r.unknown.length ? [`tables of commands that do not exist: ${r.unknown.join(', ')}`] : []),
  ];
  assert.deepEqual(problems, [], `README.md option tables ${problems.join('; ')}. Run \`${SYNOPSES_COMMAND}\` and commit README.md.`);
});

test('each subcommand --help of the built binary prints every option and default as the README table does', () => {
  const squash = (s: string) => s.replace(/\s+/g, ' ');
  for (const cmd of documentedCommands(buildProgram())) {
    const out = spawnSync(process.execPath, [MAIN, ...commandPath(cmd).split(' '), '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '100' } });
    assert.equal(out.status, 0, `${commandPath(cmd)} --help: ${out.stderr}`);
    const help = squash(out.stdout);
    for (const row of optionRows(cmd)) {
      assert.ok(help.includes(row.flags), `${commandPath(cmd)} --help lists ${row.flags}`);
      if (row.default !== undefined) assert.ok(help.includes(`default: ${squash(row.default)})`), `${commandPath(cmd)} --help prints ${row.flags}'s default as "default: ${row.default}"`);
    }
    // A default written into a description would print a second way: optionWithDefault() (cli/help.ts) prints it.
    for (const row of optionRows(cmd)) assert.doesNotMatch(row.description, /\(default\b/i, `${commandPath(cmd)} ${row.flags}: give the default with optionWithDefault(), not in the description`);
    // One format: commander's own quoted `default: "1"` never appears.
    assert.doesNotMatch(help, /default: "/, `${commandPath(cmd)} --help prints a quoted default`);
  }
});

test('sizes and durations print with units, and the printed default parses back to the same value', () => {
  for (const cmd of documentedCommands(buildProgram())) {
    for (const row of optionRows(cmd)) {
      if (!row.literalDefault || row.default === undefined) continue;
      const arg = /<([a-z-]+)>/.exec(row.flags)?.[1];
      if (arg === 'size') {
        assert.match(row.default, /^(0|(\d+(GiB|MiB|KiB|B)\+?)+)$/, `${commandPath(cmd)} ${row.flags} default "${row.default}" has units`);
        assert.equal(formatSize(parseSize(row.default)), row.default);
      }
      if (arg === 'duration' || arg === 'time') {
        assert.match(row.default, /^\d+(\.\d+)?(ms|s|m|h)$/, `${commandPath(cmd)} ${row.flags} default "${row.default}" has a unit`);
        assert.ok(parseDuration(row.default) >= 0);
      }
    }
  }
  assert.equal(formatSize(4 * 2 ** 20 + 64 * 2 ** 10), '4MiB+64KiB');
  assert.equal(parseSize('4MiB+64KiB'), 4_259_840);
  assert.equal(formatSize(1000), '1000B');
  assert.equal(formatSize(3 * 2 ** 30), '3GiB');
  assert.equal(formatDuration(120_000), '2m');
  assert.equal(formatDuration(65_000), '65s');
  assert.equal(formatDuration(1500), '1500ms');
  assert.throws(() => parseSize('4MiB+'), { code: 'BAD_SIZE' });
});

test('a stale or missing table is reported, not silently accepted', () => {
  const program = buildProgram();
  const stale = README.replace(/(<!-- synopsis server[^\n]*\n[\s\S]*?)\| `--host <addr>`[^\n]*\n/, '$1');
  assert.notEqual(stale, README, 'the fixture removed the --host row');
  const r = updateSynopses(stale, program);
  assert.deepEqual(r.changed, ['server']);
  assert.equal(r.text, README, 'regenerating restores the row');
  const noBlock = README.replace(/<!-- synopsis inspect[^\n]*\n[\s\S]*?<!-- \/synopsis -->/, '');
  assert.deepEqual(updateSynopses(noBlock, program).missing, ['inspect']);
  assert.deepEqual(updateSynopses(README + '\n<!-- synopsis nope -->\n<!-- /synopsis -->\n', program).unknown, ['nope']);
});
