/**
 * loadConfig: argv (with `--config FILE` read in place) → typed ClientOptions, or ConfigErrors
 * listing every mistake as `FILE:LINE: directive: what is wrong (what was expected)`.
 *
 *   argv --readArgv/ConfigReader--> entries --Applier (directive table)--> draft --validate--> ClientOptions
 *
 * Pure: the filesystem arrives as a ConfigFs (nodeConfigFs in production, a Map in tests).
 */
import { ConfigErrors, type ConfigError, type SourcePos } from '../base/errors.ts';
import { Applier } from './apply.ts';
import { readArgv } from './argv.ts';
import { CMDLINE_FILE, type ConfigFs, type ConfigWarning, type DirectiveEntry } from './entry.ts';
import type { ClientOptions } from './options.ts';
import { ConfigReader } from './reader.ts';
import { validateOptions } from './validate.ts';

export type { ConfigFs, ConfigWarning, DirectiveEntry } from './entry.ts';
export type * from './options.ts';
export { DIRECTIVES, TOPICS } from './directives.ts';
export { describeOptions } from './redact.ts';
export { parsePushOptions, matchPullFilter } from './push.ts';
export { argvToEntries } from './argv.ts';

export interface LoadedConfig {
  readonly options: ClientOptions;
  readonly warnings: ConfigWarning[];
  readonly entries: DirectiveEntry[];
}

/** Everything one pass found: errors are returned, not thrown (for `--check`, which shows all). */
export interface CollectedConfig extends LoadedConfig {
  readonly errors: ConfigError[];
  /** Where each directive was last set. */
  readonly positions: ReadonlyMap<string, SourcePos>;
  /** The config as a whole: the first file given with --config, at line 0. */
  readonly top: SourcePos;
}

/** Errors in the order a reader meets them: by file (first seen), then line. */
export function orderErrors(errors: readonly ConfigError[]): ConfigError[] {
  const fileRank = new Map<string, number>();
  for (const e of errors) if (!fileRank.has(e.file)) fileRank.set(e.file, fileRank.size);
  return [...errors].sort((a, b) => (fileRank.get(a.file) ?? 0) - (fileRank.get(b.file) ?? 0) || a.line - b.line);
}

export function collectConfig(argv: readonly string[], fs: ConfigFs): CollectedConfig {
  const reader = new ConfigReader(fs);
  readArgv(argv, reader);
  const applier = new Applier(fs);
  applier.applyAll(reader.entries);
  const options = applier.finish(reader.connectionBlocks);
  const top = { file: reader.topFiles[0] ?? CMDLINE_FILE, line: 0 };
  const errors = [...reader.errors, ...applier.errors];
  const empty = reader.topFiles.length > 0 && !reader.entries.some((e) => e.from === 'file');
  const v = validateOptions({ options, positions: applier.positions, top, skipMissing: errors.length > 0, empty });
  errors.push(...v.errors);
  return { options, warnings: [...applier.warnings, ...v.warnings], entries: reader.entries, errors: orderErrors(errors), positions: applier.positions, top };
}

export function loadConfig(argv: readonly string[], fs: ConfigFs): LoadedConfig {
  const c = collectConfig(argv, fs);
  if (c.errors.length > 0) throw new ConfigErrors(c.errors);
  return { options: c.options, warnings: c.warnings, entries: c.entries };
}
