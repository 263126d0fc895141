/**
 * OpenVPN command-line semantics (options.c parse_argv): `--name arg arg --name2 …`. Each `--x`
 * starts a directive and the following words not starting with `--` are its arguments;
 * `--config FILE` is read IN PLACE (it may repeat); a lone non-option word means `--config WORD`.
 * Later entries override earlier ones when applied. Pure: files come through ConfigFs.
 */
import { ConfigError, ConfigErrors } from '../base/errors.ts';
import { CMDLINE_FILE, type ConfigFs, type DirectiveEntry } from './entry.ts';
import { MAX_PARMS } from './lexer.ts';
import { ConfigReader } from './reader.ts';

/** Feeds argv into `reader` (which expands --config and tracks --cd). */
export function readArgv(argv: readonly string[], reader: ConfigReader): void {
  const only = argv[0];
  if (argv.length === 1 && only !== undefined && !only.startsWith('--')) {
    reader.include(only, { file: CMDLINE_FILE, line: 0 }, undefined);
    return;
  }
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? '';
    const pos = { file: CMDLINE_FILE, line: i };
    if (!word.startsWith('--') || word.length < 3) {
      reader.errors.push(
        new ConfigError('CONFIG_SYNTAX', pos, undefined, `"${word}" is not an option (expected --name; arguments follow their option)`),
      );
      continue;
    }
    const args: string[] = [];
    while (i + 1 < argv.length && !(argv[i + 1] ?? '').startsWith('--') && args.length < MAX_PARMS - 1) {
      args.push(argv[++i] ?? '');
    }
    reader.add({ name: word.slice(2), args, pos, from: 'cmdline' });
  }
}

/** argv → entries, `--config` files expanded in place. Throws ConfigErrors listing every mistake. */
export function argvToEntries(argv: readonly string[], fs: ConfigFs): DirectiveEntry[] {
  const reader = new ConfigReader(fs);
  readArgv(argv, reader);
  if (reader.errors.length > 0) throw new ConfigErrors(reader.errors);
  return reader.entries;
}
