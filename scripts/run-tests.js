#!/usr/bin/env node
// Runs every compiled *.test.js under dist/test (named explicitly, so helpers in test/support are not counted).
// Usage: node scripts/run-tests.js [substring ...]  — only files whose name contains one of the substrings.
// Every test removes what it creates: the run gets a fresh TMPDIR and XDG_STATE_HOME (where a server started
// without --state-dir keeps its handle secret), and anything left in either when it ends fails the run, by name.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', 'dist', 'test');
if (!fs.existsSync(root)) {
  console.error('dist/test not found: run `npm run build` first');
  process.exit(2);
}
const filters = process.argv.slice(2);
const files = fs
  .readdirSync(root)
  .filter((f) => f.endsWith('.test.js'))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort()
  .map((f) => path.join(root, f));
if (files.length === 0) {
  console.error('no test files matched');
  process.exit(2);
}
// A hung test file fails after 7 minutes instead of holding CI. Node's runner applies --test-timeout to each file
// as a whole, and a test's own { timeout } cannot lengthen that: the longest file, test/linux-nfsd (a real nfsd under
// QEMU TCG; linux-2008's reproduction may need three seeds, each a full guest run of about 40 s alone), took 110 s
// alone with two seeds, and more than 3 minutes (the old limit) in one fresh-clone run beside other files
// (2026-12-07); test/readme-components gives its test 7 minutes.
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'nfst-suite-'));
const dirs = { TMPDIR: path.join(scratch, 'tmp'), XDG_STATE_HOME: path.join(scratch, 'state') };
// Modes as on a real system: tests that act as other users (setpriv) reach their files under TMPDIR as under /tmp.
fs.chmodSync(scratch, 0o755);
fs.mkdirSync(dirs.TMPDIR);
fs.chmodSync(dirs.TMPDIR, 0o1777);
fs.mkdirSync(dirs.XDG_STATE_HOME, { mode: 0o700 });
const env = { ...process.env, ...dirs };
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=420000', ...files], { stdio: 'inherit', env });
// The state directory nests (nfs-testbed/<export hash>): name what is left two levels down.
const leftovers = (dir, depth) =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return depth > 1 && e.isDirectory() && fs.readdirSync(p).length > 0 ? leftovers(p, depth - 1) : [p];
  });
const left = [...leftovers(dirs.TMPDIR, 1), ...leftovers(dirs.XDG_STATE_HOME, 2)];
fs.rmSync(scratch, { recursive: true, force: true });
if (left.length > 0) {
  console.error(`tests left ${left.length} path(s) behind (each test must remove what it creates):`);
  for (const p of left) console.error(`  ${path.relative(scratch, p)}`);
  process.exit(r.status || 1);
}
process.exit(r.status ?? 1);
