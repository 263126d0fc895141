#!/usr/bin/env node
// Runs the compiled test tiers named on the command line (unit, contract, loopback, netns)
// with node's own test runner. The contract tier (real TUN and rtnetlink adapters) and the
// netns tier need root: without it the run fails loudly instead of skipping, because CI runs
// as root and a skipped tier would hide a regression.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const tiers = process.argv.slice(2);
if ((tiers.includes('netns') || tiers.includes('contract')) && process.getuid?.() !== 0) {
  console.error('the contract and netns tiers need root (they create network namespaces): run as root, or use `npm run test:quick`');
  process.exit(2);
}
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
};
for (const tier of tiers) {
  const dir = join('dist', 'test', tier);
  if (existsSync(dir)) walk(dir);
}
if (files.length === 0) {
  console.error(`no test files found for tiers: ${tiers.join(', ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
