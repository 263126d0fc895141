/**
 * Reads config files into DirectiveEntry[] with OpenVPN 2.6 `read_config_file()` semantics:
 * UTF-8 BOM skipped, CRLF accepted, `--name` accepted for `name`, inline blocks `<x>…</x>`,
 * `<connection>` blocks flattened with a `connection` index, `config FILE` expanded in place,
 * `cd DIR` tracked as reader state (never process.chdir). Files come through the ConfigFs port.
 *
 *   bytes --binary/size checks--> text --lines--> tokenizeLine --> entry | inline block | include
 *
 * Never throws for config mistakes: they are collected in `errors` (all of them, file:line each).
 * Limits (stricter than OpenVPN, which has none but its line buffer): see the constants below.
 */
import { ConfigError, type SourcePos } from '../base/errors.ts';
import { CMDLINE_FILE, type ConfigFs, type DirectiveEntry, type EntrySource } from './entry.ts';
import { tokenizeLine } from './lexer.ts';
import { checkDirectory, dirOf, nextToConfigHint, resolvePath, tryRead } from './paths.ts';

/** options.h OPTION_LINE_SIZE: OpenVPN reads directive lines through a 256-byte buffer. */
export const OPTION_LINE_SIZE = 256;
/** options.c read_config_file `max_recursive_levels`. */
export const MAX_INCLUDE_DEPTH = 10;
/** Our own limits: a real profile with inline certificates and a CRL is far below these. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
export const MAX_DIRECTIVES = 10_000;

const UTF8_BOM = '\uFEFF';
const decoder = new TextDecoder('utf-8', { fatal: true });

export class ConfigReader {
  readonly entries: DirectiveEntry[] = [];
  readonly errors: ConfigError[] = [];
  /** Position of each `<connection>` opener, by connection index. */
  readonly connectionBlocks: SourcePos[] = [];
  /** The config files given on the command line (`--config`), in order, whether readable or not. */
  readonly topFiles: string[] = [];
  #cwd: string;
  readonly #fs: ConfigFs;
  readonly #stack: string[] = [];
  #limitHit = false;

  constructor(fs: ConfigFs, cwd: string = fs.cwd()) {
    this.#fs = fs;
    this.#cwd = cwd;
  }

  get cwd(): string {
    return this.#cwd;
  }

  /** Adds one directive; `config` and `cd` act immediately (outside `<connection>` blocks). */
  add(entry: Omit<DirectiveEntry, 'cwd'>): void {
    if (this.entries.length >= MAX_DIRECTIVES) {
      if (!this.#limitHit) this.#error('CONFIG_LIMIT', entry.pos, entry.name, `too many directives (at most ${MAX_DIRECTIVES})`);
      this.#limitHit = true;
      return;
    }
    const full: DirectiveEntry = { ...entry, cwd: this.#cwd };
    if (entry.connection === undefined && entry.inline === undefined && entry.args.length === 1) {
      const arg = entry.args[0] ?? '';
      if (entry.name === 'config') return this.include(arg, entry.pos, entry.configDir);
      if (entry.name === 'cd') return this.#cd(full, arg);
    }
    this.entries.push(full);
  }

  /** Expands `config FILE` (or the top-level file) in place. */
  include(name: string, at: SourcePos | undefined, configDir: string | undefined): void {
    const file = resolvePath(this.#cwd, name);
    if (this.#stack.length === 0) this.topFiles.push(file);
    const where = at ?? { file: CMDLINE_FILE, line: 0 };
    if (this.#stack.includes(file)) {
      const chain = [...this.#stack.slice(this.#stack.indexOf(file)), file].join(' -> ');
      return this.#error('CONFIG_INVALID', where, 'config', `include loop: ${chain}`);
    }
    if (this.#stack.length >= MAX_INCLUDE_DEPTH) {
      return this.#error('CONFIG_LIMIT', where, 'config', `maximum include depth (${MAX_INCLUDE_DEPTH}) exceeded when including ${file}`);
    }
    const read = tryRead(this.#fs, file);
    if (!read.ok) {
      return this.#error('CONFIG_FILE', where, 'config', read.message + nextToConfigHint(this.#fs, name, this.#cwd, configDir));
    }
    const text = this.#decode(read.bytes, file);
    if (text === undefined) return;
    this.#stack.push(file);
    this.#readLines(text.split('\n'), file, 0, undefined);
    this.#stack.pop();
  }

  #cd(entry: DirectiveEntry, arg: string): void {
    const dir = resolvePath(this.#cwd, arg);
    const problem = checkDirectory(this.#fs, dir);
    if (problem !== undefined) return this.#error('CONFIG_FILE', entry.pos, 'cd', problem);
    this.#cwd = dir;
    this.entries.push({ ...entry, args: [dir] });
  }

  #decode(bytes: Uint8Array, file: string): string | undefined {
    const nul = bytes.indexOf(0);
    if (nul >= 0) {
      this.#error('CONFIG_SYNTAX', { file, line: lineAt(bytes, nul) }, undefined, 'binary data (NUL byte): this is not an OpenVPN text config');
      return undefined;
    }
    if (bytes.byteLength > MAX_CONFIG_BYTES) {
      this.#error('CONFIG_LIMIT', { file, line: 1 }, undefined, `file is too large (${bytes.byteLength} bytes, at most ${MAX_CONFIG_BYTES})`);
      return undefined;
    }
    try {
      const text = decoder.decode(bytes);
      return text.startsWith(UTF8_BOM) ? text.slice(1) : text;
    } catch {
      this.#error('CONFIG_SYNTAX', { file, line: 1 }, undefined, 'not valid UTF-8 text: this is not an OpenVPN text config');
      return undefined;
    }
  }

  /** Reads `lines` (a file, or a connection block body whose first line is at `base + 1`). */
  #readLines(lines: readonly string[], file: string, base: number, connection: number | undefined): void {
    const from: EntrySource = 'file';
    const configDir = dirOf(file);
    for (let i = 0; i < lines.length; i++) {
      const raw = stripCr(lines[i] ?? '');
      const pos = { file, line: base + i + 1 };
      if (raw.length > OPTION_LINE_SIZE && !isCommentOrBlank(raw)) {
        this.#error('CONFIG_LIMIT', pos, undefined, `line is too long (${raw.length} characters, at most ${OPTION_LINE_SIZE} as in OpenVPN)`);
        continue;
      }
      const lex = tokenizeLine(raw, pos);
      if (!lex.ok) {
        this.errors.push(lex.error);
        continue;
      }
      const [first, ...args] = lex.tokens;
      if (first === undefined) continue;
      const tag = inlineTag(first, args.length);
      if (tag === undefined) {
        this.add({ name: stripDoubleDash(first), args, pos, from, configDir, ...(connection === undefined ? {} : { connection }) });
        continue;
      }
      if (tag.startsWith('/')) {
        this.#error('CONFIG_SYNTAX', pos, tag.slice(1), `closing tag <${tag}> without an opening <${tag.slice(1)}>`);
        continue;
      }
      const end = findCloseTag(lines, i + 1, tag);
      if (end < 0) {
        this.#error('CONFIG_SYNTAX', pos, tag, `inline block is not terminated (expected </${tag}>${strayTagHint(lines, i + 1, base)})`);
        return;
      }
      const body = lines.slice(i + 1, end).map(stripCr);
      if (tag === 'connection' && connection === undefined) {
        this.connectionBlocks.push(pos);
        this.#readLines(body, file, base + i + 1, this.connectionBlocks.length - 1);
      } else {
        const text = body.length === 0 ? '' : body.join('\n') + '\n';
        this.add({ name: tag, args: [], inline: text, pos, from, configDir, ...(connection === undefined ? {} : { connection }) });
      }
      i = end;
    }
  }

  #error(code: ConfigError['code'], at: SourcePos, directive: string | undefined, detail: string): void {
    this.errors.push(new ConfigError(code, at, directive, detail));
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

function isCommentOrBlank(line: string): boolean {
  const t = line.trimStart();
  return t === '' || t.startsWith('#') || t.startsWith(';');
}

/** options.c bypass_doubledash: `--name` in a file means `name`. */
export function stripDoubleDash(name: string): string {
  return name.length >= 3 && name.startsWith('--') ? name.slice(2) : name;
}

/** options.c check_inline_file: a line holding only `<tag>` opens an inline block. */
function inlineTag(first: string, argCount: number): string | undefined {
  if (argCount !== 0 || first.length < 3 || !first.startsWith('<') || !first.endsWith('>')) return undefined;
  return first.slice(1, -1);
}

/** options.c read_inline_file: the first line whose text (after leading blanks) starts with `</tag>`. */
function findCloseTag(lines: readonly string[], from: number, tag: string): number {
  const close = `</${tag}>`;
  for (let j = from; j < lines.length; j++) if ((lines[j] ?? '').trimStart().startsWith(close)) return j;
  return -1;
}

function strayTagHint(lines: readonly string[], from: number, base: number): string {
  for (let j = from; j < lines.length; j++) {
    const m = /^\s*<([a-z0-9-]+)>\s*$/.exec(lines[j] ?? '');
    if (m) return `; found <${m[1] ?? ''}> at line ${base + j + 1} first`;
  }
  return ' before the end of the file';
}

function lineAt(bytes: Uint8Array, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (bytes[i] === 0x0a) line++;
  return line;
}
