/**
 * What the client process tells the things that watch it from outside (the management
 * interface, systemd): OpenVPN states of each attempt, the tunnel's options, how an attempt
 * ended, and the signals that stop or reload it. Observers only listen; they decide nothing.
 */
import type { ClientOptions } from '../config/index.ts';
import type { ClientState } from '../core/session-types.ts';
import type { Endpoint } from '../link/link.ts';

export interface AttemptStateInfo {
  readonly remote: Endpoint;
  readonly local: Endpoint | undefined;
}

export interface ProcessObserver {
  /** The attempt's core changed state (WAIT, AUTH, GET_CONFIG, …, CONNECTED). */
  onState(state: ClientState, info: AttemptStateInfo): void;
  /** The tunnel is about to be configured with these (pushed) options. */
  onTunnel(pushed: ClientOptions): void;
  /** The attempt ended: RECONNECTING or EXITING, with OpenVPN's reason text. */
  ending(state: 'RECONNECTING' | 'EXITING', detail: string): void;
  /** SIGHUP (reload) received. */
  reloading?(): void;
  /** SIGTERM/SIGINT received: the process is stopping. */
  stopping?(): void;
}

/** Calls every observer, in order. */
export function fanOut(observers: readonly ProcessObserver[]): ProcessObserver {
  return {
    onState: (s, i) => observers.forEach((o) => o.onState(s, i)),
    onTunnel: (p) => observers.forEach((o) => o.onTunnel(p)),
    ending: (s, d) => observers.forEach((o) => o.ending(s, d)),
    reloading: () => observers.forEach((o) => o.reloading?.()),
    stopping: () => observers.forEach((o) => o.stopping?.()),
  };
}
