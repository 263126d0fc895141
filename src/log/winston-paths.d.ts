/**
 * Types for the parts of winston that winston-lean.ts imports by path (winston's own
 * typings cover only its index, which loads every transport and format at start-up).
 */
declare module 'winston/lib/winston/create-logger.js' {
  import type winston from 'winston';
  const createLogger: typeof winston.createLogger;
  export default createLogger;
}
declare module 'winston/lib/winston/transports/stream.js' {
  import type winston from 'winston';
  const Stream: typeof winston.transports.Stream;
  export default Stream;
}
declare module 'logform/printf.js' {
  import type winston from 'winston';
  const printf: (template: (info: winston.Logform.TransformableInfo) => string) => winston.Logform.Format;
  export default printf;
}
