/**
 * What the build's layering checks cannot see. The build already refuses (npm run build):
 * a node: or npm import outside the adapter list, any import from outside in src/core and
 * src/base (dependency-cruiser, .dependency-cruiser.cjs, dynamic and type-only imports
 * included), and process, Buffer, timers or node: modules in the core's own compile
 * (tsconfig.core.json has no Node types). ES itself still has a clock and a random source:
 * this test keeps them out of the core, and keeps the adapter list from rotting.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../helpers/repo.ts';

const ROOT = repoRoot();

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const p = join(dir, name);
    if (statSync(join(ROOT, p)).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

/** Source text without comments, so prose may mention what code may not do. */
function code(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

test('the core reads no clock and draws no randomness (Date, performance, Math.random): `now` and Random come in as inputs', () => {
  const offenders: string[] = [];
  for (const f of [...sourceFiles('src/core'), ...sourceFiles('src/base')]) {
    const m = /\bnew Date\b|\bDate\.now\b|\bperformance\.|\bMath\.random\b/.exec(code(f));
    if (m !== null) offenders.push(`${relative(ROOT, join(ROOT, f))}: ${m[0]}`);
  }
  assert.deepEqual(offenders, []);
});

test('every adapter pattern in .dependency-cruiser.cjs matches a file (the list does not rot)', () => {
  const cfg = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as { forbidden: { from: { pathNot?: string[] | string } }[] };
  const patterns = cfg.forbidden[0]?.from.pathNot;
  assert.ok(Array.isArray(patterns) && patterns.length > 0);
  const files = sourceFiles('src');
  for (const p of patterns) assert.ok(files.some((f) => new RegExp(p).test(f)), `${p} matches no file in src/`);
});
