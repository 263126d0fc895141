/**
 * The shell's side of the management interface: opens the socket (management/server.ts) around
 * the protocol (management/protocol.ts), taps the logger for `log`, turns what the client and
 * its attempts do into OpenVPN 2.6's management states, and gives the client hold and
 * credential waits that a stop ends.
 *
 *   Logger ─tap─▶ Management.log (lines that pass --verb, as OpenVPN's history)
 *   Client ─▶ CONNECTING, hold(), queryAuth(), RECONNECTING/EXITING, auth failures
 *   Attempt ─onState/onTunnel─▶ WAIT, AUTH, [GET_CONFIG], ASSIGN_IP, [ADD_ROUTES], CONNECTED
 *   Management ─host─▶ signals (handlers set by runClient), hold release, answers
 *
 * When 2.6 reports a state is not where our core changes it: ASSIGN_IP comes with the tunnel's
 * addresses (tun.c do_ifconfig), ADD_ROUTES only when IPv4 routes are added (route.c), and
 * GET_CONFIG only when the PUSH_REPLY has not arrived by the attempt's next whole second
 * (forward.c: a 1 s timer). The same rules here keep transcripts equal to the stock client's.
 */
import { readFileSync } from 'node:fs';
import type { ClientOptions } from '../config/index.ts';
import { ConfigError, OsError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import { tapLogger } from '../log/tap.ts';
import type { Endpoint } from '../link/link.ts';
import type { ClientState } from '../core/session-types.ts';
import { DEFAULT_LOG_CACHE, Management, type Answer, type ManagementSignal, type Query } from '../management/protocol.ts';
import type { SockAddr } from '../management/records.ts';
import { ManagementServer } from '../management/server.ts';
import { packageVersion } from '../cli/version.ts';
import { formatStatus, type TrafficStats } from './status.ts';
import type { AttemptStateInfo, ProcessObserver } from './process-observer.ts';

export type { AttemptStateInfo, ProcessObserver } from './process-observer.ts';

export class ManagementLink implements ProcessObserver {
  readonly mgmt: Management;
  readonly logger: Logger;
  #server: ManagementServer | undefined;
  #signal: (sig: ManagementSignal, reason: string | undefined) => void = () => undefined;
  #forget: () => void = () => undefined;
  #release: (() => void) | undefined;
  #answer: ((a: Answer | undefined) => void) | undefined;
  #auth: Answer | undefined;
  #state: ClientState | undefined;
  #attemptStart = 0;
  #getConfigTimer: ReturnType<typeof setTimeout> | undefined;
  #tunnel: ClientOptions | undefined;
  readonly #queryPasswords: boolean;

  private constructor(o: ClientOptions, log: Logger, stats: TrafficStats, password: string | undefined) {
    const flags = new Set(o.managementFlags);
    this.#queryPasswords = flags.has('management-query-passwords');
    this.mgmt = new Management(
      {
        password,
        hold: flags.has('management-hold'),
        forgetDisconnect: flags.has('management-forget-disconnect'),
        signalOnDisconnect: flags.has('management-signal'),
        logCache: o.managementLogCache || DEFAULT_LOG_CACHE,
        remapUsr1: o.remapUsr1,
      },
      {
        title: `ovpn-ts ${packageVersion()} (OpenVPN 2.6 compatible) [Node ${process.versions.node}] [OpenSSL ${process.versions.openssl}]`,
        pid: process.pid,
        now: () => Math.floor(Date.now() / 1000),
        signal: (sig, reason) => this.#signal(sig, reason),
        status: () => {
          stats.refresh?.();
          return formatStatus(stats, new Date());
        },
        bytes: () => {
          stats.refresh?.();
          return { read: stats.linkReadBytes, written: stats.linkWriteBytes };
        },
        bytecountInterval: (s) => this.#server?.setBytecountInterval(s),
        holdReleased: () => this.#release?.(),
        answered: (_q: Query, a: Answer) => this.#answer?.(a),
        forgetPasswords: () => this.#forget(),
      },
    );
    this.logger = tapLogger(log, o.verb, (flags, text) => this.mgmt.log(flags, text));
  }

  /** Opens the management socket when the config asks for one (before the first attempt, as 2.6). */
  static async open(o: ClientOptions, log: Logger, stats: TrafficStats): Promise<ManagementLink | undefined> {
    const m = o.management;
    if (m === undefined) return undefined;
    const link = new ManagementLink(o, log, stats, m.pwFile === undefined ? undefined : readPassword(m.pwFile));
    const unix = m.port === 'unix';
    link.#server = await ManagementServer.listen(
      link.mgmt,
      {
        address: m.address,
        port: unix ? undefined : Number(m.port),
        unix,
        uid: o.managementClientUser === undefined ? undefined : lookupId('/etc/passwd', o.managementClientUser, 'management-client-user'),
        gid: o.managementClientGroup === undefined ? undefined : lookupId('/etc/group', o.managementClientGroup, 'management-client-group'),
      },
      { note: (msg) => link.logger.verb(3, msg) },
    );
    if (!unix && m.pwFile === undefined) link.logger.warn('WARNING: Using --management on a TCP port WITHOUT passwords is STRONGLY discouraged and considered insecure');
    for (const words of o.echo) link.mgmt.echo(words.join(' '));
    link.mgmt.state({ state: 'CONNECTING' });
    return link;
  }

  /** Where management signals and `forget-passwords` go (runClient wires them to the Client). */
  handlers(signal: (sig: ManagementSignal, reason: string | undefined) => void, forget: () => void): void {
    this.#signal = signal;
    this.#forget = forget;
  }

  get queryPasswords(): boolean {
    return this.#queryPasswords;
  }

  /** management-hold: waits for `hold release` (or a stop); resolves at once without a hold. */
  async hold(holdtime: number): Promise<boolean> {
    if (!this.mgmt.hold(holdtime)) return false;
    if (!this.mgmt.connected) this.logger.verb(3, 'Need hold release from management interface, waiting...');
    await new Promise<void>((resolve) => {
      this.#release = resolve;
    });
    this.#release = undefined;
    return true;
  }

  /** A new connection context: a later hold waits again (2.6 resets the release per context). */
  restarted(): void {
    this.mgmt.rearmHold();
  }

  /**
   * management-query-passwords: the 'Auth' username and password; undefined when stopped.
   * Kept for later sessions (a SIGHUP reload asks no again, as 2.6's static auth_user_pass)
   * unless `nocache` (auth-nocache); forgetAuth() drops them.
   */
  async queryAuth(nocache: boolean): Promise<Answer | undefined> {
    if (this.#auth !== undefined) return this.#auth;
    if (!this.mgmt.connected) this.logger.verb(3, 'Need password(s) from management interface, waiting...');
    const answer = new Promise<Answer | undefined>((resolve) => {
      this.#answer = resolve;
    });
    this.mgmt.query({ kind: 'user-pass', type: 'Auth' });
    const a = await answer;
    this.#answer = undefined;
    if (!nocache) this.#auth = a;
    return a;
  }

  /** forget-passwords, management-forget-disconnect, a refused password with auth-retry interact. */
  forgetAuth(): void {
    this.#auth = undefined;
  }

  /** A stop (SIGTERM/SIGINT) ends every wait. */
  abort(): void {
    this.mgmt.cancelQuery();
    this.#answer?.(undefined);
    this.#release?.();
  }

  // --- states

  /** RECONNECTING or EXITING with the reason (sig.c signal_restart_status). */
  ending(state: 'RECONNECTING' | 'EXITING', detail: string): void {
    this.#clearGetConfig();
    this.#state = undefined;
    this.#tunnel = undefined;
    this.mgmt.state({ state, detail });
  }

  /** The attempt's core changed state. */
  onState(state: ClientState, info: AttemptStateInfo): void {
    const previous = this.#state;
    this.#state = state;
    switch (state) {
      case 'WAIT':
        this.#attemptStart = Date.now();
        this.mgmt.state({ state });
        return;
      case 'AUTH':
        this.mgmt.state({ state });
        return;
      case 'GET_CONFIG': {
        // forward.c check_connection_established: on the attempt's 1 s timer, if still waiting
        const wait = 1000 - ((Date.now() - this.#attemptStart) % 1000);
        this.#clearGetConfig();
        this.#getConfigTimer = setTimeout(() => {
          if (this.#state === 'GET_CONFIG') this.mgmt.state({ state: 'GET_CONFIG' });
        }, wait);
        return;
      }
      case 'CONNECTED': {
        this.#clearGetConfig();
        const t = this.#tunnel;
        this.mgmt.state({ state, detail: 'SUCCESS', ...tunAddresses(t), remote: sockAddr(info.remote), local: info.local === undefined ? undefined : sockAddr(info.local) });
        return;
      }
      default:
        // ASSIGN_IP and ADD_ROUTES come with the tunnel (onTunnel); the rest ends in ending()
        if (previous === 'GET_CONFIG') this.#clearGetConfig();
    }
  }

  /** The tunnel is about to be configured with these (pushed) options. */
  onTunnel(pushed: ClientOptions): void {
    this.#clearGetConfig();
    this.#tunnel = pushed;
    if (pushed.dev !== 'null' && (pushed.ifconfig !== undefined || pushed.ifconfigIpv6 !== undefined)) this.mgmt.state({ state: 'ASSIGN_IP', ...tunAddresses(pushed) });
    if (pushed.routes.length > 0) this.mgmt.state({ state: 'ADD_ROUTES' });
  }

  #clearGetConfig(): void {
    if (this.#getConfigTimer !== undefined) clearTimeout(this.#getConfigTimer);
    this.#getConfigTimer = undefined;
  }

  async close(): Promise<void> {
    this.#clearGetConfig();
    await this.#server?.close();
  }
}

function tunAddresses(o: ClientOptions | undefined): { tunIp4?: string; tunIp6?: string } {
  if (o === undefined || o.dev === 'null') return {};
  return { ...(o.ifconfig === undefined ? {} : { tunIp4: o.ifconfig.local }), ...(o.ifconfigIpv6 === undefined ? {} : { tunIp6: o.ifconfigIpv6.address }) };
}

const sockAddr = (e: Endpoint): SockAddr => ({ address: e.address, port: e.port });

/** The management pw-file: its first line is the password (misc.c get_user_pass, password only). */
function readPassword(file: string): string {
  if (file === 'stdin') throw new ConfigError('CONFIG_UNSUPPORTED', { file: 'management', line: 0 }, 'management', 'a management password from stdin is not supported: name a file');
  try {
    return (readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '').trim();
  } catch (e) {
    throw new OsError('OS', `management: cannot read the password file ${file}: ${(e as Error).message}`, { cause: e });
  }
}

/** A user or group name (or number) as an id, from /etc/passwd or /etc/group. */
function lookupId(db: string, name: string, directive: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  for (const line of readFileSync(db, 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f[2] !== undefined) return Number(f[2]);
  }
  throw new OsError('OS', `${directive}: no such ${db.endsWith('passwd') ? 'user' : 'group'} "${name}" in ${db}`);
}
