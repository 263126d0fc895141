/**
 * One connection attempt: the I/O shell around one Session. Owns the link, the TLS engines,
 * the data channel, the tunnel and the single timer of this attempt, and ends with an outcome
 * (restart, exit, or stopped by a signal).
 *
 *   link ──▶ opcode? ── data ──▶ DataChannel.open ──▶ ping / OCC / tunnel.write
 *              └────── control ─▶ Session.handle ──▶ actions (send, TLS, keys, push, restart…)
 *   TLS engine (async) ─ciphertext/plaintext/secure─▶ Session.handle
 *   tunnel ──▶ DataChannel.seal ──▶ link           timer ──▶ Session + keepalive
 *
 * Inputs are queued so Session.handle never runs re-entrantly, even when Node's TLS calls back
 * synchronously from inside an action.
 */
import type { X509Certificate } from 'node:crypto';
import type { ClientOptions, ConnectionEntry } from './config/index.ts';
import { parsePushOptions } from './config/index.ts';
import { NegotiationError, OsError, OvpnError, TlsError } from './errors.ts';
import type { Logger } from './log.ts';
import type { Clock, Random } from './clock.ts';
import { Session, type SessionAction, type SessionInput } from './session.ts';
import type { Endpoint, Link, LinkEvents } from './link/link.ts';
import { openUdpLink } from './link/udp-link.ts';
import { createClientTlsEngine, type TlsEngine } from './tls/tls-engine.ts';
import { checkPeerCertificate, commonName, remoteCertTlsPolicy, type PeerCertPolicy } from './tls/verify.ts';
import { EKM_LABEL, KEY2_LENGTH } from './tls/keys.ts';
import { Opcode, opcodeName } from './tls/packet.ts';
import type { Credentials, Material } from './material.ts';
import { buildSessionConfig } from './session-config.ts';
import { negotiateDataChannel, type DataParams } from './negotiate.ts';
import { DataChannel } from './dataplane/data-channel.ts';
import { createDataCrypto } from './dataplane/create-data-crypto.ts';
import { splitKey2 } from './dataplane/data-crypto.ts';
import { DropReason, COMPRESSED_MESSAGE } from './dataplane/drop-reason.ts';
import { classifyPayload, PING_STRING, writeOcc, OccOpcode } from './dataplane/framing.ts';
import { Keepalive } from './keepalive.ts';
import type { Tunnel } from './tunnel.ts';
import type { TrafficStats } from './status.ts';

export type AttemptOutcome =
  | { readonly kind: 'restart'; readonly reason: string; readonly message: string; readonly connected: boolean; readonly backoffSeconds?: number | undefined }
  | { readonly kind: 'exit'; readonly error: OvpnError }
  | { readonly kind: 'stopped' };

/** ping.h PRE_PULL_INITIAL_PING_RESTART: UDP clients without their own ping-restart. */
const PRE_PULL_PING_RESTART_S = 120;
const BUF_SIZE = 65536 + 256;

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
  readonly log: Logger;
  /** Process-wide traffic counters (--status, SIGUSR2), kept across attempts. */
  readonly stats: TrafficStats;
  /** Opens the transport; tests pass an in-memory link. Default: UDP or TCP per `proto`. */
  readonly openLink?: (opts: LinkOpenOptions, events: LinkEvents) => Promise<Link>;
  /** The attempt's one timer; loopback tests pass virtual-time timers. Default: setTimeout. */
  readonly timers?: Timers;
}

/** The timer port (one-shot). Real timers by default; src/link/memory-link.ts VirtualTimers in tests. */
export interface Timers {
  set(ms: number, cb: () => void): unknown;
  clear(handle: unknown): void;
}

const realTimers: Timers = {
  set: (ms, cb) => setTimeout(cb, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};

export interface LinkOpenOptions {
  readonly remote: Endpoint;
  readonly proto: 'udp' | 'tcp';
  readonly float: boolean;
  readonly local: { readonly address?: string | undefined; readonly port?: number | undefined } | undefined;
}

async function defaultOpenLink(opts: LinkOpenOptions, events: LinkEvents): Promise<Link> {
  if (opts.proto === 'tcp') {
    const { openTcpLink } = await import('./link/tcp-link.ts');
    return openTcpLink(opts, events);
  }
  return openUdpLink(opts, events);
}

function fmtEndpoint(e: Endpoint): string {
  return e.family === 6 ? `[AF_INET6][${e.address}]:${e.port}` : `[AF_INET]${e.address}:${e.port}`;
}

function certPolicy(o: ClientOptions): PeerCertPolicy {
  const tls = o.remoteCertTls === undefined ? {} : remoteCertTlsPolicy(o.remoteCertTls);
  return {
    ...tls,
    ...(o.remoteCertKu === undefined ? {} : { remoteCertKu: o.remoteCertKu }),
    ...(o.remoteCertEku === undefined ? {} : { remoteCertEku: o.remoteCertEku }),
    verifyX509Name: o.verifyX509Name,
    nsCertType: o.nsCertType,
  };
}

/** Redacts values that must never reach a log: auth-token and auth-token-user. */
export function redactPush(options: readonly string[]): string {
  return options.map((o) => (/^auth-token(-user)?\s/.test(o) ? `${o.split(/\s/)[0] ?? ''} [redacted]` : o)).join(',');
}

export class Attempt {
  readonly #d: AttemptDeps;
  readonly #log: Logger;
  readonly #session: Session;
  readonly #tls = new Map<number, TlsEngine>();
  readonly #queue: SessionInput[] = [];
  #feeding = false;
  #link: Link | undefined;
  readonly #timers: Timers;
  #timer: unknown;
  #data: DataChannel | undefined;
  #params: DataParams | undefined;
  readonly #keepalive: Keepalive;
  readonly #rx = new Uint8Array(BUF_SIZE);
  readonly #tx = new Uint8Array(BUF_SIZE);
  #connected = false;
  #finished = false;
  #remote: Endpoint;
  #resolve: ((o: AttemptOutcome) => void) | undefined;
  #compressedLogged = false;
  #dataDrops = 0;

  constructor(deps: AttemptDeps) {
    this.#d = deps;
    this.#log = deps.log;
    this.#remote = deps.remote;
    this.#timers = deps.timers ?? realTimers;
    this.#session = new Session(
      buildSessionConfig(deps.options, deps.connection, deps.material, deps.credentials, fmtEndpoint(deps.remote), deps.remote.family === 6),
      deps.random,
      deps.log.scope('handshake'),
    );
    const udpPrePull = deps.connection.proto === 'udp' && deps.options.pingRestart === 0 && deps.options.keepalive === undefined;
    this.#keepalive = new Keepalive(this.#keepaliveConfig(deps.options.ping, deps.options.keepalive?.timeout ?? (udpPrePull ? PRE_PULL_PING_RESTART_S : deps.options.pingRestart)), deps.clock.now());
  }

  get connected(): boolean {
    return this.#connected;
  }

  #keepaliveConfig(ping: number, pingRestart: number): { pingMs: number; pingRestartMs: number; pingExitMs: number } {
    return { pingMs: ping * 1000, pingRestartMs: pingRestart * 1000, pingExitMs: this.#d.options.pingExit * 1000 };
  }

  /** Runs the attempt until it ends. */
  async run(): Promise<AttemptOutcome> {
    const done = new Promise<AttemptOutcome>((resolve) => {
      this.#resolve = resolve;
    });
    const { remote, connection } = this.#d;
    try {
      this.#link = await (this.#d.openLink ?? defaultOpenLink)(
        {
          remote,
          proto: connection.proto,
          float: connection.float,
          local: connection.bind || connection.local !== undefined || connection.localPort !== undefined ? { address: connection.local, port: connection.localPort } : undefined,
        },
        { packet: (bytes, from) => this.#onPacket(bytes, from), error: (err) => this.#onLinkError(err) },
      );
    } catch (e) {
      return { kind: 'restart', reason: 'link', message: (e as Error).message, connected: false };
    }
    this.#log.info(`${connection.proto.toUpperCase()}${remote.family === 6 ? 'v6' : 'v4'} link remote: ${fmtEndpoint(remote)}`);
    this.#feed({ kind: 'start' });
    return done;
  }

  /** SIGTERM/SIGINT: tell the server we leave (explicit-exit-notify), then tear down. `signal` is for the scripts. */
  async stop(signal = 'sigterm'): Promise<void> {
    if (this.#finished) return;
    this.#stopSignal = signal;
    const n = this.#d.connection.explicitExitNotify;
    if (n > 0 && this.#connected && this.#link?.proto === 'udp') {
      if (this.#params?.ccExit === true) {
        this.#applyAll(this.#session.exitNotify());
      } else {
        // its own buffer: sealing writes into #tx, which must not also be the source
        const occ = new Uint8Array(32);
        this.#sendData(occ.subarray(0, writeOcc(occ, OccOpcode.EXIT)));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.#finish({ kind: 'stopped' });
  }

  #onPacket(bytes: Uint8Array, from: Endpoint): void {
    if (this.#finished || bytes.byteLength === 0) return;
    this.#d.stats.linkReadBytes += bytes.byteLength;
    const op = (bytes[0] ?? 0) >> 3;
    if (op === Opcode.DATA_V1 || op === Opcode.DATA_V2) this.#onData(bytes, from);
    else {
      this.#log.verb(9, `READ [${bytes.byteLength}] ${opcodeName(op)} kid=${(bytes[0] ?? 0) & 7}`);
      this.#feed({ kind: 'packet', bytes: bytes.slice() });
    }
  }

  #onData(bytes: Uint8Array, from: Endpoint): void {
    const data = this.#data;
    if (data === undefined) {
      this.#dataDrops++;
      return;
    }
    const n = data.openPacket(bytes, bytes.byteLength, this.#rx, this.#d.clock.wallSeconds());
    if (n < 0) {
      if (n === DropReason.COMPRESSED && !this.#compressedLogged) {
        this.#compressedLogged = true;
        this.#log.error(COMPRESSED_MESSAGE);
      }
      // On TCP a packet cannot be lost or reordered: a failure means the stream is broken
      // (forward.c process_incoming_link_part1 restarts with "decryption-error").
      if (this.#link?.proto === 'tcp' && (n === DropReason.AUTH || n === DropReason.DECRYPT || n === DropReason.REPLAY || n === DropReason.REPLAY_OLD)) {
        void this.#restart('decryption-error', 'data channel authentication or replay failure on TCP');
      }
      return;
    }
    const now = this.#d.clock.now();
    this.#keepalive.received(now);
    if (this.#d.connection.float) this.#float(from);
    const kind = classifyPayload(this.#rx, n);
    this.#d.stats.authReadBytes += bytes.byteLength;
    if (kind === 'ip') {
      this.#d.stats.tunWriteBytes += n;
      this.#d.tunnel.write(this.#rx, n);
    }
    else if (kind === 'occ-exit') void this.#restart('remote-exit', 'the server is shutting down (OCC exit)');
  }

  /** `float`: an authenticated packet came from a new address: the server moved (forward.c). */
  #float(from: Endpoint): void {
    if (from.address === this.#remote.address && from.port === this.#remote.port) return;
    this.#log.info(`Peer float: ${fmtEndpoint(this.#remote)} -> ${fmtEndpoint(from)}`);
    this.#remote = from;
    this.#link?.setRemote?.(from);
  }

  /** Seals a payload (ping, OCC) with the primary key and sends it. */
  #sendData(payload: Uint8Array): void {
    this.#seal(payload, payload.byteLength);
  }

  /** Packets the tunnel read from the OS (its drain loop calls this): seal and send. */
  readonly sendFromTunnel = (packet: Uint8Array, len: number): void => {
    this.#d.stats.tunReadBytes += len;
    this.#seal(packet, len);
  };

  /** Seals packet[0, len) with the primary key and sends it. */
  #seal(packet: Uint8Array, len: number): void {
    const data = this.#data;
    const link = this.#link;
    if (data === undefined || link === undefined) return;
    const n = data.sealPacket(packet, len, this.#tx);
    if (n <= 0) return;
    link.send(this.#tx.subarray(0, n));
    this.#d.stats.linkWriteBytes += n;
    this.#keepalive.sent(this.#d.clock.now());
  }

  #onLinkError(err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') {
      const r = this.#d.remote;
      void this.#restart('connection-refused', `nothing answers on udp port ${r.port} at ${r.address} (ICMP port unreachable): is the server running, and is proto udp right?`);
      return;
    }
    this.#log.warn(`link error: ${err.message}`);
  }

  #feed(input: SessionInput): void {
    this.#queue.push(input);
    if (this.#feeding) return;
    this.#feeding = true;
    try {
      for (let next = this.#queue.shift(); next !== undefined && !this.#finished; next = this.#queue.shift()) {
        this.#applyAll(this.#session.handle(next, this.#d.clock.now(), this.#d.clock.wallSeconds()));
      }
    } finally {
      this.#feeding = false;
    }
    this.#rearm();
  }

  #applyAll(actions: readonly SessionAction[]): void {
    for (const a of actions) this.#apply(a);
  }

  #apply(a: SessionAction): void {
    switch (a.kind) {
      case 'send':
        this.#log.verb(9, `WRITE [${a.bytes.byteLength}] ${opcodeName((a.bytes[0] ?? 0) >> 3)} kid=${(a.bytes[0] ?? 0) & 7}`);
        this.#link?.send(a.bytes);
        this.#d.stats.linkWriteBytes += a.bytes.byteLength;
        return;
      case 'tls-open':
        this.#openTls(a.keyId);
        return;
      case 'tls-feed':
        this.#tls.get(a.keyId)?.feedCiphertext(a.bytes);
        return;
      case 'tls-write':
        this.#tls.get(a.keyId)?.writePlaintext(a.bytes);
        return;
      case 'tls-close':
        this.#tls.get(a.keyId)?.destroy();
        this.#tls.delete(a.keyId);
        return;
      case 'push-reply':
        this.#onPushReply(a.options, a.serverOptions);
        return;
      case 'keys':
        this.#installKeys(a.keyId, a.key2);
        return;
      case 'state':
        this.#log.verb(4, `MANAGEMENT: >STATE:${a.state}`);
        return;
      case 'restart':
        void this.#restart(a.reason, a.message, a.backoffSeconds);
        return;
      case 'exit':
        void this.#finish({ kind: 'exit', error: a.error });
        return;
    }
  }

  #openTls(keyId: number): void {
    const engine = createClientTlsEngine(this.#d.material.tls, {
      ciphertext: (bytes) => this.#feed({ kind: 'tls-ciphertext', keyId, bytes: bytes.slice() }),
      plaintext: (bytes) => this.#feed({ kind: 'tls-plaintext', keyId, bytes: bytes.slice() }),
      secure: (peer, protocol, cipher) => this.#onSecure(keyId, peer, protocol, cipher),
      error: (error) => this.#feed({ kind: 'tls-failed', keyId, error }),
    });
    this.#tls.set(keyId, engine);
  }

  #onSecure(keyId: number, peer: X509Certificate | undefined, protocol: string | null, cipher: string): void {
    if (peer === undefined) {
      this.#feed({ kind: 'tls-failed', keyId, error: new TlsError('the server sent no certificate') });
      return;
    }
    const refused = checkPeerCertificate(peer, certPolicy(this.#d.options));
    if (refused !== undefined) {
      this.#feed({ kind: 'tls-failed', keyId, error: new TlsError(refused) });
      return;
    }
    this.#log.verb(2, `VERIFY OK: depth=0, ${peer.subject.split('\n').join(', ')}`);
    this.#peerCert = peer;
    this.#log.info(`Control Channel: ${protocol ?? 'TLS'}, cipher ${protocol ?? ''} ${cipher}, peer certificate: CN=${commonName(peer)}`);
    const engine = this.#tls.get(keyId);
    if (engine === undefined) return;
    const ekm = engine.exportKeyingMaterial(KEY2_LENGTH, EKM_LABEL);
    this.#feed({ kind: 'tls-established', keyId, ekm });
  }

  #onPushReply(options: readonly string[], serverOptions: string): void {
    this.#log.verb(3, `PUSH: Received control message: 'PUSH_REPLY,${redactPush(options)}'`);
    const r = parsePushOptions(options, this.#d.options, this.#d.options.pullFilters, this.#d.connectionIndex);
    for (const ig of r.ignored) this.#log.warn(`Options error: ${ig.reason} [PUSH-OPTIONS]: ${ig.option.split(/\s/)[0] ?? ''}`);
    for (const w of r.warnings) this.#log.verb(3, `pushed ${w.directive}: ${w.message}`);
    if (r.rejectedBy !== undefined) {
      void this.#restart('pull-filter', `pushed option rejected by pull-filter reject "${r.rejectedBy.filter.prefix}": ${r.rejectedBy.option.split(/\s/)[0] ?? ''}`);
      return;
    }
    const neg = negotiateDataChannel(r, this.#d.options, serverOptions);
    if (!neg.ok) {
      void this.#finish({ kind: 'exit', error: new NegotiationError(`OPTIONS ERROR: ${neg.error}`) });
      return;
    }
    this.#params = neg.params;
    this.#pushed = r.options;
    this.#keepalive.configure(this.#keepaliveConfig(neg.params.pingSeconds, neg.params.pingRestartSeconds));
    const user = r.options.authTokenUser === undefined ? undefined : Buffer.from(r.options.authTokenUser, 'base64').toString('utf8');
    if (r.options.authToken !== undefined) this.#d.onAuthToken?.(r.options.authToken, user);
    this.#feed({ kind: 'push-applied', useEkm: neg.params.useEkm, authToken: r.options.authToken, authTokenUser: user });
  }

  #pushed: ClientOptions | undefined;
  /** The server's certificate (its chain reaches the scripts' env) and the signal that stopped us. */
  #peerCert: X509Certificate | undefined;
  #stopSignal = 'sigterm';

  #installKeys(keyId: number, key2: Uint8Array): void {
    const p = this.#params;
    if (p === undefined) return;
    const keys = splitKey2(key2, 'client');
    key2.fill(0);
    const first = this.#data === undefined;
    const data = this.#data ?? new DataChannel({ compression: p.compression, replayWindow: this.#d.options.replayWindow.size, replaySeconds: this.#d.options.replayWindow.seconds });
    data.install(keyId, createDataCrypto(p.cipher, p.auth, keys.send), createDataCrypto(p.cipher, p.auth, keys.recv), p.peerId);
    this.#data = data;
    if (!first) {
      this.#log.verb(2, `TLS: renegotiation complete, data channel now uses key id ${keyId}`);
      return;
    }
    this.#log.info(`Data Channel: cipher '${p.cipher}'${p.auth === undefined ? '' : `, auth '${p.auth}'`}, peer-id: ${p.peerId ?? '(none, P_DATA_V1)'}, keys: ${p.useEkm ? 'TLS EKM' : 'PRF'}`);
    void this.#configureTunnel();
  }

  async #configureTunnel(): Promise<void> {
    const pushed = this.#pushed;
    if (pushed === undefined) return;
    try {
      await this.#d.tunnel.open(pushed, this.#d.remote, this.sendFromTunnel, { peerCert: this.#peerCert });
    } catch (e) {
      const err = e instanceof OvpnError ? e : new OsError('OS', (e as Error).message, { cause: e });
      await this.#finish({ kind: 'exit', error: err });
      return;
    }
    if (this.#finished) return;
    this.#connected = true;
    this.#log.info('Initialization Sequence Completed');
    this.#rearm();
  }

  #rearm(): void {
    if (this.#finished) return;
    this.#timers.clear(this.#timer);
    const now = this.#d.clock.now();
    const s = this.#session.nextDeadline() ?? Infinity;
    const k = this.#data === undefined && !this.#connected ? Infinity : (this.#keepalive.nextDeadline() ?? Infinity);
    const at = Math.min(s, k, now + 60_000);
    this.#timer = this.#timers.set(Math.max(0, Math.ceil(at - now)), () => this.#onTimer());
  }

  #onTimer(): void {
    if (this.#finished) return;
    const now = this.#d.clock.now();
    if (this.#data !== undefined) {
      const due = this.#keepalive.due(now);
      if (due === 'restart') {
        void this.#restart('ping-restart', `Inactivity timeout (--ping-restart), restarting`);
        return;
      }
      if (due === 'exit') {
        void this.#finish({ kind: 'exit', error: new OsError('OS', 'Inactivity timeout (--ping-exit), exiting') });
        return;
      }
      if (due === 'ping') this.#sendData(PING_STRING);
      // ssl.c: renegotiate before the data channel's packet id can wrap.
      if (this.#data.needsRenegotiation) this.#feed({ kind: 'renegotiate' });
    }
    this.#feed({ kind: 'timer' });
  }

  async #restart(reason: string, message: string, backoffSeconds?: number): Promise<void> {
    await this.#finish({ kind: 'restart', reason, message, connected: this.#connected, backoffSeconds });
  }

  async #finish(outcome: AttemptOutcome): Promise<void> {
    if (this.#finished) return;
    this.#finished = true;
    this.#timers.clear(this.#timer);
    for (const engine of this.#tls.values()) engine.destroy();
    this.#tls.clear();
    this.#logDataDrops();
    this.#data?.close();
    this.#link?.close();
    // init.c signal_description: the restart reason (ping-restart...), or the stopping signal.
    await this.#d.tunnel.detach(outcome.kind === 'restart' ? outcome.reason : outcome.kind === 'stopped' ? this.#stopSignal : 'error');
    this.#resolve?.(outcome);
  }

  /** At --verb 3, like OpenVPN's statistics at exit: data packets dropped, by reason (forged, replayed...). */
  #logDataDrops(): void {
    const d = this.#data;
    if (d === undefined) return;
    const parts = Object.entries(DropReason)
      .map(([name, code]) => [name, d.counters.drops[-code] ?? 0] as const)
      .filter(([, n]) => n > 0)
      .map(([name, n]) => `${name}=${n}`);
    this.#log.verb(3, `data channel drops: ${parts.length === 0 ? 'none' : parts.join(' ')}`);
  }

  /** Counters for status output and tests. */
  stats(): { readonly dataDrops: number; readonly controlDrops: Readonly<Record<string, number>> } {
    return { dataDrops: this.#dataDrops + (this.#data === undefined ? 0 : sumDrops(this.#data)), controlDrops: this.#session.controlDrops };
  }
}

function sumDrops(d: DataChannel): number {
  let n = 0;
  for (const v of d.counters.drops) n += v;
  return n;
}
