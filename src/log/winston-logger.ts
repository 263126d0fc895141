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
import { Writable } from 'node:stream';
import { createLogger, fileTransport, printf, Stream, type Format } from './winston-lean.ts';
import { openvpnTime, type LogCategory, type LogFields, type Logger } from './logger.ts';
import { UnixDatagramSocket } from '../platform/unix-datagram.ts';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** LOG_DAEMON, as OpenVPN's openlog(); severities as its msg(): error LOG_ERR, warning LOG_WARNING, else LOG_NOTICE. */
const LOG_DAEMON = 3 << 3;
const SEVERITY: Readonly<Record<string, number>> = { error: 3, warn: 4 };

/** RFC 3164 as glibc's syslog() writes it to /dev/log: `<PRI>Mmm dd hh:mm:ss TAG[PID]: text`. */
export function syslogLine(kind: string, tag: string, text: string, now: Date, pid: number): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  const stamp = `${MONTHS[now.getMonth()] ?? 'Jan'} ${String(now.getDate()).padStart(2, ' ')} ${p(now.getHours())}:${p(now.getMinutes())}:${p(now.getSeconds())}`;
  return `<${LOG_DAEMON + (SEVERITY[kind] ?? 5)}>${stamp} ${tag}[${pid}]: ${text}`;
}

/** A stream for winston's Stream transport: each line it writes becomes one datagram to /dev/log. */
function syslogStream(sock: UnixDatagramSocket): Writable {
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      sock.send(String(chunk).replace(/\r?\n$/, ''));
      done();
    },
    final(done) {
      sock.close();
      done();
    },
  });
}

/** Lines as syslogLine() frames them; the text is the plain (or JSON) line without a timestamp. */
function syslogFormat(tag: string, inner: Format): Format {
  return printf((info) => {
    const out = inner.transform({ ...info }, {});
    const text = out === false ? '' : String((out as unknown as Record<symbol, unknown>)[Symbol.for('message')] ?? '');
    return syslogLine(String(info['kind'] ?? 'info'), tag, text, new Date(), process.pid);
  });
}

export interface LogSettings {
  readonly verb: number;
  readonly mute: number;
  readonly logFile?: string | undefined;
  readonly append?: boolean | undefined;
  readonly json?: boolean | undefined;
  readonly suppressTimestamps?: boolean | undefined;
  /** Where console output goes (default process.stdout). */
  readonly stream?: NodeJS.WritableStream | undefined;
  /** `syslog [name]` (and `daemon` without `log`): lines go to the system logger under this tag. */
  readonly syslog?: string | undefined;
  /** The syslog socket (default /dev/log; tests pass their own). */
  readonly syslogSocket?: string | undefined;
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

function textFormat(suppressTimestamps: boolean): Format {
  return printf((info) => {
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

function jsonFormat(): Format {
  return printf((info) =>
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
  let syslogProblem: string | undefined;
  const syslog = s.logFile === undefined && s.syslog !== undefined ? UnixDatagramSocket.open(s.syslogSocket ?? '/dev/log', (why) => (syslogProblem = why)) : undefined;
  const transport =
    syslog !== undefined
      ? new Stream({ stream: syslogStream(syslog), format: syslogFormat(s.syslog ?? 'ovpn-ts', s.json === true ? jsonFormat() : textFormat(true)) })
      : s.logFile === undefined
        ? new Stream({ stream: s.stream ?? process.stdout, format })
        : new (fileTransport())({ filename: s.logFile, options: { flags: s.append === true ? 'a' : 'w' }, format });
  const w = createLogger({ level: 'info', levels: { info: 0 }, transports: [transport] });

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

  if (syslogProblem !== undefined) emit('warn', 1, 'main', `syslog: cannot reach the system logger (${syslogProblem}); logging to stdout`);
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
