// Issue 21: `nfs-testbed` must run as a user invokes it after `npm ci` (npx), after `npm link`, and from what
// `npm pack` ships, which must be what a user runs and nothing else (no compiled tests, benches, source maps).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI } from './support/cli';

const ROOT = path.join(__dirname, '..', '..');
const DIST = path.join(ROOT, 'dist');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

function run(cmd: string, args: string[], o: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, cwd: o.cwd ?? ROOT, env: o.env ?? process.env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('the built bin has its shebang and executable bit, and runs as a program', () => {
  assert.equal(fs.readFileSync(CLI, 'utf8').split('\n')[0], '#!/usr/bin/env node');
  assert.ok((fs.statSync(CLI).mode & 0o111) !== 0, 'dist/cli/main.js is executable (postbuild)');
  const r = run(CLI, ['--version']);
  assert.deepEqual([r.code, r.out.trim()], [0, VERSION], r.err);
});

test('npx nfs-testbed runs the project bin', () => {
  // `--` keeps npx from reading the bin's options as its own (`npx nfs-testbed --version` prints npm's version).
  const r = run('npx', ['--no', '--', 'nfs-testbed', '--version']);
  assert.deepEqual([r.code, r.out.trim()], [0, VERSION], r.err);
});

test('npm link puts a working nfs-testbed on the PATH (into a throwaway prefix)', (t) => {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-link-'));
  t.after(() => fs.rmSync(prefix, { recursive: true, force: true }));
  const env = { ...process.env, npm_config_prefix: prefix, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  const link = run('npm', ['link', '--ignore-scripts'], { env });
  assert.equal(link.code, 0, link.err);
  const r = run(path.join(prefix, 'bin', 'nfs-testbed'), ['--version'], { cwd: os.tmpdir() });
  assert.deepEqual([r.code, r.out.trim()], [0, VERSION], r.err);
});

/** dist/cli/main.js and every module it loads: require('./..') and worker files named next to __dirname. */
function runtimeClosure(): Set<string> {
  const seen = new Set<string>();
  const todo = [path.relative(ROOT, CLI)];
  while (todo.length) {
    const rel = todo.pop()!;
    if (seen.has(rel)) continue;
    seen.add(rel);
    const src = fs.readFileSync(path.join(ROOT, rel), 'utf8');
    const dir = path.dirname(rel);
    for (const m of src.matchAll(/require\(["'](\.{1,2}\/[^"']+)["']\)/g)) {
      const target = path.normalize(path.join(dir, m[1]));
      if (target.endsWith('.json')) seen.add(target);
      else todo.push(fs.existsSync(path.join(ROOT, target + '.js')) ? target + '.js' : path.join(target, 'index.js'));
    }
    for (const m of src.matchAll(/join\(__dirname, '([^']+\.js)'\)/g)) todo.push(path.normalize(path.join(dir, m[1])));
  }
  return seen;
}

test('npm pack ships what a user runs: every module the CLI loads, the guest sources, no tests, benches or maps', () => {
  const r = run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']);
  assert.equal(r.code, 0, r.err);
  const files = new Map((JSON.parse(r.out)[0].files as Array<{ path: string; mode: number }>).map((f) => [f.path, f.mode]));
  for (const f of files.keys()) {
    assert.doesNotMatch(f, /^dist\/(test|bench|testing|lab\/fuzz)\/|\.map$|\.d\.ts$|tsbuildinfo|^(test|bench|testing|scripts)\//, `${f} is not something a user runs`);
  }
  const closure = runtimeClosure();
  // the worker threads and package.json are found too, or the walk is not looking
  for (const f of ['package.json', 'dist/lab/matrix-worker.js', 'dist/server/verify-worker.js']) assert.ok(closure.has(f), `closure misses ${f}`);
  const missing = [...closure].filter((f) => !files.has(f));
  assert.deepEqual(missing, [], 'modules the CLI loads but the package leaves out');
  for (const f of fs.readdirSync(path.join(ROOT, 'lab', 'linux', 'guest'))) assert.ok(files.has(`lab/linux/guest/${f}`), `lab/linux/guest/${f}`);
  assert.equal((files.get('dist/cli/main.js') ?? 0) & 0o111, 0o111, 'the bin is packed executable');
  assert.ok(files.has('README.md') && files.has('package.json'));
  assert.ok(files.size < 300, `${files.size} files`);
  assert.ok(fs.existsSync(DIST));
});
