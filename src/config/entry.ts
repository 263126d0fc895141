/**
 * Shared shapes of the config layer: the filesystem port, one parsed directive (`DirectiveEntry`)
 * and a warning. Pure types only; nothing here does I/O.
 *
 *   file / argv / push text --(lexer, reader, argv)--> DirectiveEntry[] --(apply)--> ClientOptions
 */
import type { SourcePos } from '../base/errors.ts';

/** The filesystem as the config layer sees it. `readFile` throws an Error with `.code` (ENOENT, EACCES, EISDIR). */
export interface ConfigFs {
  readFile(path: string): Uint8Array;
  /** The process working directory at start; `cd` is tracked by the reader, never by process.chdir. */
  cwd(): string;
  /**
   * Throws an Error with `.code` (ENOENT, EACCES, ...) when `path` cannot be executed, as
   * access(X_OK) (OpenVPN's check_cmd_access). Optional: only `--check` probes scripts.
   */
  probeExecutable?(path: string): void;
  chdir?: never;
}

export type EntrySource = 'file' | 'cmdline' | 'push';

export interface DirectiveEntry {
  readonly name: string;
  readonly args: readonly string[];
  /** Body of an inline block `<name>…</name>` (LF line endings), in place of a file argument. */
  readonly inline?: string;
  readonly pos: SourcePos;
  readonly from: EntrySource;
  /** Index of the `<connection>` block the entry came from, if any. */
  readonly connection?: number;
  /** Directory relative file names resolve against (the working directory as changed by `cd`). */
  readonly cwd: string;
  /** Directory of the config file the entry came from, for "file exists next to the config" hints. */
  readonly configDir?: string;
}

export interface ConfigWarning {
  readonly pos: SourcePos;
  readonly directive: string;
  readonly message: string;
}

/** Positions used for entries that do not come from a file (matching the brief's conventions). */
export const CMDLINE_FILE = '<command line>';
export const PUSH_FILE = '<push>';
