#!/usr/bin/env node
// `npm run fuzz [-- --inputs N --server-inputs M --seed S --targets a,b --json]`: fuzz the decoders (default 1e6
// inputs) and a running server (default 20000). Exit 0 when nothing was found, 3 otherwise, 2 on bad usage.
'use strict';
const path = require('node:path');

function parse(argv) {
  const o = { seed: 1, decoderInputs: 1_000_000, serverInputs: 20_000, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const num = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) usage(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--inputs') o.decoderInputs = num();
    else if (a === '--server-inputs') o.serverInputs = num();
    else if (a === '--seed') o.seed = num();
    else if (a === '--targets') o.targets = String(argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--json') o.json = true;
    else usage(`unknown option ${a}`);
  }
  return o;
}

function usage(msg) {
  console.error(`fuzz: ${msg}\nusage: npm run fuzz -- [--inputs N] [--server-inputs M] [--seed S] [--targets a,b] [--json]`);
  process.exit(2);
}

const o = parse(process.argv.slice(2));
const { runCampaign, formatCampaign } = require(path.join(__dirname, '..', 'dist', 'lab', 'fuzz', 'campaign.js'));
runCampaign({ ...o, progress: (l) => console.error(l) }).then(
  (c) => {
    console.log(o.json ? JSON.stringify(c) : formatCampaign(c));
    process.exitCode = c.ok ? 0 : 3;
  },
  (e) => {
    console.error(`fuzz: ${e && e.stack ? e.stack : e}`);
    process.exitCode = e && e.code === 'FUZZ_TARGET' ? 2 : 1;
  },
);
