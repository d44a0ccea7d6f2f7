// Regression (issue 15 items 8, 9): bad option values exited 2 without the usage the README promises; under --json
// usage errors left stdout empty; netem's fault errors named the key the value became (`duration: cannot parse
// duration`) instead of the flag typed or the key that was wrong; `--journal` in a missing directory or on a file
// that is not a database printed a stack trace and exited 1. Errors are now reported in one place (cli/main.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCliAsync, type CliResult } from './support/cli';

type Run = CliResult;

/** A command that wrongly starts (instead of refusing) is killed after 60 s. */
const cli = (args: string[]) => runCliAsync(args, { timeoutMs: 60_000 });

/** Runs the commands three at a time (each loads the whole CLI: on a loaded machine, dozens at once time out). */
async function cliAll(argsList: string[][]): Promise<Run[]> {
  const out: Run[] = [];
  for (let i = 0; i < argsList.length; i += 3) out.push(...(await Promise.all(argsList.slice(i, i + 3).map(cli))));
  return out;
}

/** stdout holds exactly one JSON document: an error with a code. */
function oneJsonError(r: Run): { code: string; message: string; details?: Record<string, unknown> } {
  const doc = JSON.parse(r.out);
  assert.equal(doc.ok, false);
  assert.equal(typeof doc.error?.code, 'string');
  return doc.error;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-cli-usage-'));
const exportDir = path.join(dir, 'export');
fs.mkdirSync(exportDir);
const notDb = path.join(dir, 'notes.txt');
fs.writeFileSync(notDb, 'not a database\n'.repeat(100));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** One bad option value per command, each checked in the action (not by commander). */
const BAD_VALUES: Array<{ command: string; args: string[]; code: string }> = [
  { command: 'repro', args: ['repro', '--seed', 'x', '--db', path.join(dir, 'r.db')], code: 'BAD_NUMBER' },
  { command: 'matrix', args: ['matrix', '--jobs', 'many', '--db', path.join(dir, 'r.db')], code: 'BAD_NUMBER' },
  { command: 'server', args: ['server', '--export', exportDir, '--port', '99999'], code: 'BAD_PORT' },
  { command: 'netem', args: ['netem', '--upstream', '127.0.0.1:1', '--listen', 'nowhere'], code: 'BAD_ADDRESS' },
  { command: 'blktest', args: ['blktest', '--server', '127.0.0.1:1', '--file', 'f', '--block-size', 'big'], code: 'BAD_SIZE' },
  { command: 'inspect', args: ['inspect', '--port', 'x', notDb], code: 'BAD_PORT' },
  { command: 'runs', args: ['runs', '--limit', 'x', '--db', path.join(dir, 'r.db')], code: 'BAD_NUMBER' },
  { command: 'dashboard', args: ['dashboard', '--listen', 'nowhere', '--db', path.join(dir, 'r.db')], code: 'BAD_ADDRESS' },
  { command: 'linux client', args: ['linux', 'client', '--server', '127.0.0.1:1', '--export', '/export', '--count', '0'], code: 'BAD_NUMBER' },
  { command: 'linux nfsd', args: ['linux', 'nfsd', '--threads', 'many'], code: 'BAD_NUMBER' },
];

test('every command: a bad option value prints the error and the command usage, exit 2', async () => {
  const runs = await cliAll(BAD_VALUES.map((c) => c.args));
  BAD_VALUES.forEach((c, i) => {
    const r = runs[i];
    assert.equal(r.code, 2, `${c.command}: exit ${r.code} ${r.err}`);
    assert.match(r.err, new RegExp(`Usage: nfs-testbed ${c.command} `), `${c.command}: no usage in ${r.err}`);
    assert.equal(r.out, '', `${c.command}: stdout ${r.out}`);
  });
});

test('every command under --json: usage errors and bad values print exactly one JSON error document', async () => {
  const cases = [
    ...BAD_VALUES.map((c) => ({ name: `${c.command} bad value`, args: [...c.args, '--json'], code: c.code })),
    // commander's own usage errors, and --json on commands that have no such option
    ...['repro', 'blktest', 'server'].map((c) => ({ name: `${c} unknown option`, args: [c, '--no-such-option', '--json'], code: 'USAGE' })),
    { name: 'unknown command', args: ['no-such-command', '--json'], code: 'USAGE' },
  ];
  const runs = await cliAll(cases.map((c) => c.args));
  cases.forEach((c, i) => {
    const r = runs[i];
    assert.equal(r.code, 2, `${c.name}: exit ${r.code} ${r.err}`);
    const err = oneJsonError(r);
    // stderr still says what was wrong and shows the usage (linux client used to print only its own document)
    if (c.code !== 'USAGE') assert.match(r.err, /^error: [^]*\nUsage: nfs-testbed /, `${c.name}: stderr ${r.err}`);
    // server, netem, dashboard and linux nfsd print no document when they work, so they have no --json: the
    // document then says so (commander's unknown option), which is still one JSON document on stdout.
    const takesJson = !/^(server|netem|dashboard|linux nfsd) /.test(c.name);
    if (takesJson || c.code === 'USAGE') assert.equal(err.code, c.code, `${c.name}: ${JSON.stringify(err)}`);
    else assert.deepEqual([err.code, err.details?.commander], ['USAGE', 'commander.unknownOption'], `${c.name}: ${JSON.stringify(err)}`);
  });
});

test('netem: fault errors name the flag typed or the key that is wrong', async () => {
  // What the message names is the point here, so the message is what is checked (netem has no --json).
  const cases: Array<{ args: string[]; says: RegExp }> = [
    { args: ['--fault', 'slicer:bytes=100'], says: /^error: fault slicer-1: unknown key "bytes" \(slicer takes size, / },
    { args: ['--fault', 'slicer'], says: /^error: fault slicer-1: missing key "size"/ },
    { args: ['--fault', 'latency:delay=5ms,rate=1MiB'], says: /^error: fault latency-1: unknown key "rate"/ },
    { args: ['--fault', 'slicer:size=lots'], says: /^error: fault slicer-1: size: cannot parse size "lots"/ },
    { args: ['--stall', 'long'], says: /^error: --stall: cannot parse duration "long"/ },
    { args: ['--stall', '1s', '--interval', 'often'], says: /^error: --interval: / },
    { args: ['--stall', '1s', '--on-call', 'FROB'], says: /^error: --on-call: unknown procedure "FROB"/ },
    { args: ['--stall', '1s', '--phase', 'during'], says: /^error: --phase: / },
  ];
  const runs = await cliAll(cases.map((c) => ['netem', '--upstream', '127.0.0.1:1', ...c.args]));
  cases.forEach((c, i) => {
    const r = runs[i];
    assert.equal(r.code, 2, `${c.args.join(' ')}: exit ${r.code} ${r.err}`);
    assert.match(r.err, c.says);
    assert.match(r.err, /Usage: nfs-testbed netem /);
  });
});

test('server --journal in a missing directory, on a non-database file or on a directory: a clear error, exit 2', async () => {
  const before = fs.readFileSync(notDb);
  for (const journal of [path.join(dir, 'missing', 'j.db'), notDb, dir]) {
    const r = await cli(['server', '--export', exportDir, '--state-dir', path.join(dir, 'state'), '--journal', journal]);
    assert.equal(r.code, 2, `${journal}: exit ${r.code} ${r.err}`);
    assert.match(r.err, /^error: --journal .*: cannot use it as the write journal: /);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  assert.ok(fs.readFileSync(notDb).equals(before), 'the file that is not a database is left as it was');
  assert.ok(!fs.existsSync(path.join(dir, 'missing')), 'no directory created');
});
