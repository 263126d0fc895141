/**
 * One connection attempt: the I/O shell around one ClientCore. It owns the link, the TLS
 * engines, the data channel and the attempt's single timer, performs the core's actions and
 * feeds it what happened. It decides nothing about the protocol.
 *
 *   link ──▶ opcode? ── data ──▶ DataPath (open ──▶ tunnel / core: ping, OCC, float)
 *              └────── control ─▶ ClientCore.handle ──▶ actions (send, TLS, keys, tunnel, end)
 *   TLS engine (async) ─ciphertext/plaintext/secure─▶ ClientCore.handle (tagged by engine id)
 *   tunnel ──▶ DataPath (seal ──▶ link)             timer ──▶ ClientCore.handle({timer})
 *
 * The DataPath (data-path.ts) is the main thread's, or, for TCP and for UDP without a SOCKS relay,
 * the data-plane worker's (worker-data-path.ts), which then also is the link and hands control
 * packets back here.
 *
 * Inputs are queued so the core never runs re-entrantly, even when Node's TLS calls back
 * synchronously from inside an action. Teardown is one path (#teardown) that always
 * completes and always resolves run(), whatever fails inside it.
 */
import type { X509Certificate } from 'node:crypto';
import type { ClientOptions, ConnectionEntry } from '../config/index.ts';
import { OsError, OvpnError, TlsError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Clock, Random, Timers } from '../base/clock.ts';
import { ClientCore, fmtEndpoint, type CoreAction, type CoreInput, type Outcome } from '../core/client-core.ts';
import type { DataParams } from '../core/negotiate.ts';
import type { ClientState } from '../core/session-types.ts';
import type { Endpoint, Link, LinkEvents } from '../link/link.ts';
import { linkFailure, openLink, type LinkVia, type OpenLinkOptions } from './open-link.ts';
import { createClientTlsEngine, type TlsEngine } from '../tls/tls-engine.ts';
import { checkPeerCertificate, commonName } from '../tls/verify.ts';
import { EKM_LABEL, KEY2_LENGTH } from '../tls/keys.ts';
import { Opcode, opcodeName } from '../tls/packet.ts';
import type { Credentials, Material } from '../material/load.ts';
import { buildSessionConfig } from './session-config.ts';
import { certPolicy } from './data-setup.ts';
import type { CryptoCaps } from '../dataplane/cipher-suite.ts';
import type { DataPlaneWorker } from '../dataplane/worker-host.ts';
import { MainDataPath, type DataPath, type DataPathHost } from './data-path.ts';
import { WorkerDataPath } from './worker-data-path.ts';
import type { Tunnel } from '../tunnel/tunnel.ts';
import type { TrafficStats } from './status.ts';
import { systemTimers } from './system.ts';
import { canRoam, Roaming, type RoamingDeps } from './roaming.ts';

export type { Outcome as AttemptOutcome } from '../core/client-core.ts';

export interface AttemptDeps {
  readonly options: ClientOptions;
  readonly connection: ConnectionEntry;
  readonly connectionIndex: number;
  readonly remote: Endpoint;
  readonly material: Material;
  /** Username and password for KM2 (the password may be an auth-token from an earlier push). */
  readonly credentials?: Credentials | undefined;
  /** Called when the server pushes an auth-token, so later attempts can use it. */
  readonly onAuthToken?: (token: string, user: string | undefined) => void;
  readonly tunnel: Tunnel;
  readonly clock: Clock;
  readonly random: Random;
  readonly caps: CryptoCaps;
  readonly log: Logger;
  /** Process-wide traffic counters (--status, SIGUSR2), kept across attempts. */
  readonly stats: TrafficStats;
  /** Opens the transport; tests pass an in-memory link. Default: UDP or TCP per `proto`. */
  readonly openLink?: (opts: OpenLinkOptions, events: LinkEvents) => Promise<Link>;
  /** A proxy, the server's unresolved name for it, socket options (client.ts). */
  readonly via?: LinkVia | undefined;
  /** The attempt's one timer; loopback tests pass virtual-time timers. Default: setTimeout. */
  readonly timers?: Timers;
  /** Roaming's network watcher; tests pass the memory twin. Default: rtnetlink. */
  readonly openWatcher?: RoamingDeps['openWatcher'];
  /** OpenVPN state changes and the tunnel's options, for the management interface (management-link.ts). */
  readonly onState?: ((state: ClientState, info: { readonly remote: Endpoint; readonly local: Endpoint | undefined }) => void) | undefined;
  readonly onTunnel?: ((pushed: ClientOptions) => void) | undefined;
  /** The data-plane worker for a TCP link or a UDP one without a SOCKS relay (data-plane.ts); the main thread's data path when absent or undefined. */
  readonly dataWorker?: (() => Promise<DataPlaneWorker | undefined>) | undefined;
}

export type { OpenLinkOptions as LinkOpenOptions } from './open-link.ts';

export class Attempt {
  readonly #d: AttemptDeps;
  readonly #log: Logger;
  readonly #core: ClientCore;
  readonly #tls = new Map<number, TlsEngine>();
  readonly #queue: CoreInput[] = [];
  readonly #timers: Timers;
  #feeding = false;
  #link: Link | undefined;
  #timer: unknown;
  #path: DataPath | undefined;
  #opening: Promise<void> | undefined;
  #peerCert: X509Certificate | undefined;
  /** Where data comes from (float moves it). */
  #remote: Endpoint;
  #ending = false;
  #resolve: ((o: Outcome) => void) | undefined;
  #roaming: Roaming | undefined;

  constructor(deps: AttemptDeps) {
    this.#d = deps;
    this.#log = deps.log;
    this.#timers = deps.timers ?? systemTimers;
    this.#remote = deps.remote;
    const session = buildSessionConfig(deps.options, deps.connection, deps.material, deps.credentials, fmtEndpoint(deps.remote), deps.remote.family === 6, deps.caps);
    this.#core = new ClientCore(
      {
        session,
        options: deps.options,
        connectionIndex: deps.connectionIndex,
        proto: deps.connection.proto,
        float: deps.connection.float,
        remote: deps.remote,
        explicitExitNotify: deps.connection.explicitExitNotify,
        caps: deps.caps,
        onAuthToken: deps.onAuthToken,
      },
      deps.random,
      deps.log,
      deps.clock.now(),
    );
  }

  get connected(): boolean {
    return this.#core.connected;
  }

  /** Where the server is now (its resolved address, or where it floated to). */
  get remote(): Endpoint {
    return this.#remote;
  }

  /** Runs the attempt until it ends; never rejects. */
  async run(): Promise<Outcome> {
    const done = new Promise<Outcome>((resolve) => {
      this.#resolve = resolve;
    });
    const { remote, connection } = this.#d;
    const opts: OpenLinkOptions = {
      remote,
      proto: connection.proto,
      float: connection.float,
      local: connection.bind || connection.local !== undefined || connection.localPort !== undefined ? { address: connection.local, port: connection.localPort } : undefined,
      connectTimeoutMs: connection.connectTimeout * 1000,
      via: this.#d.via,
    };
    const events: LinkEvents = { packet: (bytes, from) => this.#onPacket(bytes, from), error: (err) => this.#onLinkError(err) };
    try {
      // the worker takes TCP (directly or through a proxy) and UDP without a SOCKS relay
      const workerLink = this.#d.openLink === undefined && (connection.proto === 'tcp' || this.#d.via?.proxy === undefined);
      const worker = workerLink ? await this.#d.dataWorker?.() : undefined;
      if (worker !== undefined) {
        const path = await WorkerDataPath.open(worker, this.#pathHost(), opts, events);
        this.#path = path;
        this.#link = path.link;
        this.#d.stats.refresh = () => path.sync();
      } else {
        this.#link = await (this.#d.openLink ?? openLink)(opts, events);
        this.#path = new MainDataPath(this.#pathHost(), remote, connection.proto);
      }
    } catch (e) {
      return linkFailure(e, this.#d.options.authRetry);
    }
    if (this.#ending) {
      this.#link.close();
      return { kind: 'stopped', signal: 'sigterm' };
    }
    this.#log.info(`${connection.proto.toUpperCase()}${remote.family === 6 ? 'v6' : 'v4'} link remote: ${fmtEndpoint(remote)}`);
    this.#feed({ kind: 'start' });
    return done;
  }

  /** A signal: SIGTERM/SIGINT leave (explicit-exit-notify first), SIGUSR1/SIGHUP reconnect. */
  stop(signal = 'sigterm', restart = false): void {
    if (this.#link === undefined) {
      this.#ending = true;
      return;
    }
    this.#feed({ kind: 'stop', signal, restart });
  }

  #onPacket(bytes: Uint8Array, from: Endpoint): void {
    if (this.#ending || bytes.byteLength === 0) return;
    this.#d.stats.linkReadBytes += bytes.byteLength;
    const op = (bytes[0] ?? 0) >> 3;
    if (op === Opcode.DATA_V1 || op === Opcode.DATA_V2) this.#path?.onData(bytes, from);
    else {
      this.#log.verb(9, `READ [${bytes.byteLength}] ${opcodeName(op)} kid=${(bytes[0] ?? 0) & 7}`);
      this.#feed({ kind: 'control-packet', bytes: bytes.slice() });
    }
  }

  /** What the data path needs from this attempt. */
  #pathHost(): DataPathHost {
    const d = this.#d;
    return {
      core: this.#core,
      feed: (input) => this.#feed(input),
      clock: d.clock,
      stats: d.stats,
      tunnel: d.tunnel,
      log: this.#log,
      setup: { options: d.options, connection: d.connection, family: d.remote.family, randomByte: () => d.random.bytes(1)[0] ?? 0, log: this.#log },
      remote: () => this.#remote,
      link: () => this.#link,
      ending: () => this.#ending,
    };
  }

  #onLinkError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNRESET' && this.#link?.proto === 'tcp') this.#feed({ kind: 'link-closed' });
    else this.#feed({ kind: 'link-error', code, message: err.message });
  }

  #feed(input: CoreInput): void {
    if (this.#ending) return;
    this.#queue.push(input);
    if (this.#feeding) return;
    this.#feeding = true;
    try {
      this.#path?.sync(); // traffic the worker counted reaches the core before it decides on deadlines
      for (let next = this.#queue.shift(); next !== undefined && !this.#ending; next = this.#queue.shift()) {
        for (const a of this.#core.handle(next, this.#d.clock.now(), this.#d.clock.wallSeconds())) this.#apply(a);
      }
    } catch (e) {
      // A bug, not a protocol event: end the attempt cleanly rather than leave it half-alive.
      const err = e instanceof OvpnError ? e : new OsError('OS', `internal error: ${(e as Error).message}`, { cause: e });
      void this.#teardown({ kind: 'exit', error: err });
    } finally {
      this.#feeding = false;
    }
    this.#rearm();
  }

  #apply(a: CoreAction): void {
    switch (a.kind) {
      case 'send':
        this.#log.verb(9, `WRITE [${a.bytes.byteLength}] ${opcodeName((a.bytes[0] ?? 0) >> 3)} kid=${(a.bytes[0] ?? 0) & 7}`);
        this.#link?.send(a.bytes);
        this.#d.stats.linkWriteBytes += a.bytes.byteLength;
        return;
      case 'tls-open':
        this.#openTls(a.engine);
        return;
      case 'tls-feed':
        this.#tls.get(a.engine)?.feedCiphertext(a.bytes);
        return;
      case 'tls-write':
        this.#tls.get(a.engine)?.writePlaintext(a.bytes);
        return;
      case 'tls-close':
        this.#tls.get(a.engine)?.destroy();
        this.#tls.delete(a.engine);
        return;
      case 'install-keys':
        this.#path?.install(a.keyId, a.key2, a.params);
        return;
      case 'open-tunnel':
        this.#d.onTunnel?.(a.pushed);
        this.#opening = this.#openTunnel(a.gen, a.pushed, a.params);
        return;
      case 'send-data':
        this.#path?.sendPayload(a.payload);
        return;
      case 'socket-buffers':
        this.#log.verb(3, `Socket Buffers: pushed${a.sndbuf === undefined ? '' : ` sndbuf ${a.sndbuf}`}${a.rcvbuf === undefined ? '' : ` rcvbuf ${a.rcvbuf}`}`);
        this.#link?.setBufferSizes?.({ sndbuf: a.sndbuf, rcvbuf: a.rcvbuf });
        return;
      case 'retire-key':
        this.#path?.retire(a.keyId);
        this.#log.verb(3, `TLS: transition-window elapsed: key id ${a.keyId} retired`);
        return;
      case 'set-remote':
        this.#remote = a.remote;
        this.#link?.setRemote?.(a.remote);
        return;
      case 'state':
        this.#log.verb(4, `MANAGEMENT: >STATE:${a.state}`);
        // 2.6 reports the socket's own address: a UDP socket is bound to one only with `local`
        this.#d.onState?.(a.state, { remote: this.#remote, local: this.#link?.proto === 'tcp' || this.#d.connection.local !== undefined ? this.#link?.local : undefined });
        return;
      case 'end':
        void this.#teardown(a.outcome);
        return;
    }
  }

  #openTls(engineId: number): void {
    const engine = createClientTlsEngine(this.#d.material.tls, {
      ciphertext: (bytes) => this.#feed({ kind: 'tls-ciphertext', engine: engineId, bytes: bytes.slice() }),
      plaintext: (bytes) => this.#feed({ kind: 'tls-plaintext', engine: engineId, bytes: bytes.slice() }),
      secure: (peer, protocol, cipher) => this.#onSecure(engineId, peer, protocol, cipher),
      error: (error) => this.#feed({ kind: 'tls-failed', engine: engineId, error }),
    });
    this.#tls.set(engineId, engine);
  }

  #onSecure(engineId: number, peer: X509Certificate | undefined, protocol: string | null, cipher: string): void {
    if (peer === undefined) {
      this.#feed({ kind: 'tls-failed', engine: engineId, error: new TlsError('the server sent no certificate') });
      return;
    }
    const refused = checkPeerCertificate(peer, certPolicy(this.#d.options));
    if (refused !== undefined) {
      this.#feed({ kind: 'tls-failed', engine: engineId, error: new TlsError(refused) });
      return;
    }
    this.#log.verb(2, `VERIFY OK: depth=0, ${peer.subject.split('\n').join(', ')}`);
    this.#peerCert = peer;
    this.#log.info(`Control Channel: ${protocol ?? 'TLS'}, cipher ${protocol ?? ''} ${cipher}, peer certificate: CN=${commonName(peer)}`);
    const engine = this.#tls.get(engineId);
    if (engine === undefined) return;
    this.#feed({ kind: 'tls-established', engine: engineId, ekm: engine.exportKeyingMaterial(KEY2_LENGTH, EKM_LABEL) });
  }

  async #openTunnel(gen: number, pushed: ClientOptions, p: DataParams): Promise<void> {
    try {
      await this.#d.tunnel.open(pushed, this.#d.remote, this.#path?.sendFromTunnel, {
        peerCert: this.#peerCert,
        connectionIndex: this.#d.connectionIndex,
        dataChannel: { cipher: p.cipher, auth: p.auth },
      });
      await this.#path?.tunnelOpened();
      this.#feed({ kind: 'tunnel-opened', gen });
      if (this.#core.connected && !this.#ending) this.#startRoaming();
    } catch (e) {
      this.#feed({ kind: 'tunnel-failed', gen, error: e instanceof OvpnError ? e : new OsError('OS', (e as Error).message, { cause: e }) });
    }
  }

  /** Follows the host's network from now on (src/shell/roaming.ts); the teardown stops it. */
  #startRoaming(): void {
    const d = this.#d;
    if (!canRoam(d.tunnel)) return;
    const hooks = { lastReceivedAt: () => this.#core.lastReceivedAt, probe: () => this.#path?.sendPayload('ping'), refreshSource: async () => this.#link?.refreshSource?.() };
    this.#roaming = new Roaming({ ...d, ...hooks, proto: d.connection.proto, timers: this.#timers, log: this.#log.scope('route'), reconnect: (message) => this.#feed({ kind: 'network-change', message }) });
    void this.#roaming.start();
  }

  #rearm(): void {
    if (this.#ending) return;
    this.#timers.clear(this.#timer);
    const now = this.#d.clock.now();
    const at = Math.min(this.#core.nextDeadline() ?? Infinity, now + 60_000);
    this.#timer = this.#timers.set(Math.max(0, Math.ceil(at - now)), () => this.#feed({ kind: 'timer' }));
  }

  /** The one teardown path: every step runs, whatever the one before did, and run() resolves. */
  async #teardown(outcome: Outcome): Promise<void> {
    if (this.#ending) return;
    this.#ending = true;
    this.#timers.clear(this.#timer);
    this.#roaming?.close();
    try {
      for (const engine of this.#tls.values()) engine.destroy();
      this.#tls.clear();
      // the worker lets go of the socket and the TUN before either is closed
      await this.#path?.close();
      this.#d.stats.refresh = undefined;
      this.#logDataDrops();
      this.#link?.close();
      // A tunnel still being configured finishes first, so the changes it makes are undone too.
      await this.#opening?.catch(() => undefined);
      // init.c signal_description: the restart reason (ping-restart...), or the stopping signal.
      await this.#d.tunnel.detach(outcome.kind === 'restart' || outcome.kind === 'done' ? outcome.reason : outcome.kind === 'stopped' ? outcome.signal : 'error');
    } catch (e) {
      this.#log.error(`teardown: ${(e as Error).message}`);
    } finally {
      this.#resolve?.(outcome);
    }
  }

  /** At --verb 3, like OpenVPN's statistics at exit: data packets dropped, by reason (forged, replayed...). */
  #logDataDrops(): void {
    const drops = Object.entries(this.#path?.drops() ?? {});
    this.#log.verb(3, `data channel drops: ${drops.length === 0 ? 'none' : drops.map(([name, n]) => `${name}=${n}`).join(' ')}`);
  }

  /** Counters for status output and tests. */
  stats(): { readonly dataDrops: number; readonly controlDrops: Readonly<Record<string, number>> } {
    let drops = 0;
    for (const n of Object.values(this.#path?.drops() ?? {})) drops += n;
    return { dataDrops: drops, controlDrops: this.#core.controlDrops };
  }
}
