/**
 * The shape of one row of the directive table, and small constructors that keep rows one-liners.
 * A row says: how many arguments, where the directive may appear (file, command line, push,
 * inside <connection>, as an inline block), its manual topic, one-line summary, our decision
 * (supported / ignored with a warning / rejected with a reason) and, if supported, how it is applied.
 * Pure: `apply` only mutates the options draft it is given.
 */
import type { ClientOptions, ConnectionEntry, Draft, FileRef } from './options.ts';
import type { DirectiveEntry } from './entry.ts';

export const TOPICS = [
  'Generic', 'Client', 'Connection', 'TLS', 'Data channel', 'Tunnel device', 'Routing', 'DNS',
  'Scripts', 'Logging', 'Proxy', 'Management', 'Server only',
] as const;
export type Topic = (typeof TOPICS)[number];

/**
 * supported: parsed and acted on. parsed: checked and kept (so mistakes are still reported) but
 * not acted on yet, with a warning saying so. ignored: accepted with a warning. rejected: an error.
 */
export type Status = 'supported' | 'parsed' | 'ignored' | 'rejected';
export type Place = 'file' | 'cmdline' | 'push';

/** What an apply function may do besides mutating the draft. */
export interface ApplyCtx {
  readonly o: Draft<ClientOptions>;
  /** The connection entry being built: the global template, or the current <connection> block. */
  readonly ce: Draft<ConnectionEntry>;
  readonly inConnectionBlock: boolean;
  readonly entry: DirectiveEntry;
  /** The file-valued argument (or inline block) resolved as OpenVPN does; a missing file is reported. */
  fileRef(arg: string | undefined): FileRef;
  /** A path resolved against the current directory (as changed by `cd`), without reading it. */
  resolve(name: string): string;
  /** A `remote` line: outside blocks it adds to the remote list, inside a block it sets the block's remote. */
  addRemote(host: string, port: number | undefined, proto: { proto: 'udp' | 'tcp'; af: 'any' | 'inet' | 'inet6' } | undefined): void;
  warn(message: string): void;
}

export interface DirectiveSpec {
  readonly name: string;
  readonly topic: Topic;
  readonly summary: string;
  readonly status: Status;
  /** Why it is ignored or rejected (shown in the warning / error and in docs/directives.md). */
  readonly reason?: string;
  readonly where: readonly Place[];
  /** May the server push it (OpenVPN pull_permission_mask)? */
  readonly pushable: boolean;
  /** Allowed inside a <connection> block (OPT_P_CONNECTION). */
  readonly connection: boolean;
  /** Allowed as an inline block <name>…</name> (OPT_P_INLINE); the block stands for the first argument. */
  readonly inline: boolean;
  readonly minArgs: number;
  readonly maxArgs: number;
  readonly apply?: (ctx: ApplyCtx, args: readonly string[]) => void;
}

interface Opts {
  readonly push?: boolean;
  readonly conn?: boolean;
  readonly inline?: boolean;
  readonly where?: readonly Place[];
}

const FILE_AND_CMDLINE: readonly Place[] = ['file', 'cmdline'];

function base(name: string, topic: Topic, summary: string, args: readonly [number, number], opts: Opts) {
  const push = opts.push ?? false;
  return {
    name, topic, summary,
    where: opts.where ?? (push ? [...FILE_AND_CMDLINE, 'push' as const] : FILE_AND_CMDLINE),
    pushable: push, connection: opts.conn ?? false, inline: opts.inline ?? false,
    minArgs: args[0], maxArgs: args[1],
  };
}

/** A supported directive. `args` = [min, max] (OpenVPN's `p[n] && !p[m]` checks). */
export function sup(
  name: string, topic: Topic, summary: string, args: readonly [number, number],
  apply: (ctx: ApplyCtx, args: readonly string[]) => void, opts: Opts = {},
): DirectiveSpec {
  return { ...base(name, topic, summary, args, opts), status: 'supported', apply };
}

/** A supported row whose effect ovpn-ts does not implement yet: still validated, plus a warning. */
export function notYet(row: DirectiveSpec, reason: string): DirectiveSpec {
  return { ...row, status: 'parsed', reason };
}

/** Accepted, not acted upon: one warning with the reason. */
export function ign(name: string, topic: Topic, summary: string, reason: string, args: readonly [number, number] = [0, 15], opts: Opts = {}): DirectiveSpec {
  return { ...base(name, topic, summary, args, opts), status: 'ignored', reason };
}

/** Refused with a reason (server-only, removed, insecure or not implemented). */
export function rej(name: string, topic: Topic, summary: string, reason: string, opts: Opts = {}): DirectiveSpec {
  return { ...base(name, topic, summary, [0, 15], opts), status: 'rejected', reason };
}

export const SERVER_ONLY = 'server-only directive; ovpn-ts is a client';
