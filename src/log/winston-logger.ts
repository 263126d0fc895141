/**
 * The winston adapter behind the Logger port. Created only by the shell (cli.ts).
 *
 *   core ──Logger──▶ VerbFilter (--verb, --mute) ──▶ winston ──▶ stdout | --log/--log-append file
 *                                                          └──▶ JSON lines (--log-json) for machines
 *
 * Lines look like OpenVPN's: `2026-11-25 15:32:36 Initialization Sequence Completed`
 * (no timestamp with --suppress-timestamps). Field names that look like secrets are replaced
 * with `[redacted]` here as a last line of defence; callers never pass secrets in the first place.
 */
import winston from 'winston';
import { openvpnTime, type LogCategory, type LogFields, type Logger } from './logger.ts';

export interface LogSettings {
  readonly verb: number;
  readonly mute: number;
  readonly logFile?: string | undefined;
  readonly append?: boolean | undefined;
  readonly json?: boolean | undefined;
  readonly suppressTimestamps?: boolean | undefined;
  /** Where console output goes (default process.stdout). */
  readonly stream?: NodeJS.WritableStream | undefined;
}

export interface ShellLogger {
  readonly logger: Logger;
  /** Resolves once every line has been written (flush before exit). */
  close(): Promise<void>;
}

const SECRET_FIELD = /pass|secret|token|key|pem|private/i;

function redactFields(fields: LogFields | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (fields === undefined) return out;
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    out[k] = SECRET_FIELD.test(k) ? '[redacted]' : v;
  }
  return out;
}

function textFormat(suppressTimestamps: boolean): winston.Logform.Format {
  return winston.format.printf((info) => {
    const fields = info['fields'] as Record<string, unknown> | undefined;
    const extra =
      fields === undefined || Object.keys(fields).length === 0
        ? ''
        : ` (${Object.entries(fields)
            .map(([k, v]) => `${k}=${String(v)}`)
            .join(' ')})`;
    const text = `${String(info.message)}${extra}`;
    return suppressTimestamps ? text : `${openvpnTime(new Date())} ${text}`;
  });
}

function jsonFormat(): winston.Logform.Format {
  return winston.format.printf((info) =>
    JSON.stringify({
      time: new Date().toISOString(),
      level: info['verbLevel'],
      kind: info.level,
      category: info['category'],
      msg: info.message,
      ...(info['fields'] as Record<string, unknown> | undefined),
    }),
  );
}

export function createShellLogger(s: LogSettings): ShellLogger {
  const format = s.json === true ? jsonFormat() : textFormat(s.suppressTimestamps === true);
  const transport =
    s.logFile === undefined
      ? new winston.transports.Stream({ stream: s.stream ?? process.stdout, format })
      : new winston.transports.File({ filename: s.logFile, options: { flags: s.append === true ? 'a' : 'w' }, format });
  const w = winston.createLogger({ level: 'info', levels: { info: 0 }, transports: [transport] });

  let lastKey = '';
  let repeats = 0;
  let suppressed = 0;
  const emit = (kind: string, level: number, category: LogCategory, msg: string, fields?: LogFields): void => {
    if (level > s.verb) return;
    if (s.mute > 0) {
      const key = `${category}|${kind}|${msg}`;
      if (key === lastKey) {
        repeats++;
        if (repeats > s.mute) {
          suppressed++;
          return;
        }
      } else {
        if (suppressed > 0) w.log('info', `[${suppressed} similar message(s) suppressed]`, { category, verbLevel: level });
        lastKey = key;
        repeats = 1;
        suppressed = 0;
      }
    }
    w.log('info', msg, { category, verbLevel: level, kind, fields: redactFields(fields) });
  };

  const make = (category: LogCategory): Logger => ({
    error: (msg, fields) => emit('error', 0, category, msg, fields),
    warn: (msg, fields) => emit('warn', 1, category, msg, fields),
    info: (msg, fields) => emit('info', 1, category, msg, fields),
    verb: (level, msg, fields) => emit('verb', level, category, msg, fields),
    scope: (c) => make(c),
  });

  return {
    logger: make('main'),
    close: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2000);
        w.on('finish', () => {
          clearTimeout(timer);
          resolve();
        });
        w.end();
      }),
  };
}
