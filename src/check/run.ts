/**
 * `--check`: everything a start would catch, from the files alone, without prompting, root or
 * network. One pass collects every configuration error, every problem with the key material
 * and the scripts, and every warning; warnings are printed even when there are errors.
 *
 *   argv ─▶ collectConfig ─▶ inspectMaterial + inspectScripts ─▶ stderr: warnings, then errors
 *                                                             └▶ stdout: the report (no errors)
 *
 * Output lines are `FILE:LINE: directive: …` (LINE 0 = the config file as a whole). Exit codes as
 * docs/cli.md: 0 valid (warnings allowed), 3 configuration errors. Never prints a secret.
 */
import { ExitCode, type ConfigError } from '../base/errors.ts';
import { collectConfig, describeOptions, orderErrors, type ClientOptions, type ConfigFs, type ConfigWarning } from '../config/index.ts';
import { inspectMaterial, type Findings } from './material.ts';
import { planLines, PUSH, section } from './plan.ts';
import { inspectScripts } from './scripts.ts';
import type { DnsFacts } from '../dns/choose.ts';

export interface CheckResult {
  readonly options: ClientOptions;
  readonly errors: readonly ConfigError[];
  readonly warnings: readonly ConfigWarning[];
  readonly notes: readonly string[];
}

function samePlace(a: ConfigError, b: ConfigError): boolean {
  return a.file === b.file && a.line === b.line && a.directive === b.directive;
}

/** Each place reported once: a file the config layer could not read is not reported again by the material check. */
function merge(first: readonly ConfigError[], more: readonly ConfigError[]): ConfigError[] {
  return orderErrors([...first, ...more.filter((m) => !first.some((e) => samePlace(e, m)))]);
}

/** Runs every check `--check` makes and returns what it found (no output). */
export function checkConfig(argv: readonly string[], fs: ConfigFs, now: Date): CheckResult {
  const c = collectConfig(argv, fs);
  const material: Findings = inspectMaterial(c.options, now, c.top, c.positions);
  const scripts = inspectScripts(c.options, fs, c.top);
  return {
    options: c.options,
    errors: merge(c.errors, [...material.errors, ...scripts]),
    warnings: [...c.warnings, ...material.warnings],
    notes: material.notes,
  };
}

export function warningLine(w: ConfigWarning): string {
  return `${w.pos.file}:${w.pos.line}: ${w.directive}: warning: ${w.message}`;
}

/** The report printed when the configuration is valid. */
export function renderReport(o: ClientOptions, notes: readonly string[], warnings: readonly string[] = [], dnsFacts?: DnsFacts): string {
  return [
    'Effective configuration (secrets redacted):',
    ...describeOptions(o).map((l) => `  ${l}`),
    ...section('Key material (loaded as connecting would)', notes),
    ...planLines(o, dnsFacts),
    ...section('Warnings', warnings),
    '',
    `${PUSH} = decided by the server's PUSH_REPLY at connect time.`,
    `Configuration OK${warnings.length === 0 ? '' : ` (${warnings.length} warning${warnings.length === 1 ? '' : 's'})`}.`,
    '',
  ].join('\n');
}

/** `ovpn-ts --check …`: prints warnings and errors on `err`, the report on `out`; returns the exit code. */
export function runCheck(argv: readonly string[], fs: ConfigFs, out: NodeJS.WritableStream, err: NodeJS.WritableStream, now = new Date(), dnsFacts?: () => DnsFacts): number {
  const r = checkConfig(argv, fs, now);
  for (const w of r.warnings) err.write(`${warningLine(w)}\n`);
  if (r.errors.length > 0) {
    for (const e of r.errors) err.write(`${e.message}\n`);
    err.write(`ovpn-ts: ${r.errors.length} configuration error${r.errors.length === 1 ? '' : 's'}\n`);
    return ExitCode.CONFIG;
  }
  out.write(renderReport(r.options, r.notes, [], dnsFacts?.()));
  return ExitCode.OK;
}
