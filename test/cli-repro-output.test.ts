// Issue 21, what a user reads from `repro`: --expect makes the verdict a CI gate (exit 3 when it differs), a progress
// bar and coloured verdicts on a terminal only (NO_COLOR and --no-color honoured; never under --json or in a pipe),
// the trace of one affected XID only for a run that reproduced, and the one time base (real s, modelled in
// brackets) with hex XIDs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, runCliAsync, type CliResult } from './support/cli';

const ESC = '\x1b[';
const BAR = 'write() calls';
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-repro-out-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
const common = () => ['--db', path.join(dir, 'runs.sqlite'), '--out', path.join(dir, `run${++n}`)];
/**
 * A run that reproduces every time: no-cancel (the amplifier). These tests are about the output; the default
 * linux-2008's faithful race can need more than --max-stalls on a loaded machine (README "Proof").
 */
const reproducing = () => [...common(), '--policy', 'no-cancel'];

/** `repro` on a pseudo-terminal (util-linux script): stdout and stderr both reach the "terminal", read as `out`. */
function onTty(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const cmd = [process.execPath, CLI, 'repro', ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve, reject) => {
    const p = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '', ...env }, timeout: 300_000 });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.once('error', reject);
    p.once('close', (code, signal) => resolve({ code, signal, out: out.replace(/\r\n/g, '\n'), err }));
  });
}

test('repro --expect: exit 3 when the verdict differs, 0 when it matches; piped output has no bar and no colour', async () => {
  const [differs, matches] = await Promise.all([
    runCliAsync(['repro', ...reproducing(), '--expect', 'not-reproduced'], { timeoutMs: 300_000, env: { ...process.env, NO_COLOR: '' } }),
    runCliAsync(['repro', ...common(), '--policy', 'copy-on-retransmit', '--expect', 'not-reproduced'], { timeoutMs: 300_000 }),
  ]);
  assert.equal(differs.code, 3, differs.err);
  assert.match(differs.out, /^REPRODUCED — /m);
  assert.match(differs.err, /expected not-reproduced, the verdict is reproduced/);
  // the trace of a reproduced run, in the one time base, XIDs in hex
  assert.match(differs.out, /^trace of one affected XID/m);
  assert.match(differs.out, /^ {2}tap: \d+\/\d+ at \d+\.\d{3}s \(model \d+\.\d{3}s\) "[^"]+" xid=0x[0-9a-f]{8}$/m);
  for (const r of [differs, matches]) {
    assert.ok(!r.out.includes(ESC) && !r.err.includes(ESC), 'no colour codes in a pipe');
    assert.ok(!r.err.includes(BAR), 'no progress bar in a pipe');
  }
  assert.equal(matches.code, 0, matches.err);
  assert.match(matches.out, /^not reproduced — /m);
  assert.doesNotMatch(matches.out, /trace of one affected XID/, 'a not-reproduced run prints no trace');
  assert.ok(differs.out.length > matches.out.length);
});

test('repro --expect takes reproduced or not-reproduced only (exit 2)', async () => {
  const r = await runCliAsync(['repro', '--expect', 'maybe']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--expect: reproduced or not-reproduced/);
});

test('repro on a terminal: a progress bar and a red REPRODUCED; NO_COLOR and --no-color turn colour off; --json prints one document', { skip: !hasScript && 'needs script (util-linux)' }, async () => {
  const [plain, noColorEnv, noColorFlag, json] = [
    await onTty([...reproducing(), '--expect', 'reproduced']),
    await onTty([...reproducing()], { NO_COLOR: '1' }),
    await onTty([...reproducing(), '--no-color']),
    await onTty([...reproducing(), '--json', '--expect', 'reproduced']),
  ];
  assert.equal(plain.code, 0, plain.out);
  assert.ok(plain.out.includes(BAR), 'a progress bar on the terminal');
  assert.ok(plain.out.includes(`${ESC}1;31mREPRODUCED${ESC}0m`), 'REPRODUCED in bold red');
  for (const r of [noColorEnv, noColorFlag]) {
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /REPRODUCED — /);
    assert.ok(!r.out.includes(`${ESC}1;31m`), 'no colour');
  }
  assert.equal(json.code, 0, json.out);
  assert.ok(!json.out.includes(BAR), 'no bar under --json');
  const doc = JSON.parse(json.out) as { verdict: string; expectationMet: boolean };
  assert.deepEqual([doc.verdict, doc.expectationMet], ['reproduced', true]);
});
