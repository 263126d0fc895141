/**
 * Clock and Random ports, and their test twins. Only the shell reads real time or real
 * randomness (src/shell/system.ts); the core is handed `now` (monotonic milliseconds) and
 * bytes from a Random. Never: read the real clock or draw real randomness here.
 */

export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Wall-clock seconds since the epoch (for tls-auth/tls-crypt net_time). */
  wallSeconds(): number;
}

/** The one-shot timer port: the shell's only way to wait (system.ts; VirtualTimers in tests). */
export interface Timers {
  set(ms: number, cb: () => void): unknown;
  clear(handle: unknown): void;
}

export interface Random {
  bytes(n: number): Uint8Array;
}

/** A clock tests move by hand. */
export class FakeClock implements Clock {
  #now: number;
  #wallBase: number;
  constructor(start = 0, wallBase = 1_700_000_000) {
    this.#now = start;
    this.#wallBase = wallBase;
  }
  now(): number {
    return this.#now;
  }
  wallSeconds(): number {
    return this.#wallBase + Math.floor(this.#now / 1000);
  }
  advance(ms: number): void {
    this.#now += ms;
  }
  set(ms: number): void {
    this.#now = ms;
  }
}

/** Deterministic Random for tests (xorshift32; not for real keys). */
export class SeededRandom implements Random {
  #s: number;
  constructor(seed = 1) {
    this.#s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.#s = x;
    return x;
  }
  /** A float in [0, 1). */
  float(): number {
    return this.next() / 0x1_0000_0000;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}
