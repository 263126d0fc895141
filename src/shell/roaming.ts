/**
 * Roaming, the shell half: watches rtnetlink, drives the pure PathMonitor with the clock and one
 * timer, and performs what it decides, in order, for one connected attempt.
 *
 *   NetWatcher ─change─▶ PathMonitor.event          timer ─▶ PathMonitor.timer(now, last rx)
 *   resolve  ─▶ tunnel.serverPath(remote) ─▶ PathMonitor.resolved
 *   repoint  ─▶ tunnel.repointBypass, then link.refreshSource when the source address changed
 *   ensure   ─▶ tunnel.repointBypass (the same route: added again only if the kernel flushed it)
 *   probe    ─▶ a keepalive ping now (after the repoint: it must leave by the new path)
 *   reconnect ─▶ the attempt ends with restart reason network-change (no pause)
 *
 * Started once the tunnel is up, closed by the attempt's teardown; after close() nothing it
 * started acts any more. Never: decide anything itself, touch the network but through the
 * Tunnel and the Link.
 */
import type { Clock, Timers } from '../base/clock.ts';
import type { Logger } from '../log/logger.ts';
import type { Endpoint } from '../link/link.ts';
import type { Tunnel } from '../tunnel/tunnel.ts';
import type { NetChangeListener, NetWatcher } from '../routing/watch.ts';
import { DEFAULT_PATH_MONITOR, PathMonitor, type PathAction, type PathMonitorConfig, type ServerPath } from '../core/path-monitor.ts';

export interface RoamingDeps {
  readonly tunnel: Tunnel;
  /** The server's address the bypass route is for. */
  readonly remote: Endpoint;
  readonly proto: 'udp' | 'tcp';
  readonly clock: Clock;
  readonly timers: Timers;
  readonly log: Logger;
  /** When the last authenticated packet came from the server (the attempt's keepalive clock). */
  readonly lastReceivedAt: () => number;
  readonly refreshSource: () => Promise<void>;
  readonly probe: () => void;
  readonly reconnect: (message: string) => void;
  /** Tests pass the memory twin; default: rtnetlink (netlink-watch.ts). */
  readonly openWatcher?: ((onChange: NetChangeListener) => Promise<NetWatcher> | NetWatcher) | undefined;
  readonly config?: Partial<Omit<PathMonitorConfig, 'proto'>>;
}

/** Roaming needs a tunnel that can tell the path to the server (a TUN device, not `dev null`). */
export function canRoam(t: Tunnel): boolean {
  return t.serverPath !== undefined && t.repointBypass !== undefined;
}

export class Roaming {
  readonly #d: RoamingDeps;
  #monitor: PathMonitor | undefined;
  #watcher: NetWatcher | undefined;
  #timer: unknown;
  /** Repoint, probe and reconnect run one after the other. */
  #chain: Promise<void> = Promise.resolve();
  #early = false;
  #closed = false;

  constructor(deps: RoamingDeps) {
    this.#d = deps;
  }

  /** Subscribes first, then reads the current path, so no change between the two is missed. */
  async start(): Promise<void> {
    const d = this.#d;
    const open = d.openWatcher ?? (async (l: NetChangeListener) => new (await import('../routing/netlink-watch.ts')).NetlinkWatcher(l));
    try {
      this.#watcher = await open(() => this.#onChange());
    } catch (e) {
      d.log.warn(`roaming off: cannot watch network changes (${(e as Error).message})`);
      return;
    }
    const initial = await this.#lookup();
    if (this.#closed) {
      this.#watcher.close();
      return;
    }
    const monitor = new PathMonitor({ proto: d.proto, ...DEFAULT_PATH_MONITOR, ...d.config }, initial, d.log);
    this.#monitor = monitor;
    d.log.verb(3, `roaming: watching network changes; path to the server: ${initial === undefined ? 'none' : `${initial.gateway ?? '-'} dev ${initial.dev} src ${initial.source}`}`);
    if (this.#early) monitor.event(d.clock.now());
    this.#rearm();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher?.close();
    this.#d.timers.clear(this.#timer);
  }

  #onChange(): void {
    if (this.#closed) return;
    const m = this.#monitor;
    if (m === undefined) {
      this.#early = true;
      return;
    }
    m.event(this.#d.clock.now());
    this.#rearm();
  }

  async #lookup(): Promise<ServerPath | undefined> {
    try {
      return await this.#d.tunnel.serverPath?.(this.#d.remote);
    } catch (e) {
      this.#d.log.warn(`roaming: cannot read the path to the server: ${(e as Error).message}`);
      return undefined;
    }
  }

  #rearm(): void {
    const d = this.#d;
    d.timers.clear(this.#timer);
    const at = this.#monitor?.nextDeadline();
    if (this.#closed || at === undefined) return;
    this.#timer = d.timers.set(Math.max(0, Math.ceil(at - d.clock.now())), () => {
      if (this.#closed || this.#monitor === undefined) return;
      this.#perform(this.#monitor.timer(d.clock.now(), d.lastReceivedAt()));
      this.#rearm();
    });
  }

  #perform(actions: readonly PathAction[]): void {
    const d = this.#d;
    for (const a of actions) {
      switch (a.kind) {
        case 'resolve':
          void this.#lookup().then((p) => {
            if (this.#closed || this.#monitor === undefined) return;
            this.#perform(this.#monitor.resolved(p, d.clock.now()));
            this.#rearm();
          });
          break;
        case 'repoint':
          this.#then(async () => {
            await d.tunnel.repointBypass?.(d.remote, a.path);
            if (a.previous?.source !== a.path.source) await d.refreshSource();
          });
          break;
        case 'ensure':
          this.#then(async () => d.tunnel.repointBypass?.(d.remote, a.path));
          break;
        case 'probe':
          this.#then(async () => d.probe());
          break;
        case 'reconnect':
          this.#then(async () => d.reconnect(a.message));
          break;
      }
    }
  }

  #then(step: () => Promise<void>): void {
    this.#chain = this.#chain.then(async () => {
      if (this.#closed) return;
      try {
        await step();
      } catch (e) {
        this.#d.log.error(`roaming: ${(e as Error).message}`);
      }
    });
  }
}
