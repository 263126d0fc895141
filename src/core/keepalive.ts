/**
 * Keepalive timers as deadlines (ping.c / forward.c semantics), pure:
 *
 *   ping N          send a ping when nothing was sent for N seconds
 *   ping-restart M  restart when nothing authenticated arrived for M seconds
 *   ping-exit M     exit instead of restarting
 *
 * The shell reports `sent(now)` / `received(now)` from its data path and asks `due(now)`.
 */

export type KeepaliveDue = 'ping' | 'restart' | 'exit' | undefined;

export interface KeepaliveConfig {
  readonly pingMs: number;
  readonly pingRestartMs: number;
  readonly pingExitMs: number;
}

export class Keepalive {
  #cfg: KeepaliveConfig;
  #lastSent: number;
  #lastReceived: number;

  constructor(cfg: KeepaliveConfig, now: number) {
    this.#cfg = cfg;
    this.#lastSent = now;
    this.#lastReceived = now;
  }

  /** New intervals (pushed ping/ping-restart); the clocks keep running. */
  configure(cfg: KeepaliveConfig): void {
    this.#cfg = cfg;
  }

  /** When the last authenticated packet arrived (roaming asks whether the server answered). */
  get lastReceived(): number {
    return this.#lastReceived;
  }

  /** A data packet left at `at` (a data path that reports later may pass an earlier time: the latest wins). */
  sent(at: number): void {
    if (at > this.#lastSent) this.#lastSent = at;
  }

  received(at: number): void {
    if (at > this.#lastReceived) this.#lastReceived = at;
  }

  due(now: number): KeepaliveDue {
    const c = this.#cfg;
    if (c.pingExitMs > 0 && now - this.#lastReceived >= c.pingExitMs) return 'exit';
    if (c.pingRestartMs > 0 && now - this.#lastReceived >= c.pingRestartMs) return 'restart';
    if (c.pingMs > 0 && now - this.#lastSent >= c.pingMs) return 'ping';
    return undefined;
  }

  nextDeadline(): number | undefined {
    const c = this.#cfg;
    let t = Infinity;
    if (c.pingMs > 0) t = Math.min(t, this.#lastSent + c.pingMs);
    if (c.pingRestartMs > 0) t = Math.min(t, this.#lastReceived + c.pingRestartMs);
    if (c.pingExitMs > 0) t = Math.min(t, this.#lastReceived + c.pingExitMs);
    return t === Infinity ? undefined : t;
  }
}
