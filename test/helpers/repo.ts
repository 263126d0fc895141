/**
 * Where the repository is, for tests that read fixtures and vectors: found by walking up from
 * the compiled test file (dist/test/...) or from the source (test/...) to the folder that has
 * package.json and src/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function repoRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'src'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found above the test file');
    dir = up;
  }
  root = dir;
  return dir;
}

/** A JSON file under test/vectors, e.g. readVector('control', 'client_reset_v2_none.json'). */
export function readVector<T = unknown>(...path: string[]): T {
  return JSON.parse(readFileSync(join(repoRoot(), 'test', 'vectors', ...path), 'utf8')) as T;
}
