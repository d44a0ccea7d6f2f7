#!/usr/bin/env node
// Runs every compiled *.test.js under dist/test (named explicitly, so helpers in test/support are not counted).
// Usage: node scripts/run-tests.js [substring ...]  — only files whose name contains one of the substrings.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
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
// A hung test fails after 3 minutes instead of holding CI (the longest test takes about 30 s).
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=180000', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
