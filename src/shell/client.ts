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
import { rmSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { ClientOptions, ConnectionEntry } from '../config/index.ts';
import { ConfigErrors, ExitCode, NotImplementedError, OsError, OvpnError, TimeoutError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import { systemClock, systemRandom, systemTimers } from './system.ts';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { startStatusFile } from './status-file.ts';
import { RetryPolicy } from '../core/retry.ts';
import { NodeCryptoCaps } from '../dataplane/cipher-probe.ts';
import { loadCredentials, loadMaterial, type Credentials, type Material } from '../material/load.ts';
import { Attempt, type AttemptOutcome } from './attempt.ts';
import type { Endpoint } from '../link/link.ts';
import { NullTunnel, type Tunnel } from '../tunnel/tunnel.ts';
import { ScriptHooks } from '../scripts/hooks.ts';
import { packageVersion } from '../cli/version.ts';
import { promptLine } from '../material/prompt.ts';
import { formatStatus, TrafficStats } from './status.ts';
import { connectionOrder, hostToResolve } from '../core/remotes.ts';
import { ProxySetup, resolveHost, unsupportedProxy } from './proxy-setup.ts';
import type { LinkVia } from './open-link.ts';
import { setUpKillSwitch, type LeakGuard } from './kill-switch-setup.ts';
import { ManagementLink } from './management-link.ts';
import { SystemdNotifier } from './systemd-notify.ts';
import { fanOut, type ProcessObserver } from './process-observer.ts';
import { daemonReady } from './daemon-ready.ts';

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

  constructor(o: ClientOptions, log: Logger, tunnel: Tunnel, mgmt?: ManagementLink, stats = new TrafficStats(), observers: readonly ProcessObserver[] = []) {
    this.stats = stats;
    this.#observers = fanOut(observers);
    this.#o = o;
    this.#log = log;
    this.#tunnel = tunnel;
    this.#mgmt = mgmt;
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

  async run(): Promise<number> {
    const o = this.#o;
    const connections = connectionOrder(o, systemRandom);
    if (connections.length === 0) throw new NotImplementedError(`no remote uses proto ${o.protoForce ?? ''} (proto-force)`);
    const policy = new RetryPolicy({ connections, tlsExit: o.tlsExit, connectRetryMaxTries: o.connectRetryMaxTries });
    let result: number = ExitCode.OK;
    let exitDetail: string | undefined;
    try {
      await this.#mgmt?.hold(0);
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

function banner(log: Logger): void {
  log.info(`ovpn-ts ${packageVersion()} (OpenVPN 2.6 compatible) [Node ${process.versions.node}] [OpenSSL ${process.versions.openssl}]`);
}

/**
 * What the configuration asks for that ovpn-ts does not do yet and must not silently skip:
 * a proxy authentication method other than Basic, a verification script (we would accept servers it
 * refuses), other trust anchors. `--check` accepts these configs with a warning.
 */
export function refusedAtConnect(o: ClientOptions): string[] {
  const out: string[] = [];
  for (const c of o.connections) {
    const why = unsupportedProxy(c);
    if (why !== undefined && !out.includes(why)) out.push(why);
  }
  if (o.scripts['tls-verify'] !== undefined) out.push('tls-verify is not implemented yet: the script would not run, and servers it refuses would be accepted');
  if (o.capath !== undefined && o.ca === undefined) out.push('capath is not implemented yet: put the CA certificates in a ca file');
  if (o.peerFingerprints.length > 0 && o.ca === undefined) out.push('peer-fingerprint is not implemented yet: use ca with the CA certificate of the server');
  return out;
}

/** What the composition root lends the shell: re-reading the configuration for SIGHUP. */
export interface ClientHooks {
  /** The configuration as it is now on disk (throws ConfigErrors when it no longer loads). */
  readonly reload?: () => ClientOptions;
}

/** Runs the client until a signal or a fatal error; returns the process exit code. */
/** What stays across SIGHUP reloads: counters, the management interface, systemd, the daemon parent. */
interface ProcessParts {
  readonly stats: TrafficStats;
  readonly mgmt: ManagementLink | undefined;
  readonly observers: readonly ProcessObserver[];
}

export async function runClient(first: ClientOptions, shellLog: Logger, hooks: ClientHooks = {}): Promise<number> {
  const stats = new TrafficStats();
  // opened once, before the first attempt, and kept across SIGHUP reloads (as 2.6's management)
  const mgmt = await ManagementLink.open(first, shellLog, stats);
  const log = mgmt?.logger ?? shellLog;
  const systemd = SystemdNotifier.fromEnv(process.env, log);
  const daemonChild = process.send !== undefined && process.env['OVPN_TS_DAEMON_CHILD'] === '1';
  const parts: ProcessParts = { stats, mgmt, observers: [...(mgmt === undefined ? [] : [mgmt]), ...(systemd === undefined ? [] : [systemd]), ...(daemonChild ? [daemonReady()] : [])] };
  try {
    let o = first;
    for (;;) {
      const r = await runOnce(o, log, hooks, parts);
      if (r.kind === 'exit') return r.code;
      o = r.options;
      mgmt?.restarted();
    }
  } finally {
    systemd?.close();
    await mgmt?.close();
  }
}

/** SIGHUP: the new options, or undefined (logged) when the configuration no longer loads. */
function reloadOptions(log: Logger, reload: () => ClientOptions): ClientOptions | undefined {
  try {
    return reload();
  } catch (e) {
    const errors = e instanceof ConfigErrors ? e.errors.map((x) => x.message) : [(e as Error).message];
    for (const m of errors) log.error(`SIGHUP: ${m}`);
    log.error(`SIGHUP: the configuration no longer loads (${errors.length} error${errors.length === 1 ? '' : 's'}); the current session continues with the configuration it started with`);
    return undefined;
  }
}

async function runOnce(o: ClientOptions, log: Logger, hooks: ClientHooks, parts: ProcessParts): Promise<{ kind: 'exit'; code: number } | { kind: 'reload'; options: ClientOptions }> {
  banner(log);
  const refused = refusedAtConnect(o);
  if (refused.length > 0) {
    for (const r of refused) log.error(r);
    throw new NotImplementedError(refused.join('; '));
  }
  for (const words of o.echo) log.verb(3, `echo ${words.join(' ')}`);
  if (o.nice !== 0) setPriority(o.nice);
  // The kill switch learns the tun device's name whenever it is (re)opened.
  const dev: { name?: string; guard?: LeakGuard | undefined } = {};
  const onDevice = (name: string): void => {
    dev.name = name;
    dev.guard?.setTunDev(name).catch((e: unknown) => log.error(`kill switch: ${(e as Error).message}`));
  };
  const tunnel: Tunnel = o.dev === 'null' ? new NullTunnel(Object.keys(o.scripts).length === 0 ? undefined : new ScriptHooks(o, { log })) : await openTunTunnel(o, log, onDevice);
  if (o.writepid !== undefined) writePid(o.writepid);
  const client = new Client(o, log, tunnel, parts.mgmt, parts.stats, parts.observers);
  let reloaded: ClientOptions | undefined;
  const onTerm = (): void => client.requestStop('SIGTERM');
  const onInt = (): void => client.requestStop('SIGINT');
  const onHup = (): void => {
    if (hooks.reload === undefined) return client.requestRestart('SIGHUP');
    const next = reloadOptions(log, hooks.reload);
    if (next === undefined) return;
    reloaded = next;
    client.requestStop('SIGHUP');
  };
  // remap-usr1: SIGUSR1 acts as SIGHUP or SIGTERM (for SIGUSR1 sent by tools that mean otherwise).
  const onUsr1 = (): void => (o.remapUsr1 === 'SIGTERM' ? client.requestStop('SIGTERM') : o.remapUsr1 === 'SIGHUP' ? onHup() : client.requestRestart('SIGUSR1'));
  const onUsr2 = (): void => {
    for (const line of formatStatus(client.stats, new Date()).trimEnd().split('\n')) log.info(line);
  };
  const status = o.status === undefined ? undefined : startStatusFile(o.status.path, o.status.seconds, client.stats, log);
  const onFatal = (err: unknown): void => {
    log.error(`internal error: ${err instanceof Error ? err.message : String(err)} (this is a bug; tearing down)`);
    process.exitCode = ExitCode.ERROR;
    client.requestStop('SIGTERM');
  };
  // `signal X` from the management interface does what the process signal does
  parts.mgmt?.handlers(
    (sig, reason) => {
      if (sig === 'SIGTERM' || sig === 'SIGINT') client.requestStop(sig);
      else if (sig === 'SIGUSR2') onUsr2();
      else if (sig === 'SIGHUP') onHup();
      else if (reason === undefined) client.requestRestart(sig);
      else client.requestRestart(sig, reason);
    },
    () => client.forgetPasswords(),
  );
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGUSR1', onUsr1);
  process.on('SIGHUP', onHup);
  process.on('SIGUSR2', onUsr2);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  let guard: LeakGuard | undefined;
  let reloading = false;
  try {
    // Before the first packet to a server; removed below on every exit path (docs/leak-protection.md).
    try {
      guard = await setUpKillSwitch(o, log.scope('route'), dev.name);
    } catch (e) {
      await tunnel.close('error');
      throw e;
    }
    dev.guard = guard;
    client.useGuard(guard);
    const code = await client.run();
    if (reloaded !== undefined && (process.exitCode ?? 0) === 0) {
      reloading = true; // the kill switch stays for the next run to take over: no gap between the two
      return { kind: 'reload', options: reloaded };
    }
    return { kind: 'exit', code: typeof process.exitCode === 'number' && process.exitCode !== 0 ? process.exitCode : code };
  } finally {
    if (o.writepid !== undefined) rmSync(o.writepid, { force: true });
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGUSR1', onUsr1);
    process.off('SIGHUP', onHup);
    process.off('SIGUSR2', onUsr2);
    status?.stop();
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
    if (!reloading) await guard?.remove().catch((e: unknown) => log.error(`kill switch: cannot remove the rules: ${(e as Error).message} (nft delete table inet ovpn_ts removes them)`));
  }
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

function writePid(path: string): void {
  try {
    writeFileAtomic(path, `${process.pid}\n`);
  } catch (e) {
    throw new OsError('OS', `cannot write the pid file ${path} (writepid): ${(e as Error).message}`, { cause: e });
  }
}

async function openTunTunnel(o: ClientOptions, log: Logger, onDevice: (name: string) => void): Promise<Tunnel> {
  const { TunTunnel } = await import('../tunnel/tun-tunnel.ts');
  return TunTunnel.create(o, log.scope('tun'), onDevice);
}
