/**
 * A logger tap: every call goes on to the real logger, and the lines that pass --verb are also
 * handed to a sink with OpenVPN's message flag letter (the management interface's `log`
 * history). Pure; the sink must not log (it would loop).
 */
import type { LogFields, Logger } from './logger.ts';
import type { LogFlags } from '../management/records.ts';

/** Forwards every call and hands the lines that pass --verb to `sink`, with 2.6's flag letter. */
export function tapLogger(inner: Logger, verb: number, sink: (flags: LogFlags, text: string) => void): Logger {
  const wrap = (log: Logger): Logger => ({
    error: (msg: string, fields?: LogFields) => {
      log.error(msg, fields);
      sink('N', msg);
    },
    warn: (msg: string, fields?: LogFields) => {
      log.warn(msg, fields);
      if (verb >= 1) sink('W', msg);
    },
    info: (msg: string, fields?: LogFields) => {
      log.info(msg, fields);
      if (verb >= 1) sink('I', msg);
    },
    verb: (level: number, msg: string, fields?: LogFields) => {
      log.verb(level, msg, fields);
      if (level <= verb) sink('', msg);
    },
    scope: (c) => wrap(log.scope(c)),
  });
  return wrap(inner);
}
