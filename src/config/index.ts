/**
 * loadConfig: argv (with `--config FILE` read in place) → typed ClientOptions, or ConfigErrors
 * listing every mistake as `FILE:LINE: directive: what is wrong (what was expected)`.
 *
 *   argv --readArgv/ConfigReader--> entries --Applier (directive table)--> draft --validate--> ClientOptions
 *
 * Pure: the filesystem arrives as a ConfigFs (nodeConfigFs in production, a Map in tests).
 */
import { ConfigErrors, type ConfigError } from '../base/errors.ts';
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

/** Errors in the order a reader meets them: by file (first seen), then line. */
function ordered(errors: readonly ConfigError[]): ConfigError[] {
  const fileRank = new Map<string, number>();
  for (const e of errors) if (!fileRank.has(e.file)) fileRank.set(e.file, fileRank.size);
  return [...errors].sort((a, b) => (fileRank.get(a.file) ?? 0) - (fileRank.get(b.file) ?? 0) || a.line - b.line);
}

export function loadConfig(argv: readonly string[], fs: ConfigFs): LoadedConfig {
  const reader = new ConfigReader(fs);
  readArgv(argv, reader);
  const applier = new Applier(fs);
  applier.applyAll(reader.entries);
  const options = applier.finish(reader.connectionBlocks);
  const firstFile = reader.entries.find((e) => e.from === 'file')?.pos.file ?? reader.errors[0]?.file ?? CMDLINE_FILE;
  const errors = [...reader.errors, ...applier.errors];
  const warnings = [...applier.warnings];
  {
    const skipMissing = errors.length > 0;
    const v = validateOptions({ options, positions: applier.positions, top: { file: firstFile, line: 0 }, skipMissing });
    errors.push(...v.errors);
    warnings.push(...v.warnings);
  }
  if (errors.length > 0) throw new ConfigErrors(ordered(errors));
  return { options, warnings, entries: reader.entries };
}
