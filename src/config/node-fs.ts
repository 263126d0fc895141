/**
 * The real ConfigFs: the only file in src/config allowed to touch node:fs or the process cwd.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import type { ConfigFs } from './entry.ts';

export const nodeConfigFs: ConfigFs = {
  readFile: (path) => readFileSync(path),
  cwd: () => process.cwd(),
  probeExecutable: (path) => accessSync(path, constants.X_OK),
};
