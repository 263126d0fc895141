/**
 * The Logger port the core sees. winston lives only in the shell (src/logging.ts).
 *
 * Verbosity follows OpenVPN's --verb (0..11): each call carries the verb level at which it
 * appears, so `log.info(msg)` is verb 1 (M_INFO), `log.verb(3, msg)` appears at --verb 3 and up.
 * Secrets never reach a log call: callers pass redacted values only.
 */

export type LogCategory =
  | 'main'
  | 'config'
  | 'handshake'
  | 'reliable'
  | 'tls'
  | 'push'
  | 'data'
  | 'tun'
  | 'route'
  | 'dns'
  | 'link';

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  /** Fatal and non-fatal errors: shown at every --verb, even 0. */
  error(msg: string, fields?: LogFields): void;
  /** Warnings: shown from --verb 1. */
  warn(msg: string, fields?: LogFields): void;
  /** Normal milestones (M_INFO): shown from --verb 1. */
  info(msg: string, fields?: LogFields): void;
  /** Detail shown from the given --verb level (2..11). */
  verb(level: number, msg: string, fields?: LogFields): void;
  scope(category: LogCategory): Logger;
}

/** OpenVPN's time_string(): local time as `YYYY-MM-DD HH:MM:SS` (log lines, status file). */
export function openvpnTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  verb() {},
  scope: () => silentLogger,
};

export interface LogRecord {
  readonly level: number;
  readonly kind: 'error' | 'warn' | 'info' | 'verb';
  readonly category: LogCategory;
  readonly msg: string;
  readonly fields: LogFields | undefined;
}

/** In-memory twin for tests: keeps every record. */
export class MemoryLogger implements Logger {
  readonly records: LogRecord[];
  readonly #category: LogCategory;

  constructor(category: LogCategory = 'main', records: LogRecord[] = []) {
    this.#category = category;
    this.records = records;
  }

  error(msg: string, fields?: LogFields): void {
    this.records.push({ level: 0, kind: 'error', category: this.#category, msg, fields });
  }
  warn(msg: string, fields?: LogFields): void {
    this.records.push({ level: 1, kind: 'warn', category: this.#category, msg, fields });
  }
  info(msg: string, fields?: LogFields): void {
    this.records.push({ level: 1, kind: 'info', category: this.#category, msg, fields });
  }
  verb(level: number, msg: string, fields?: LogFields): void {
    this.records.push({ level, kind: 'verb', category: this.#category, msg, fields });
  }
  scope(category: LogCategory): Logger {
    return new MemoryLogger(category, this.records);
  }

  text(): string {
    return this.records.map((r) => r.msg).join('\n');
  }
}
