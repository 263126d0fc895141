/**
 * The real Clock and Random behind the ports in src/base/clock.ts: the only place that reads
 * the system's clocks and its random number generator.
 */
import { randomBytes } from 'node:crypto';
import type { Clock, Random, Timers } from '../base/clock.ts';

export const systemClock: Clock = {
  now: () => performance.now(),
  wallSeconds: () => Math.floor(Date.now() / 1000),
};

export const systemRandom: Random = {
  bytes: (n) => new Uint8Array(randomBytes(n)),
};

export const systemTimers: Timers = {
  set: (ms, cb) => setTimeout(cb, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};
