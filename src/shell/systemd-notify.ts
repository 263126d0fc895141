/**
 * systemd readiness for `Type=notify` units (packaging/ovpn-ts@.service), fed the same process
 * events as the management interface:
 *
 *   CONNECTED (after "Initialization Sequence Completed") ─▶ READY=1 + STATUS=CONNECTED <tun addresses>
 *   other states ─▶ STATUS=<state> [(<reason>)]      SIGHUP ─▶ RELOADING=1 + MONOTONIC_USEC
 *   SIGTERM/SIGINT ─▶ STOPPING=1                      WATCHDOG_USEC set ─▶ WATCHDOG=1 every half of it
 *
 * Does nothing without NOTIFY_SOCKET. Never: keep the process alive by its timer.
 */
import type { ClientOptions } from '../config/index.ts';
import type { ClientState } from '../core/session-types.ts';
import type { Logger } from '../log/logger.ts';
import { UnixDatagramSocket } from '../platform/unix-datagram.ts';
import type { AttemptStateInfo, ProcessObserver } from './process-observer.ts';

export class SystemdNotifier implements ProcessObserver {
  readonly #sock: UnixDatagramSocket;
  #watchdog: ReturnType<typeof setInterval> | undefined;
  #tunnel: ClientOptions | undefined;
  #reloading = false;

  private constructor(sock: UnixDatagramSocket) {
    this.#sock = sock;
  }

  /** From the environment systemd gives a service (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID). */
  static fromEnv(env: NodeJS.ProcessEnv, log: Logger): SystemdNotifier | undefined {
    const sock = UnixDatagramSocket.open(env['NOTIFY_SOCKET'], (msg) => log.warn(`sd_notify: NOTIFY_SOCKET ${msg}`));
    if (sock === undefined) return undefined;
    const n = new SystemdNotifier(sock);
    const usec = Number(env['WATCHDOG_USEC'] ?? '');
    const pid = env['WATCHDOG_PID'];
    if (Number.isFinite(usec) && usec > 0 && (pid === undefined || pid === '' || Number(pid) === process.pid)) {
      const ms = Math.max(1, Math.floor(usec / 2000));
      n.#watchdog = setInterval(() => n.#send('WATCHDOG=1'), ms);
      n.#watchdog.unref();
      log.verb(3, `systemd watchdog: WATCHDOG=1 every ${ms} ms`);
    }
    n.#send('STATUS=CONNECTING');
    return n;
  }

  onState(state: ClientState, info: AttemptStateInfo): void {
    if (state !== 'CONNECTED') {
      this.#send(`STATUS=${state}`);
      return;
    }
    const t = this.#tunnel;
    const addrs = t === undefined || t.dev === 'null' ? [] : [t.ifconfig?.local, t.ifconfigIpv6?.address].filter((a): a is string => a !== undefined);
    const status = `STATUS=CONNECTED ${addrs.length === 0 ? '(no tunnel address)' : addrs.join(' ')} via ${info.remote.address}:${info.remote.port}`;
    this.#reloading = false;
    this.#send(`READY=1\n${status}`);
  }

  onTunnel(pushed: ClientOptions): void {
    this.#tunnel = pushed;
  }

  ending(state: 'RECONNECTING' | 'EXITING', detail: string): void {
    this.#tunnel = undefined;
    this.#send(`STATUS=${state} (${detail})`);
  }

  /** SIGHUP: systemd shows "reloading" until the next READY=1. */
  reloading(): void {
    if (this.#reloading) return;
    this.#reloading = true;
    this.#send(`RELOADING=1\nMONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`);
  }

  stopping(): void {
    this.#send('STOPPING=1');
  }

  close(): void {
    if (this.#watchdog !== undefined) clearInterval(this.#watchdog);
    this.#sock.close();
  }

  #send(fields: string): void {
    this.#sock.send(fields);
  }
}
