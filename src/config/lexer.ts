/**
 * Tokenizes ONE logical config line exactly like OpenVPN 2.6 `parse_line()` (options.c).
 * Pure: no I/O. Never throws; returns tokens or one positioned error.
 *
 *   INITIAL --non-space--> UNQUOTED --space--> emit
 *      |  '"' --> DQUOTED --'"'--> emit          backslash escapes \\ \" and \<space>
 *      |  "'" --> SQUOTED --"'"--> emit          (no escapes inside single quotes)
 *      `- '#' or ';' at a token start --> rest of line is a comment
 *
 * Quirks kept from OpenVPN: `"a"b` gives two tokens; a comment only starts at a token boundary
 * (`x#y` is one token); a backslash before anything other than `\`, `"` or white space is an error.
 * Stricter than OpenVPN: more than MAX_PARMS tokens is an error (OpenVPN silently drops them).
 */
import { ConfigError, type SourcePos } from '../base/errors.ts';

/** options.h MAX_PARMS: a directive plus at most 15 arguments. */
export const MAX_PARMS = 16;
/** options.h OPTION_PARM_SIZE: longest single token (counted here in UTF-16 units). */
export const OPTION_PARM_SIZE = 256;

export type LexResult =
  | { readonly ok: true; readonly tokens: readonly string[] }
  | { readonly ok: false; readonly error: ConfigError };

const State = { INITIAL: 0, UNQUOTED: 1, DQUOTED: 2, SQUOTED: 3 } as const;
type State = (typeof State)[keyof typeof State];

/** OpenVPN's `space()`: NUL or C isspace(). */
function isSpace(ch: string): boolean {
  return ch === '' || ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\v' || ch === '\f';
}

function fail(pos: SourcePos, detail: string): LexResult {
  return { ok: false, error: new ConfigError('CONFIG_SYNTAX', pos, undefined, detail) };
}

export function tokenizeLine(line: string, pos: SourcePos): LexResult {
  const tokens: string[] = [];
  let state: State = State.INITIAL;
  let backslash = false;
  let parm = '';
  for (let i = 0; i <= line.length; i++) {
    const ch = i < line.length ? line.charAt(i) : '';
    if (!backslash && ch === '\\' && state !== State.SQUOTED) {
      backslash = true;
      continue;
    }
    let out = '';
    let done = false;
    if (state === State.INITIAL) {
      if (!isSpace(ch)) {
        if (ch === '#' || ch === ';') break;
        if (!backslash && ch === '"') state = State.DQUOTED;
        else if (!backslash && ch === "'") state = State.SQUOTED;
        else {
          out = ch;
          state = State.UNQUOTED;
        }
      }
    } else if (state === State.UNQUOTED) {
      if (!backslash && isSpace(ch)) done = true;
      else out = ch;
    } else if (state === State.DQUOTED) {
      if (!backslash && ch === '"') done = true;
      else out = ch;
    } else if (ch === "'") done = true;
    else out = ch;

    if (backslash && out !== '' && !(out === '\\' || out === '"' || isSpace(out))) {
      return fail(pos, `bad backslash escape '\\${out}' (only \\\\, \\" and \\<space> are escapes; write Windows paths with double backslashes)`);
    }
    backslash = false;
    if (out !== '') {
      if (parm.length >= OPTION_PARM_SIZE) {
        return fail(pos, `parameter is too long (at most ${OPTION_PARM_SIZE} bytes)`);
      }
      parm += out;
    }
    if (done) {
      if (tokens.length >= MAX_PARMS) {
        return fail(pos, `too many parameters on one line (at most ${MAX_PARMS - 1} after the directive)`);
      }
      tokens.push(parm);
      parm = '';
      state = State.INITIAL;
    }
  }
  if (state === State.DQUOTED) return fail(pos, 'no closing quotation (")');
  if (state === State.SQUOTED) return fail(pos, "no closing single quotation (')");
  if (state !== State.INITIAL) return fail(pos, 'line ends with a backslash');
  return { ok: true, tokens };
}
