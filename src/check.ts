/**
 * `--check` entry points (the work is in src/check/):
 *
 *   runCheck(argv, fs, out, err)  the whole dry run: configuration, key material, scripts; every
 *                                 warning and every error printed, exit code returned
 *   renderCheck(options)          for a caller that already loaded the configuration without
 *                                 errors: checks the key material and the scripts (throwing
 *                                 ConfigErrors), and returns the report, warnings included
 *
 * Never prompts, never touches the network or the system, never prints a secret.
 */
import { ConfigErrors, type SourcePos } from './errors.ts';
import type { ClientOptions } from './config/index.ts';
import { nodeConfigFs } from './config/node-fs.ts';
import { inspectMaterial } from './check/material.ts';
import { renderReport, warningLine } from './check/run.ts';
import { inspectScripts } from './check/scripts.ts';

export { checkConfig, runCheck, type CheckResult } from './check/run.ts';

/** Where a problem without a directive position points when only the options are known. */
const NO_FILE: SourcePos = { file: '<config>', line: 0 };

export function renderCheck(o: ClientOptions, now = new Date()): string {
  const m = inspectMaterial(o, now, NO_FILE);
  const errors = [...m.errors, ...inspectScripts(o, nodeConfigFs, NO_FILE)];
  if (errors.length > 0) throw new ConfigErrors(errors);
  return renderReport(o, m.notes, m.warnings.map(warningLine));
}
