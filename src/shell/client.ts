/**
 * The client process: remote selection, name resolution, reconnect pacing, signals, and the
 * one tunnel that outlives connection attempts. Each attempt is an `Attempt` (attempt.ts).
 *
 *   CONNECTING ─▶ resolve remote ─▶ Attempt.run() ─┬─ restart ─▶ wait (connect-retry) ─▶ next remote
 *                                                  ├─ exit (AUTH_FAILED, fatal) ─▶ EXITING
 *                                                  └─ SIGTERM/SIGINT ─▶ explicit-exit-notify ─▶ EXITING
 *   SIGUSR1: restart the attempt. SIGHUP: re-read the configuration; if it loads, leave as on
 *   SIGTERM and start again with it (a new tunnel, new key material); if it does not, log each
 *   error at FILE:LINE and keep the current session. Uncaught errors: tear down, then exit 1.
 *   connect-retry-max N: after N failed rounds of the remote list, exit with the last failure's
 *   code (TLS 5, AUTH_FAILED 4, silent server or other 1); tls-exit: exit on the first TLS error.
 *
 * On exit the tunnel is closed (routes, addresses, device removed, newest first) before the
 * final "process exiting" line, which is flushed before the process ends.
 */
import type { ClientOptions, ConnectionEntry } from '../config/index.ts';
import { ExitCode, NotImplementedError, OsError, OvpnError, TimeoutError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import { systemClock, systemRandom, systemTimers } from './system.ts';
import { RetryPolicy } from '../core/retry.ts';
import { NodeCryptoCaps } from '../dataplane/cipher-probe.ts';
import { loadControlKeys, loadCredentials, loadMaterial, type Credentials, type Material } from '../material/load.ts';
import { Attempt, type AttemptOutcome } from './attempt.ts';
import type { Endpoint } from '../link/link.ts';
import { type Tunnel } from '../tunnel/tunnel.ts';
import { promptLine } from '../material/prompt.ts';
import { TrafficStats } from './status.ts';
import { connectionOrder, hostToResolve } from '../core/remotes.ts';
import { ProxySetup, resolveHost } from './proxy-setup.ts';
import type { LinkVia } from './open-link.ts';
import { type LeakGuard } from './kill-switch-setup.ts';
import { ManagementLink } from './management-link.ts';
import { fanOut, type ProcessObserver } from './process-observer.ts';
import { DataPlane } from './data-plane.ts';

type StopSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP';

export class Client {
  readonly #o: ClientOptions;
  readonly #log: Logger;
  readonly #tunnel: Tunnel;
  readonly #caps = new NodeCryptoCaps();
  readonly #material = new Map<number, Material>();
  readonly #proxies: ProxySetup;
  /** Traffic counters over the whole process (--status, SIGUSR2). */
  readonly stats: TrafficStats;
  /** auth-user-pass, read once (the password is dropped after use with auth-nocache). */
  #username: string | undefined;
  #password: string | undefined;
  /** A pushed auth-token replaces the password on reconnects until the server refuses it. */
  #token: { readonly token: string; readonly user: string | undefined } | undefined;
  #tokenInUse = false;
  #resolveFailingSince: number | undefined;
  /** persist-remote-ip: the last connected server address per connection profile. */
  readonly #kept = new Map<number, { readonly remote: Endpoint; readonly via: LinkVia }>();
  #attempt: Attempt | undefined;
  #stop: StopSignal | undefined;
  /** A limit ended the session (inactive, session-timeout): OpenVPN's internal SIGTERM. */
  #doneReason: string | undefined;
  #wake: (() => void) | undefined;
  /** The kill switch, once installed (kill-switch-setup.ts). */
  #guard: LeakGuard | undefined;
  readonly #mgmt: ManagementLink | undefined;
  /** The management interface and systemd, told of states, endings, reloads and stops. */
  readonly #observers: ProcessObserver;
  /** The data-plane worker, started now so that it is ready when the first UDP link opens. */
  readonly #dataPlane: DataPlane;

  constructor(o: ClientOptions, log: Logger, tunnel: Tunnel, mgmt?: ManagementLink, stats = new TrafficStats(), observers: readonly ProcessObserver[] = []) {
    this.stats = stats;
    this.#observers = fanOut(observers);
    this.#o = o;
    this.#log = log;
    this.#tunnel = tunnel;
    this.#mgmt = mgmt;
    this.#dataPlane = new DataPlane(o, log);
    this.#proxies = new ProxySetup(o, (host, port, af) => (this.#guard === undefined ? resolveHost(host, port, af) : this.#guard.resolve(host, port, af)));
  }

  /** The kill switch: its pinned addresses resolve remotes, and every endpoint is allowed before use. */
  useGuard(guard: LeakGuard | undefined): void {
    this.#guard = guard;
  }

  requestStop(signal: StopSignal): void {
    if (this.#stop !== undefined) return;
    this.#stop = signal;
    this.#wake?.();
    this.#mgmt?.abort();
    // SIGHUP with a configuration that loads: this session ends and a new one starts (a reload)
    if (signal === 'SIGHUP') this.#observers.reloading?.();
    else this.#observers.stopping?.();
    this.#attempt?.stop(signal.toLowerCase());
  }

  requestRestart(signal: string, reason = 'connection-reset'): void {
    if (signal === 'SIGHUP') this.#observers.reloading?.();
    this.#log.info(`${signal}[soft,${reason}] received, process restarting`);
    this.#attempt?.stop(signal.toLowerCase(), true);
  }

  /**
   * user/group: every connection profile's key material is read now, while the files are still
   * readable (as 2.6 reads them before its drop); a reconnect after the drop reads no file.
   */
  async #loadAllMaterial(): Promise<void> {
    if (this.#material.size > 0) return;
    const first = await loadMaterial(this.#o, 0);
    for (const w of first.warnings) this.#log.warn(w);
    this.#material.set(0, first);
    for (let i = 1; i < this.#o.connections.length; i++) this.#material.set(i, { tls: first.tls, control: loadControlKeys(this.#o, i), warnings: [] });
  }

  async run(): Promise<number> {
    const o = this.#o;
    const connections = connectionOrder(o, systemRandom);
    if (connections.length === 0) throw new NotImplementedError(`no remote uses proto ${o.protoForce ?? ''} (proto-force)`);
    const policy = new RetryPolicy({ connections, tlsExit: o.tlsExit, connectRetryMaxTries: o.connectRetryMaxTries });
    let result: number = ExitCode.OK;
    let exitDetail: string | undefined;
    try {
      await this.#mgmt?.hold(0);
      if (o.user !== undefined || o.group !== undefined) await this.#loadAllMaterial();
      while (this.#stop === undefined) {
        const ce = connections[policy.index];
        if (ce === undefined) break;
        const outcome = await this.#attemptOnce(ce, o.connections.indexOf(ce));
        if (this.#stop !== undefined) break;
        if (outcome.kind === 'done') {
          this.#log.info(outcome.message);
          this.#doneReason = outcome.reason;
        }
        if (outcome.kind === 'restart') {
          this.#log.error(`${outcome.message} (${outcome.reason}); restarting`);
          if (outcome.reason === 'auth-failed') this.#onAuthFailed();
          if (outcome.reason === 'proxy-auth' && this.#o.authRetry === 'interact') this.#proxies.forget();
        }
        const next = policy.next(outcome);
        exitDetail = managementDetail(outcome);
        if (outcome.kind === 'restart' && outcome.reason === 'auth-failed' && this.#o.authUserPass !== undefined) this.#mgmt?.mgmt.authFailed('Auth');
        if (next.kind !== 'exit' && this.#stop === undefined) this.#observers.ending('RECONNECTING', exitDetail);
        if (this.#mgmt !== undefined) {
          if (next.kind !== 'exit' && this.#stop === undefined) {
            this.#mgmt.restarted();
            // init.c socket_restart_pause: a hold replaces the pause (SIGHUP starts over: 0, else at least 1 s)
            if (await this.#mgmt.hold(outcome.kind === 'stopped' && outcome.signal === 'sighup' ? 0 : Math.max(1, next.delaySeconds))) continue;
          }
        }
        if (next.kind === 'exit') {
          if (next.message !== undefined) this.#log.error(next.message);
          result = next.code;
          break;
        }
        if (outcome.kind === 'stopped') continue;
        this.#log.info(`Restart pause, ${next.delaySeconds} second(s)`);
        await this.#sleep(next.delaySeconds * 1000);
      }
    } finally {
      await this.#dataPlane.stop();
      await this.#tunnel.close(this.#stop?.toLowerCase() ?? 'error');
      this.#observers.ending(this.#stop === 'SIGHUP' ? 'RECONNECTING' : 'EXITING', this.#stop ?? exitDetail ?? 'SIGTERM');
    }
    if (this.#stop === 'SIGHUP') this.#log.info('SIGHUP[hard,] received, process restarting');
    else if (this.#doneReason !== undefined) this.#log.info(`SIGTERM[soft,${this.#doneReason}] received, process exiting`);
    else if (this.#stop !== undefined || result === ExitCode.OK) this.#log.info(`${this.#stop ?? 'SIGTERM'}[hard,] received, process exiting`);
    else this.#log.info('Exiting due to fatal error');
    return result;
  }

  async #attemptOnce(ce: ConnectionEntry, index: number): Promise<AttemptOutcome> {
    let remote: Endpoint;
    let via: LinkVia;
    const kept = this.#o.persistRemoteIp ? this.#kept.get(index) : undefined;
    try {
      if (kept !== undefined) this.#log.verb(3, `persist-remote-ip: using ${kept.remote.address}:${kept.remote.port} again`);
      ({ remote, via } = kept ?? (await this.#proxies.prepare(ce, hostToResolve(ce.remote, this.#o.remoteRandomHostname, systemRandom))));
      this.#resolveFailingSince = undefined;
    } catch (e) {
      const message = `RESOLVE: Cannot resolve host address: ${ce.remote}:${ce.remotePort} (${(e as Error).message})`;
      const now = systemClock.now();
      this.#resolveFailingSince ??= now;
      const limit = this.#o.resolvRetry;
      if (limit !== 'infinite' && now - this.#resolveFailingSince >= limit * 1000) {
        this.#log.error(message);
        return { kind: 'exit', error: new TimeoutError(`could not resolve ${ce.remote} for ${limit} s (resolv-retry ${limit}): giving up`) };
      }
      return { kind: 'restart', reason: 'resolve', message, connected: false };
    }
    try {
      await this.#guard?.allow(ce, remote, via.proxy);
    } catch (e) {
      return { kind: 'exit', error: e instanceof OvpnError ? e : new OsError('FIREWALL', `kill switch: ${(e as Error).message}`, { cause: e }) };
    }
    let material = this.#material.get(index);
    if (material === undefined) {
      material = await loadMaterial(this.#o, index);
      for (const w of material.warnings) this.#log.warn(w);
      this.#material.set(index, material);
    }
    const credentials = await this.#credentials();
    if (this.#stop !== undefined) return { kind: 'stopped', signal: this.#stop.toLowerCase() };
    const attempt = new Attempt({
      options: this.#o,
      connection: ce,
      connectionIndex: index,
      remote,
      via,
      material,
      credentials,
      onAuthToken: (token, user) => {
        this.#token = { token, user };
      },
      tunnel: this.#tunnel,
      stats: this.stats,
      clock: systemClock,
      random: systemRandom,
      caps: this.#caps,
      log: this.#log,
      onState: (s, info) => this.#observers.onState(s, info),
      onTunnel: (pushed) => this.#observers.onTunnel(pushed),
      dataWorker: () => this.#dataPlane.worker(),
    });
    this.#attempt = attempt;
    try {
      return await attempt.run();
    } finally {
      this.#attempt = undefined;
      // persist-remote-ip: the address a session was authenticated with (floated, if it moved).
      if (attempt.connected && via.proxy === undefined) this.#kept.set(index, { remote: attempt.remote, via });
    }
  }

  /** The credentials for the next KM2: the auth-token if the server gave one, else auth-user-pass. */
  async #credentials(): Promise<Credentials | undefined> {
    const o = this.#o;
    if (o.authUserPass === undefined) return undefined;
    if (this.#token !== undefined && this.#username !== undefined) {
      this.#tokenInUse = true;
      return { username: this.#token.user ?? this.#username, password: this.#token.token };
    }
    this.#tokenInUse = false;
    let username = this.#username;
    let password = this.#password;
    if (username === undefined || password === undefined) {
      const c = this.#mgmt?.queryPasswords === true && o.authUserPass.source === 'stdin' ? await this.#mgmt.queryAuth(o.authNocache) : await loadCredentials(o);
      if (c === undefined) return undefined;
      ({ username, password } = c);
      this.#username = username;
      // auth-nocache: keep the password only for this attempt.
      this.#password = o.authNocache ? undefined : password;
    }
    return { username, password: await staticChallenge(o, password) };
  }

  /** management `forget-passwords`, management-forget-disconnect (ssl_purge_auth). */
  forgetPasswords(): void {
    this.#mgmt?.forgetAuth();
    this.#username = undefined;
    this.#password = undefined;
    this.#token = undefined;
  }

  /** push.c receive_auth_failed: a refused token is dropped; auth-retry interact asks again. */
  #onAuthFailed(): void {
    if (this.#tokenInUse) {
      this.#log.info('the server refused the auth-token: retrying with the configured credentials');
      this.#token = undefined;
      return;
    }
    if (this.#o.authRetry === 'interact') {
      this.#password = undefined;
      this.#mgmt?.forgetAuth();
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = systemTimers.set(ms, done);
      function done(): void {
        systemTimers.clear(t);
        resolve();
      }
      this.#wake = done;
    });
  }
}

/** The reason a management client sees with RECONNECTING / EXITING (sig.c signal_restart_status). */
function managementDetail(outcome: AttemptOutcome): string {
  if (outcome.kind === 'stopped') return outcome.signal.toUpperCase();
  if (outcome.kind === 'restart') return outcome.reason === 'auth-failed' ? 'auth-failure' : outcome.reason;
  if (outcome.kind === 'done') return outcome.reason;
  return outcome.error.code === 'AUTH_FAILED' ? 'auth-failure' : 'fatal-error';
}

/**
 * static-challenge: ask the challenge (an OTP, usually) on every new authentication and send
 * `SCRV1:base64(password):base64(response)` as the password (management-notes.txt).
 */
async function staticChallenge(o: ClientOptions, password: string): Promise<string> {
  const sc = o.staticChallenge;
  if (sc === undefined) return password;
  const response = await promptLine(`${sc.text} `, { echo: sc.echo });
  const b64 = (t: string): string => Buffer.from(t, 'utf8').toString('base64');
  return `SCRV1:${b64(password)}:${b64(response)}`;
}
