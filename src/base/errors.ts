/**
 * Typed errors with stable codes. Each class says whose fault it is:
 *
 *   ConfigError         the user's configuration (file:line, directive)
 *   UsageError          the command line itself
 *   RemoteProtocolError the peer sent something we cannot accept (drop or restart; never crash)
 *   LocalProtocolError  our own invariant broke: a bug
 *   OsError             the OS refused (TUN, netlink, socket); the OS error travels as `cause`
 *   AuthFailedError     the server said AUTH_FAILED
 *   TlsError            the TLS handshake or certificate checks failed
 *   ProxyError          an HTTP or SOCKS proxy refused, failed or was unreachable
 *
 * Per-packet problems on the data path are never thrown: they are returned as values and counted.
 * Never put a secret (password, key, token) in a message.
 */

export type ConfigCode =
  | 'CONFIG_SYNTAX'
  | 'CONFIG_UNKNOWN'
  | 'CONFIG_UNSUPPORTED'
  | 'CONFIG_INVALID'
  | 'CONFIG_FILE'
  | 'CONFIG_LIMIT';
export type RemoteCode =
  | 'PACKET_TRUNCATED'
  | 'UNEXPECTED_OPCODE'
  | 'TOO_MANY_ACKS'
  | 'BAD_SESSION_ID'
  | 'BAD_MESSAGE'
  | 'PUSH_INVALID';
export type OsCode = 'TUN_OPEN' | 'ROUTE_APPLY' | 'ADDR_APPLY' | 'SOCKET' | 'DNS_APPLY' | 'FIREWALL' | 'OS';
export type ErrorCode =
  | ConfigCode
  | RemoteCode
  | OsCode
  | 'USAGE'
  | 'AUTH_FAILED'
  | 'TLS_ERROR'
  | 'TIMEOUT'
  | 'SERVER_HALT'
  | 'NEGOTIATION'
  | 'SCRIPT'
  | 'PROXY'
  | 'INTERNAL';

export abstract class OvpnError extends Error {
  abstract readonly code: ErrorCode;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

export interface SourcePos {
  readonly file: string;
  readonly line: number;
}

/** A mistake in the configuration: the message reads `FILE:LINE: directive: what is wrong`. */
export class ConfigError extends OvpnError {
  override readonly code: ConfigCode;
  readonly file: string;
  readonly line: number;
  readonly directive: string | undefined;
  /** The message without the `FILE:LINE:` prefix. */
  readonly detail: string;
  constructor(code: ConfigCode, at: SourcePos, directive: string | undefined, detail: string) {
    super(`${at.file}:${at.line}: ${directive === undefined ? '' : `${directive}: `}${detail}`);
    this.code = code;
    this.file = at.file;
    this.line = at.line;
    this.directive = directive;
    this.detail = detail;
  }
}

/** Several configuration mistakes found in one pass; all are reported together. */
export class ConfigErrors extends OvpnError {
  override readonly code: ConfigCode;
  readonly errors: readonly ConfigError[];
  constructor(errors: readonly ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'));
    this.errors = errors;
    this.code = errors[0]?.code ?? 'CONFIG_INVALID';
  }
}

/** A user script (--up) failed or was not allowed to run; OpenVPN exits with 1 then. */
export class ScriptError extends OvpnError {
  override readonly code = 'SCRIPT' as const;
}

/** The configuration asks for something ovpn-ts does not do yet, and doing nothing would be wrong. */
export class NotImplementedError extends OvpnError {
  override readonly code = 'CONFIG_UNSUPPORTED' as const;
}

export class UsageError extends OvpnError {
  override readonly code = 'USAGE' as const;
}

export class RemoteProtocolError extends OvpnError {
  override readonly code: RemoteCode;
  constructor(code: RemoteCode, message: string) {
    super(message);
    this.code = code;
  }
}

export class LocalProtocolError extends OvpnError {
  override readonly code = 'INTERNAL' as const;
}

export class OsError extends OvpnError {
  override readonly code: OsCode;
  constructor(code: OsCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

export class AuthFailedError extends OvpnError {
  override readonly code = 'AUTH_FAILED' as const;
  /** The server's reason after `AUTH_FAILED,`, if any. */
  readonly reason: string | undefined;
  constructor(reason: string | undefined) {
    super(reason === undefined || reason === '' ? 'AUTH_FAILED' : `AUTH_FAILED: ${reason}`);
    this.reason = reason;
  }
}

export class TlsError extends OvpnError {
  override readonly code = 'TLS_ERROR' as const;
}

export class TimeoutError extends OvpnError {
  override readonly code = 'TIMEOUT' as const;
}

/**
 * A proxy (http-proxy, socks-proxy) refused or failed. `auth`: it refused our credentials or
 * wants some (the process exits like AUTH_FAILED unless auth-retry says otherwise).
 */
export type ProxyFailure = 'auth' | 'forbidden' | 'bad-gateway' | 'unreachable' | 'protocol';

export class ProxyError extends OvpnError {
  override readonly code = 'PROXY' as const;
  readonly kind: ProxyFailure;
  constructor(kind: ProxyFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
  }
}

export function assertNever(value: never): never {
  throw new LocalProtocolError(`unhandled variant ${JSON.stringify(value)}`);
}

/**
 * Process exit codes (documented in README and docs/cli.md). OpenVPN uses 1 for every error;
 * 1 stays the generic one here.
 */
export const ExitCode = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  CONFIG: 3,
  AUTH: 4,
  TLS: 5,
  OS: 6,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export function exitCodeFor(err: unknown): ExitCode {
  if (!(err instanceof OvpnError)) return ExitCode.ERROR;
  if (err instanceof ConfigError || err instanceof ConfigErrors || err instanceof NotImplementedError) return ExitCode.CONFIG;
  if (err instanceof UsageError) return ExitCode.USAGE;
  if (err instanceof AuthFailedError) return ExitCode.AUTH;
  if (err instanceof ProxyError && err.kind === 'auth') return ExitCode.AUTH;
  if (err instanceof TlsError) return ExitCode.TLS;
  if (err instanceof OsError) return ExitCode.OS;
  return ExitCode.ERROR;
}

/** The server told us to stop (HALT) or the connection cannot go on for a reason it gave. */
export class ServerHaltError extends OvpnError {
  override readonly code = 'SERVER_HALT' as const;
}

/** Client and server could not agree on the data channel (cipher, compression). */
export class NegotiationError extends OvpnError {
  override readonly code = 'NEGOTIATION' as const;
}
