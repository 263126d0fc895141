/**
 * Roaming, pure: what to do when the host's network changes under a connected session.
 * The shell feeds it rtnetlink notifications (any link, address or route change), the path to
 * the server it looked up when asked, and the timer; it answers with actions.
 *
 *   event ─▶ debounce (quiet for DEBOUNCE, at most MAX_DELAY after the first) ─▶ resolve
 *   resolved(undefined)            no usable uplink: wait (tunnel traffic stays in the tunnel)
 *   resolved(same path, not lost)  ensure: the bypass route is put back if the kernel flushed it
 *                                  (a link that went down and up between two look-ups); nothing
 *                                  else (our own route changes, another interface...)
 *   resolved(new path)             repoint the bypass route, then
 *       UDP, or TCP from the same source   probe (keepalive ping at once): a 2.6 server with
 *                                          peer-id floats the session to the new address;
 *                                          nothing heard from the server within RECOVER
 *                                          (counted from the last network event) ─▶ reconnect
 *       TCP from a new source              reconnect at once (the connection cannot move)
 *
 * A flapping interface keeps pushing the probe's deadline, so it causes no restart storm: at
 * most one reconnect per monitor, and none while the network is still changing.
 * Never: I/O, clocks, timers; the shell performs the actions and passes `now`.
 */
import type { Logger } from '../log/logger.ts';

/** The underlay route the session's packets take to the server. */
export interface ServerPath {
  readonly dev: string;
  readonly gateway?: string | undefined;
  /** The address the server sees us come from (the device's first address of the family). */
  readonly source: string;
}

export interface PathMonitorConfig {
  readonly proto: 'udp' | 'tcp';
  /** Quiet time after the last event before the path is looked up. */
  readonly debounceMs: number;
  /** A steady stream of events still gets a look-up this long after its first event. */
  readonly maxDelayMs: number;
  /** How long after a probe (and the last network event) the server has to answer. */
  readonly recoverMs: number;
}

export const DEFAULT_PATH_MONITOR: Omit<PathMonitorConfig, 'proto'> = { debounceMs: 250, maxDelayMs: 1000, recoverMs: 2500 };

export type PathAction =
  /** Look the path to the server up and answer with `resolved`. */
  | { readonly kind: 'resolve' }
  /** Point the bypass host route to the server at `path` (journaled; teardown removes it). */
  | { readonly kind: 'repoint'; readonly path: ServerPath; readonly previous: ServerPath | undefined }
  /** The path is unchanged: put the bypass route back if it is gone, quietly otherwise. */
  | { readonly kind: 'ensure'; readonly path: ServerPath }
  /** Send a keepalive ping now, from the new address. */
  | { readonly kind: 'probe' }
  /** The session cannot follow: restart the connection now (SIGUSR1-style). */
  | { readonly kind: 'reconnect'; readonly message: string };

export function samePath(a: ServerPath | undefined, b: ServerPath | undefined): boolean {
  return a?.dev === b?.dev && a?.gateway === b?.gateway && a?.source === b?.source;
}

export function describePath(p: ServerPath | undefined): string {
  if (p === undefined) return 'none';
  return `${p.gateway === undefined ? '' : `via ${p.gateway} `}dev ${p.dev} src ${p.source}`;
}

export class PathMonitor {
  readonly #cfg: PathMonitorConfig;
  readonly #log: Logger;
  #current: ServerPath | undefined;
  /** The last look-up found no path; the next path found is acted on even if it is the old one. */
  #lost = false;
  #firstEventAt = Infinity;
  #lastEventAt = -Infinity;
  #resolveAt = Infinity;
  #resolving = false;
  /** Events arrived while a look-up was running: look again after it. */
  #dirty = false;
  #probeAt: number | undefined;
  #done = false;

  constructor(cfg: PathMonitorConfig, initial: ServerPath | undefined, log: Logger) {
    this.#cfg = cfg;
    this.#current = initial;
    this.#log = log;
  }

  get current(): ServerPath | undefined {
    return this.#current;
  }

  /** True once a reconnect was asked for: the monitor has nothing more to say. */
  get done(): boolean {
    return this.#done;
  }

  nextDeadline(): number | undefined {
    if (this.#done) return undefined;
    const t = Math.min(this.#resolveAt, this.#probeDeadline());
    return t === Infinity ? undefined : t;
  }

  /** A link, address or route changed somewhere on the host. */
  event(now: number): void {
    if (this.#done) return;
    this.#lastEventAt = now;
    if (this.#resolveAt === Infinity) this.#firstEventAt = now;
    this.#resolveAt = Math.min(now + this.#cfg.debounceMs, this.#firstEventAt + this.#cfg.maxDelayMs);
  }

  /** `lastReceivedAt`: when the last authenticated packet came from the server. */
  timer(now: number, lastReceivedAt: number): PathAction[] {
    const out: PathAction[] = [];
    if (this.#done) return out;
    const probeAt = this.#probeAt;
    if (probeAt !== undefined && now >= this.#probeDeadline()) {
      this.#probeAt = undefined;
      if (lastReceivedAt >= probeAt) {
        this.#log.info(`path to the server changed: session kept, the server answered ${Math.max(0, Math.round(lastReceivedAt - probeAt))} ms after the probe`);
      } else {
        this.#done = true;
        out.push({ kind: 'reconnect', message: `the server did not answer from the new path (${describePath(this.#current)}) within ${this.#cfg.recoverMs} ms` });
        return out;
      }
    }
    if (now >= this.#resolveAt) {
      this.#resolveAt = Infinity;
      this.#firstEventAt = Infinity;
      if (this.#resolving) this.#dirty = true;
      else {
        this.#resolving = true;
        out.push({ kind: 'resolve' });
      }
    }
    return out;
  }

  /** The shell's answer to `resolve`; `undefined` when no usable uplink exists. */
  resolved(path: ServerPath | undefined, now: number): PathAction[] {
    const out: PathAction[] = [];
    this.#resolving = false;
    if (this.#done) return out;
    if (this.#dirty) {
      this.#dirty = false;
      this.event(now);
    }
    if (path === undefined) {
      if (!this.#lost) this.#log.warn(`no route to the server (was ${describePath(this.#current)}): waiting for a network; tunnel traffic stays in the tunnel`);
      this.#lost = true;
      this.#probeAt = undefined;
      return out;
    }
    if (!this.#lost && samePath(path, this.#current)) return [{ kind: 'ensure', path }];
    const previous = this.#current;
    this.#current = path;
    this.#lost = false;
    this.#log.info(`path to the server changed: ${describePath(previous)} -> ${describePath(path)}`);
    out.push({ kind: 'repoint', path, previous });
    if (this.#cfg.proto === 'tcp' && previous !== undefined && previous.source !== path.source) {
      this.#done = true;
      this.#probeAt = undefined;
      out.push({ kind: 'reconnect', message: `the local address changed (${previous.source} -> ${path.source}): a TCP connection cannot follow` });
      return out;
    }
    out.push({ kind: 'probe' });
    this.#probeAt = now;
    return out;
  }

  #probeDeadline(): number {
    if (this.#probeAt === undefined) return Infinity;
    return Math.max(this.#probeAt, this.#lastEventAt) + this.#cfg.recoverMs;
  }
}
