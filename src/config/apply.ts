/**
 * Applies DirectiveEntry[] to an options draft through THE directive table, OpenVPN's way:
 * in order, later wins, `setenv opt X` and `ignore-unknown-option` make unknown X a warning,
 * `<connection>` blocks start from a copy of the global connection settings seen so far.
 * Collects every error (file:line each) instead of stopping at the first. A file that cannot be
 * read is an error only if its directive is not set again later (OpenVPN uses the final value:
 * `ca ca.crt` followed by `<ca>…</ca>` never opens ca.crt). Pure.
 *
 *   entries --(lookup, where/arity/inline/connection checks)--> spec.apply(ctx) --> Draft<ClientOptions>
 */
import { ConfigError, type ConfigCode, type SourcePos } from '../base/errors.ts';
import { ArgError } from './args.ts';
import { DIRECTIVES, INLINE_TAGS } from './directives.ts';
import type { ConfigFs, ConfigWarning, DirectiveEntry } from './entry.ts';
import { defaultConnection, defaultOptions, type ClientOptions, type ConnectionEntry, type Draft, type FileRef } from './options.ts';
import { nextToConfigHint, resolvePath, tryRead } from './paths.ts';
import type { ApplyCtx, DirectiveSpec } from './spec.ts';

export interface Applied {
  readonly options: Draft<ClientOptions>;
  readonly errors: ConfigError[];
  readonly warnings: ConfigWarning[];
  /** Where each directive was last set: cross-option checks point there. */
  readonly positions: Map<string, SourcePos>;
}

interface RemoteLine {
  host: string;
  port: number | undefined;
  proto: { proto: 'udp' | 'tcp'; af: 'any' | 'inet' | 'inet6' } | undefined;
}

interface Block {
  ce: Draft<ConnectionEntry>;
  remotes: number;
  pos: SourcePos;
}

const PLACE_TEXT = { file: 'in a config file', cmdline: 'on the command line', push: 'in a pushed option' } as const;

function clone<T>(v: T): T {
  return structuredClone(v);
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] ?? 0;
      row[j] = Math.min(cur + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] ?? 0;
}

export function suggest(name: string): string {
  let best: string | undefined;
  let bestD = 3;
  for (const known of DIRECTIVES.keys()) {
    const d = levenshtein(name, known);
    if (d < bestD) [best, bestD] = [known, d];
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/** Connection-level, yet reaching blocks wherever they appear (see inheritControlWrap). */
const CONTROL_WRAP = new Set(['tls-auth', 'tls-crypt', 'tls-crypt-v2', 'key-direction']);

/**
 * options.c options_postprocess_mutate_ce: a <connection> block without its own tls-auth,
 * tls-crypt or tls-crypt-v2 takes the global one (with key-direction), even when it comes after
 * the blocks, as in Access Server profiles that end with <tls-auth>.
 */
function inheritControlWrap(ce: Draft<ConnectionEntry>, global: Draft<ConnectionEntry>): void {
  if (ce.tlsAuth !== undefined || ce.tlsCrypt !== undefined || ce.tlsCryptV2 !== undefined) return;
  ce.tlsAuth = global.tlsAuth;
  ce.keyDirection = global.keyDirection;
  ce.tlsCrypt = global.tlsCrypt;
  ce.tlsCryptV2 = global.tlsCryptV2;
}

export class Applier {
  readonly o: Draft<ClientOptions>;
  readonly errors: ConfigError[] = [];
  readonly warnings: ConfigWarning[] = [];
  readonly positions = new Map<string, SourcePos>();
  /** Connection settings outside blocks: the template for remotes and for each <connection>. */
  readonly globalCe: Draft<ConnectionEntry>;
  readonly #fs: ConfigFs;
  readonly #remotes: RemoteLine[] = [];
  readonly #blocks = new Map<number, Block>();
  readonly #inlineSeen = new Map<string, SourcePos>();
  /** Unreadable files, by directive (and <connection> block): an error unless set again later. */
  readonly #unreadable = new Map<string, ConfigError>();
  #firstRemotePos: SourcePos | undefined;

  constructor(fs: ConfigFs, base: Draft<ClientOptions> = defaultOptions(), globalCe: Draft<ConnectionEntry> = defaultConnection()) {
    this.#fs = fs;
    this.o = base;
    this.globalCe = globalCe;
  }

  applyAll(entries: readonly DirectiveEntry[]): void {
    for (const e of entries) this.apply(e);
  }

  /**
   * Applies one entry. `setenv opt X …` applies X but turns any problem with it into a warning
   * (options.c: msglevel_fc = M_WARN), so configs stay usable with older and newer clients.
   */
  apply(raw: DirectiveEntry): void {
    if (raw.name === 'setenv' && raw.args[0] === 'opt' && raw.from !== 'push') {
      if (raw.args.length < 2) return this.error('CONFIG_SYNTAX', raw, 'setenv opt needs a directive after it');
      const before = this.errors.length;
      const entry = { ...raw, name: raw.args[1] ?? '', args: raw.args.slice(2) };
      this.applyOne(entry, true);
      const unreadable = this.#unreadable.get(overrideKey(entry));
      const tolerated = unreadable?.line === raw.pos.line && unreadable.file === raw.pos.file ? [unreadable] : [];
      if (tolerated.length > 0) this.#unreadable.delete(overrideKey(entry));
      for (const e of [...this.errors.splice(before), ...tolerated]) this.warnAt({ file: e.file, line: e.line }, e.directive ?? raw.name, `${e.detail} (ignored: setenv opt)`);
      return;
    }
    this.applyOne(raw, false);
  }

  private applyOne(entry: DirectiveEntry, tolerant: boolean): void {
    const spec = DIRECTIVES.get(entry.name);
    if (spec === undefined) return this.unknown(entry, tolerant);
    const problem = this.placement(spec, entry);
    if (problem !== undefined) return this.error('CONFIG_INVALID', entry, problem);
    const argc = entry.args.length + (entry.inline === undefined ? 0 : 1);
    if (argc < spec.minArgs || argc > spec.maxArgs) return this.error('CONFIG_SYNTAX', entry, arityText(spec, argc));
    if (spec.status === 'rejected') return this.error('CONFIG_UNSUPPORTED', entry, `not supported: ${spec.reason ?? ''}`);
    if (spec.status === 'ignored') return this.warn(entry, `ignored: ${spec.reason ?? ''}`);
    if (entry.inline !== undefined && !this.firstInline(entry)) return;
    if (spec.status === 'parsed') this.warn(entry, `not acted on yet: ${spec.reason ?? ''}`);
    this.run(spec, entry);
  }

  #ctx(entry: DirectiveEntry, ce: Draft<ConnectionEntry>, block: Block | undefined): ApplyCtx {
    return {
      o: this.o,
      ce,
      inConnectionBlock: block !== undefined,
      entry,
      fileRef: (arg) => this.fileRef(entry, arg),
      resolve: (name) => resolvePath(entry.cwd, name),
      addRemote: (host, port, proto) => {
        if (block !== undefined) {
          block.remotes++;
          ce.remote = host;
          if (port !== undefined) ce.remotePort = port;
          if (proto !== undefined) [ce.proto, ce.af] = [proto.proto, proto.af];
        } else {
          this.#firstRemotePos ??= entry.pos;
          this.#remotes.push({ host, port, proto });
        }
      },
      warn: (message) => this.warn(entry, message),
    };
  }

  private run(spec: DirectiveSpec, entry: DirectiveEntry): void {
    const block = this.block(entry);
    if (block === undefined && spec.connection && this.#blocks.size > 0 && entry.from !== 'push' && !CONTROL_WRAP.has(entry.name)) {
      this.warn(entry, 'ignored by the <connection> blocks before it (put it before the first block)');
    }
    const args = entry.inline === undefined ? entry.args : ['[inline]', ...entry.args];
    this.overrides(entry);
    try {
      spec.apply?.(this.#ctx(entry, block?.ce ?? this.globalCe, block), args);
      this.positions.set(entry.name, entry.pos);
    } catch (err) {
      if (!(err instanceof ArgError)) throw err;
      this.error('CONFIG_INVALID', entry, err.message);
    }
  }

  private block(entry: DirectiveEntry): Block | undefined {
    if (entry.connection === undefined) return undefined;
    let b = this.#blocks.get(entry.connection);
    if (b === undefined) {
      b = { ce: clone(this.globalCe), remotes: 0, pos: entry.pos };
      this.#blocks.set(entry.connection, b);
    }
    return b;
  }

  private placement(spec: DirectiveSpec, entry: DirectiveEntry): string | undefined {
    if (!spec.where.includes(entry.from)) {
      const only = spec.where.map((p) => PLACE_TEXT[p]).join(' or ');
      return `cannot be used ${PLACE_TEXT[entry.from]}${only === '' ? '' : ` (only ${only})`}`;
    }
    if (entry.inline !== undefined && !spec.inline) return `cannot be given as an inline <${entry.name}> block`;
    if (entry.connection !== undefined && !spec.connection && spec.status !== 'rejected') return 'not allowed inside a <connection> block';
    return undefined;
  }

  private firstInline(entry: DirectiveEntry): boolean {
    const key = `${entry.connection ?? '-'}:${entry.name}`;
    const first = this.#inlineSeen.get(key);
    if (first !== undefined) {
      this.error('CONFIG_INVALID', entry, `duplicate inline <${entry.name}> block (the first one is at ${first.file}:${first.line})`);
      return false;
    }
    this.#inlineSeen.set(key, entry.pos);
    return true;
  }

  private unknown(entry: DirectiveEntry, tolerant: boolean): void {
    if (tolerant || this.o.ignoreUnknownOption.includes(entry.name)) {
      return this.warn(entry, 'unknown directive ignored (setenv opt / ignore-unknown-option)');
    }
    if (entry.inline !== undefined) {
      const tags = [...INLINE_TAGS].sort().join(', ');
      return this.error('CONFIG_UNKNOWN', entry, `<${entry.name}> is not a known inline block (expected one of ${tags})`);
    }
    this.error('CONFIG_UNKNOWN', entry, `unknown directive${suggest(entry.name)}`);
  }

  fileRef(entry: DirectiveEntry, arg: string | undefined): FileRef {
    if (entry.inline !== undefined) return { kind: 'inline', text: entry.inline, pos: entry.pos };
    const name = arg ?? '';
    const path = resolvePath(entry.cwd, name);
    const r = tryRead(this.#fs, path);
    if (!r.ok) {
      const detail = r.message + nextToConfigHint(this.#fs, name, entry.cwd, entry.configDir);
      this.#unreadable.set(overrideKey(entry), new ConfigError('CONFIG_FILE', entry.pos, entry.name, detail));
    }
    return { kind: 'file', path, pos: entry.pos };
  }

  /** `entry` sets its directive again: an unreadable file named earlier is never opened. */
  private overrides(entry: DirectiveEntry): void {
    const key = overrideKey(entry);
    const earlier = this.#unreadable.get(key);
    if (earlier === undefined) return;
    this.#unreadable.delete(key);
    const by = entry.inline === undefined ? `"${entry.name}" at line ${entry.pos.line}` : `the inline <${entry.name}> block at line ${entry.pos.line}`;
    this.warnAt({ file: earlier.file, line: earlier.line }, entry.name, `${earlier.detail}; not used: ${by} replaces it`);
  }

  /** Builds `connections` (OpenVPN options_postprocess_mutate: blocks, else one per remote). */
  finish(blockStarts: readonly SourcePos[] = []): Draft<ClientOptions> {
    this.errors.push(...this.#unreadable.values());
    this.#unreadable.clear();
    blockStarts.forEach((pos, i) => {
      const b = this.#blocks.get(i);
      if (b === undefined) this.#blocks.set(i, { ce: clone(this.globalCe), remotes: 0, pos });
      else b.pos = pos;
    });
    if (this.#blocks.size > 0) {
      if (this.#remotes.length > 0 && this.#firstRemotePos !== undefined) {
        this.warnAt(this.#firstRemotePos, 'remote', 'remote lines outside <connection> blocks are ignored when blocks are present');
      }
      for (const b of this.#blocks.values()) {
        if (b.remotes !== 1) this.errors.push(new ConfigError('CONFIG_INVALID', b.pos, 'connection', `each <connection> block must contain exactly one remote (found ${b.remotes})`));
      }
      for (const b of this.#blocks.values()) inheritControlWrap(b.ce, this.globalCe);
      this.o.connections = [...this.#blocks.entries()].sort((x, y) => x[0] - y[0]).map(([, b]) => b.ce);
    } else {
      this.o.connections = this.#remotes.map((r) => {
        const ce = clone(this.globalCe);
        ce.remote = r.host;
        if (r.port !== undefined) ce.remotePort = r.port;
        if (r.proto !== undefined) [ce.proto, ce.af] = [r.proto.proto, r.proto.af];
        return ce;
      });
    }
    return this.o;
  }

  error(code: ConfigCode, entry: DirectiveEntry, detail: string): void {
    this.errors.push(new ConfigError(code, entry.pos, entry.name, detail));
  }

  warn(entry: DirectiveEntry, message: string): void {
    this.warnAt(entry.pos, entry.name, message);
  }

  warnAt(pos: SourcePos, directive: string, message: string): void {
    this.warnings.push({ pos, directive, message });
  }
}

/** Directives that replace each other: the same name in the same place (global or one block). */
function overrideKey(entry: DirectiveEntry): string {
  return `${entry.connection ?? '-'}:${entry.name}`;
}

function arityText(spec: DirectiveSpec, got: number): string {
  if (spec.maxArgs === 0) return `takes no arguments, got ${got}`;
  const want = spec.minArgs === spec.maxArgs ? `${spec.minArgs}` : `${spec.minArgs} to ${spec.maxArgs}`;
  return `expects ${want} argument${spec.maxArgs === 1 ? '' : 's'}, got ${got} (${spec.summary})`;
}
