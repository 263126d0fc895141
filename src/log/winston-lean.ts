/**
 * winston, loaded lean: the logger, the Stream transport and the printf format by path, instead
 * of `import winston from 'winston'`, whose index loads the Container, every format's colour
 * tables and the HTTP and File transports with their dependencies (~15 ms of every start-up).
 * The File transport (`log FILE`) is required only when a log file is configured.
 */
import { createRequire } from 'node:module';
import type winston from 'winston';
import createLogger from 'winston/lib/winston/create-logger.js';
import Stream from 'winston/lib/winston/transports/stream.js';
import printf from 'logform/printf.js';

export type Format = winston.Logform.Format;
export type Transport = winston.transport;
export { createLogger, printf, Stream };

/** winston's File transport, loaded on first use (it pulls in zlib, async and the tail reader). */
export function fileTransport(): typeof winston.transports.File {
  return createRequire(import.meta.url)('winston/lib/winston/transports/file.js') as typeof winston.transports.File;
}
