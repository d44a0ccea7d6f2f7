#!/usr/bin/env node
// Rewrites the README's option tables (the blocks between `<!-- synopsis NAME -->` and `<!-- /synopsis -->`) from
// the commander definitions, so the README lists exactly what --help lists. Usage: npm run readme:synopses
// (builds first). test/readme-synopses.test.ts fails when README.md and --help drift apart.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist', 'cli');
if (!fs.existsSync(path.join(dist, 'help.js'))) {
  console.error('dist/cli not found: run `npm run build` first (or `npm run readme:synopses`, which builds)');
  process.exit(2);
}
const { buildProgram } = require(path.join(dist, 'main.js'));
const { updateSynopses } = require(path.join(dist, 'help.js'));

const file = path.join(__dirname, '..', 'README.md');
const r = updateSynopses(fs.readFileSync(file, 'utf8'), buildProgram());
if (r.unknown.length) {
  console.error(`README.md has option tables for commands that do not exist: ${r.unknown.join(', ')} (remove those blocks)`);
  process.exit(1);
}
if (r.changed.length) fs.writeFileSync(file, r.text);
if (r.missing.length) {
  console.error(
    `README.md has no option table for: ${r.missing.join(', ')}. Put\n  <!-- synopsis NAME -->\n  <!-- /synopsis -->\n` +
      'in the section that documents each, then run `npm run readme:synopses` again.',
  );
  process.exit(1);
}
console.log(`README.md: ${r.changed.length ? `regenerated the option tables of ${r.changed.join(', ')}` : 'option tables up to date'}`);
