/**
 * The client core: every protocol decision of one connection, as a sans-IO state machine.
 * It wraps the control session (session.ts) and decides what OpenVPN 2.6's client decides
 * around it: push negotiation, keepalive (ping, ping-restart, ping-exit), float, the TCP
 * failure policy, OCC exit, renegotiation triggers, explicit-exit-notify, and OpenVPN's
 * client states. The shell (src/shell/attempt.ts) feeds it inputs with `now` and performs the
 * actions it returns; it knows no protocol.
 *
 *   CONNECTING ─start─▶ WAIT ─server reset─▶ AUTH ─KM2─▶ GET_CONFIG ─PUSH_REPLY─▶ ASSIGN_IP
 *     ─keys─▶ ADD_ROUTES (action open-tunnel) ─tunnel-opened─▶ CONNECTED
 *   any state ─restart reason─▶ RECONNECTING (action end)     ─fatal / stop─▶ EXITING (end)
 *
 * Results of async work carry the generation the core gave out (TLS engine ids, the tunnel
 * open), so a result that arrives after the core moved on is ignored. `end` is emitted once;
 * after it every input is ignored.
 *
 * Never: touch a socket, a timer, the clock or the TLS library; log secrets.
 */
import { fromBase64 } from '../base/bytes.ts';
import { NegotiationError, OsError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Random } from '../base/clock.ts';
import type { ClientOptions } from '../config/options.ts';
import { parsePushOptions } from '../config/push.ts';
import type { Endpoint } from '../link/link.ts';
import { Keepalive, type KeepaliveConfig } from './keepalive.ts';
import { SessionLimits } from './limits.ts';
import { negotiateDataChannel, type DataParams } from './negotiate.ts';
import { Session } from './session.ts';
import type { ClientState, SessionAction, SessionInput } from './session-types.ts';
import type { CoreAction, CoreConfig, CoreInput, Outcome } from './core-types.ts';

/** ping.h PRE_PULL_INITIAL_PING_RESTART: UDP clients without their own ping-restart. */
export const PRE_PULL_PING_RESTART_S = 120;
/** How long explicit-exit-notify waits for its packet to leave before the shell tears down. */
export const EXIT_NOTIFY_GRACE_MS = 100;

export type { CoreAction, CoreConfig, CoreInput, Outcome } from './core-types.ts';

/** Redacts values that must never reach a log: auth-token and auth-token-user. */
export function redactPush(options: readonly string[]): string {
  return options.map((o) => (/^auth-token(-user)?\s/.test(o) ? `${o.split(/\s/)[0] ?? ''} [redacted]` : o)).join(',');
}

export class ClientCore {
  readonly #cfg: CoreConfig;
  readonly #log: Logger;
  readonly #session: Session;
  readonly #keepalive: Keepalive;
  readonly #limits: SessionLimits;
  /** The previous primary key, kept for transition-window (a lame duck). */
  #lameDuck: number | undefined;
  /** TLS engine id per key id (engine ids never repeat). */
  readonly #engines = new Map<number, number>();
  #nextEngine = 1;
  #state: ClientState = 'CONNECTING';
  #params: DataParams | undefined;
  #keysInstalled = false;
  #tunnelGen = 0;
  #connected = false;
  #remote: Endpoint;
  #exitAt = Infinity;
  #pendingEnd: Outcome | undefined;
  #ended = false;

  constructor(cfg: CoreConfig, random: Random, log: Logger, now: number) {
    this.#cfg = cfg;
    this.#log = log;
    this.#remote = cfg.remote;
    this.#session = new Session(cfg.session, random, log.scope('handshake'));
    const o = cfg.options;
    const udpPrePull = cfg.proto === 'udp' && o.pingRestart === 0 && o.keepalive === undefined;
    this.#keepalive = new Keepalive(this.#keepaliveConfig(o.ping, o.keepalive?.timeout ?? (udpPrePull ? PRE_PULL_PING_RESTART_S : o.pingRestart)), now);
    this.#limits = new SessionLimits(
      { renegBytes: o.renegBytes, renegPkts: o.renegPkts, inactive: o.inactive, sessionTimeoutSeconds: o.sessionTimeout, transitionWindowSeconds: o.tranWindow },
      now,
    );
  }

  get state(): ClientState {
    return this.#state;
  }

  get connected(): boolean {
    return this.#connected;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Control packets dropped by the session, by reason. */
  get controlDrops(): Readonly<Record<string, number>> {
    return this.#session.controlDrops;
  }

  /**
   * Hot path, no allocation: an authenticated data packet of `bytes` arrived. True when a
   * renegotiation limit was just reached: the shell then feeds `data-limit`.
   */
  dataReceived(now: number, bytes: number, packets = 1): boolean {
    this.#keepalive.received(now);
    return this.#limits.keyTraffic(bytes, packets);
  }

  /** When the last authenticated data packet arrived. */
  get lastReceivedAt(): number {
    return this.#keepalive.lastReceived;
  }

  /** Hot path, no allocation: a data packet of `bytes` was sent (true: feed `data-limit`). */
  dataSent(now: number, bytes: number, packets = 1): boolean {
    this.#keepalive.sent(now);
    return this.#limits.keyTraffic(bytes, packets);
  }

  /** What the primary key may still carry before a reneg-bytes / reneg-pkts soft reset (a data path that counts elsewhere asks to be told then). */
  renegRemaining(): { readonly bytes: number; readonly packets: number } {
    return this.#limits.renegRemaining();
  }

  /** Hot path, no allocation: a packet of `bytes` was read from or written to the TUN device (--inactive). */
  tunnelTraffic(bytes: number, now: number): void {
    this.#limits.tunnelTraffic(bytes, now);
  }

  nextDeadline(): number | undefined {
    if (this.#ended) return undefined;
    if (this.#exitAt !== Infinity) return this.#exitAt; // leaving: only the grace period's end
    const s = this.#session.nextDeadline() ?? Infinity;
    const k = this.#keysInstalled ? (this.#keepalive.nextDeadline() ?? Infinity) : Infinity;
    const t = Math.min(s, k, this.#exitAt, this.#limits.nextDeadline());
    return t === Infinity ? undefined : t;
  }

  handle(input: CoreInput, now: number, wallSeconds: number): CoreAction[] {
    const out: CoreAction[] = [];
    if (this.#ended) return out;
    switch (input.kind) {
      case 'start':
        this.#feedSession(out, { kind: 'start' }, now, wallSeconds);
        break;
      case 'control-packet':
        this.#feedSession(out, { kind: 'packet', bytes: input.bytes }, now, wallSeconds);
        break;
      case 'tls-ciphertext':
      case 'tls-plaintext':
      case 'tls-established':
      case 'tls-failed':
        this.#onTls(input, out, now, wallSeconds);
        break;
      case 'timer':
        this.#onTimer(out, now, wallSeconds);
        break;
      case 'occ-exit':
        this.#end(out, { kind: 'restart', reason: 'remote-exit', message: 'the server is shutting down (OCC exit)', connected: this.#connected });
        break;
      case 'peer-moved':
        this.#float(input.from, out);
        break;
      case 'data-error':
        // forward.c: on TCP a packet cannot be lost or reordered, so a failure means the stream is broken.
        if (this.#cfg.proto === 'tcp') this.#end(out, { kind: 'restart', reason: 'decryption-error', message: 'data channel authentication or replay failure on TCP', connected: this.#connected });
        break;
      case 'packet-id-exhausted':
        this.#feedSession(out, { kind: 'renegotiate' }, now, wallSeconds);
        break;
      case 'data-limit':
        this.#log.verb(3, 'TLS: soft reset: reneg-bytes / reneg-pkts reached on the primary key');
        this.#feedSession(out, { kind: 'renegotiate' }, now, wallSeconds);
        break;
      case 'link-error':
        this.#onLinkError(input.code, input.message, out);
        break;
      case 'link-closed':
        // OpenVPN: connection-reset, restart at once.
        this.#end(out, { kind: 'restart', reason: 'connection-reset', message: 'the server closed the TCP connection', connected: this.#connected });
        break;
      case 'network-change':
        this.#end(out, { kind: 'restart', reason: 'network-change', message: input.message, connected: this.#connected });
        break;
      case 'tunnel-opened':
        if (input.gen !== this.#tunnelGen) break;
        this.#connected = true;
        this.#limits.connected(now);
        this.#setState('CONNECTED', out);
        this.#log.info('Initialization Sequence Completed');
        break;
      case 'tunnel-failed':
        if (input.gen === this.#tunnelGen) this.#leave({ kind: 'exit', error: input.error }, out, now);
        break;
      case 'stop':
        this.#stop(input.signal, input.restart, out, now);
        break;
    }
    return out;
  }

  #keepaliveConfig(ping: number, pingRestart: number): KeepaliveConfig {
    return { pingMs: ping * 1000, pingRestartMs: pingRestart * 1000, pingExitMs: this.#cfg.options.pingExit * 1000 };
  }

  #setState(state: ClientState, out: CoreAction[]): void {
    if (this.#state === state) return;
    this.#state = state;
    out.push({ kind: 'state', state });
  }

  #onTls(input: Extract<CoreInput, { engine: number }>, out: CoreAction[], now: number, wallSeconds: number): void {
    let keyId: number | undefined;
    for (const [k, e] of this.#engines) if (e === input.engine) keyId = k;
    if (keyId === undefined) return; // a closed engine's late callback
    switch (input.kind) {
      case 'tls-ciphertext':
        return this.#feedSession(out, { kind: 'tls-ciphertext', keyId, bytes: input.bytes }, now, wallSeconds);
      case 'tls-plaintext':
        return this.#feedSession(out, { kind: 'tls-plaintext', keyId, bytes: input.bytes }, now, wallSeconds);
      case 'tls-established':
        return this.#feedSession(out, { kind: 'tls-established', keyId, ekm: input.ekm }, now, wallSeconds);
      case 'tls-failed':
        return this.#feedSession(out, { kind: 'tls-failed', keyId, error: input.error }, now, wallSeconds);
    }
  }

  /** Feeds the session and turns its actions into core actions (push-reply and keys are decided here). */
  #feedSession(out: CoreAction[], input: SessionInput, now: number, wallSeconds: number): void {
    const queue: SessionAction[] = this.#session.handle(input, now, wallSeconds);
    for (let a = queue.shift(); a !== undefined && !this.#ended; a = queue.shift()) {
      switch (a.kind) {
        case 'send':
          out.push(a);
          break;
        case 'tls-open': {
          const engine = this.#nextEngine++;
          this.#engines.set(a.keyId, engine);
          out.push({ kind: 'tls-open', engine });
          break;
        }
        case 'tls-feed':
        case 'tls-write': {
          const engine = this.#engines.get(a.keyId);
          if (engine !== undefined) out.push({ kind: a.kind, engine, bytes: a.bytes });
          break;
        }
        case 'tls-close': {
          const engine = this.#engines.get(a.keyId);
          this.#engines.delete(a.keyId);
          if (engine !== undefined) out.push({ kind: 'tls-close', engine });
          break;
        }
        case 'state':
          // The session knows the handshake states; the core adds ADD_ROUTES and CONNECTED.
          if (a.state !== 'RECONNECTING' && a.state !== 'EXITING') this.#setState(a.state, out);
          break;
        case 'push-reply': {
          const applied = this.#onPushReply(a.options, a.serverOptions, out);
          if (applied !== undefined) queue.push(...this.#session.handle(applied, now, wallSeconds));
          break;
        }
        case 'keys':
          this.#onKeys(a.keyId, a.key2, out, now);
          break;
        case 'restart':
          this.#end(out, { kind: 'restart', reason: a.reason, message: a.message, connected: this.#connected, backoffSeconds: a.backoffSeconds });
          break;
        case 'exit':
          this.#end(out, { kind: 'exit', error: a.error });
          break;
      }
    }
  }

  /** push.c / ssl_ncp.c: apply the reply, settle the data channel, hand the session its answer. */
  #onPushReply(options: readonly string[], serverOptions: string, out: CoreAction[]): SessionInput | undefined {
    const o = this.#cfg.options;
    this.#log.verb(3, `PUSH: Received control message: 'PUSH_REPLY,${redactPush(options)}'`);
    const r = parsePushOptions(options, o, o.pullFilters, this.#cfg.connectionIndex);
    for (const ig of r.ignored) {
      // options.c: a pull-filter ignore is routine ("Pushed option removed by filter"), the rest an options error.
      if (ig.filtered === true) this.#log.verb(3, `Pushed option removed by filter: '${ig.option}'`);
      else this.#log.warn(`Options error: ${ig.reason} [PUSH-OPTIONS]: ${ig.option.split(/\s/)[0] ?? ''}`);
    }
    for (const w of r.warnings) this.#log.verb(3, `pushed ${w.directive}: ${w.message}`);
    if (r.rejectedBy !== undefined) {
      const what = r.rejectedBy.option.split(/\s/)[0] ?? '';
      this.#end(out, { kind: 'restart', reason: 'pull-filter', message: `pushed option rejected by pull-filter reject "${r.rejectedBy.filter.prefix}": ${what}`, connected: false });
      return undefined;
    }
    const neg = negotiateDataChannel(r, o, serverOptions, this.#cfg.caps);
    if (!neg.ok) {
      this.#end(out, { kind: 'exit', error: new NegotiationError(`OPTIONS ERROR: ${neg.error}`) });
      return undefined;
    }
    this.#params = neg.params;
    this.#pushed = r.options;
    if (r.present.has('sndbuf') || r.present.has('rcvbuf')) {
      out.push({ kind: 'socket-buffers', sndbuf: r.present.has('sndbuf') ? r.options.sndbuf : undefined, rcvbuf: r.present.has('rcvbuf') ? r.options.rcvbuf : undefined });
    }
    this.#keepalive.configure(this.#keepaliveConfig(neg.params.pingSeconds, neg.params.pingRestartSeconds));
    if (r.present.has('session-timeout')) this.#limits.pushedSessionTimeout(r.options.sessionTimeout);
    if (r.present.has('inactive')) this.#limits.pushedInactive(r.options.inactive);
    const user = r.options.authTokenUser === undefined ? undefined : decodeBase64Text(r.options.authTokenUser);
    if (r.options.authToken !== undefined) this.#cfg.onAuthToken?.(r.options.authToken, user);
    return { kind: 'push-applied', useEkm: neg.params.useEkm, authToken: r.options.authToken, authTokenUser: user };
  }

  #pushed: ClientOptions | undefined;
  #primary: number | undefined;

  #onKeys(keyId: number, key2: Uint8Array, out: CoreAction[], now: number): void {
    const params = this.#params;
    if (params === undefined) return;
    const first = !this.#keysInstalled;
    this.#keysInstalled = true;
    out.push({ kind: 'install-keys', keyId, key2, params });
    this.#lameDuck = this.#primary;
    this.#primary = keyId;
    this.#limits.newPrimaryKey(now, this.#lameDuck !== undefined);
    if (!first) {
      this.#log.verb(2, `TLS: renegotiation complete, data channel now uses key id ${keyId}`);
      return;
    }
    this.#log.info(`Data Channel: cipher '${params.cipher}'${params.auth === undefined ? '' : `, auth '${params.auth}'`}, peer-id: ${params.peerId ?? '(none, P_DATA_V1)'}, keys: ${params.useEkm ? 'TLS EKM' : 'PRF'}`);
    const pushed = this.#pushed;
    if (pushed === undefined) return;
    this.#setState('ADD_ROUTES', out);
    out.push({ kind: 'open-tunnel', gen: ++this.#tunnelGen, pushed, params });
  }

  #onTimer(out: CoreAction[], now: number, wallSeconds: number): void {
    if (now >= this.#exitAt) {
      this.#emitEnd(out);
      return;
    }
    if (this.#exitAt !== Infinity) return; // leaving: only the grace period's end matters now
    const limit = this.#limits.due(now);
    if (limit === 'session-timeout') return this.#leave({ kind: 'done', reason: limit, message: 'Session timeout (--session-timeout), exiting' }, out, now);
    if (limit === 'inactive') return this.#leave({ kind: 'done', reason: limit, message: 'Inactivity timeout (--inactive), exiting' }, out, now);
    if (limit === 'retire-lame-duck' && this.#lameDuck !== undefined) {
      out.push({ kind: 'retire-key', keyId: this.#lameDuck });
      this.#lameDuck = undefined;
    }
    if (this.#keysInstalled) {
      const due = this.#keepalive.due(now);
      if (due === 'restart') return this.#end(out, { kind: 'restart', reason: 'ping-restart', message: 'Inactivity timeout (--ping-restart), restarting', connected: this.#connected });
      if (due === 'exit') return this.#leave({ kind: 'exit', error: new OsError('OS', 'Inactivity timeout (--ping-exit), exiting') }, out, now);
      if (due === 'ping') {
        out.push({ kind: 'send-data', payload: 'ping' });
        this.#keepalive.sent(now);
      }
    }
    this.#feedSession(out, { kind: 'timer' }, now, wallSeconds);
  }

  /** `float`: an authenticated packet came from a new address: the server moved (forward.c). */
  #float(from: Endpoint, out: CoreAction[]): void {
    if (!this.#cfg.float || (from.address === this.#remote.address && from.port === this.#remote.port)) return;
    this.#log.info(`Peer float: ${fmtEndpoint(this.#remote)} -> ${fmtEndpoint(from)}`);
    this.#remote = from;
    out.push({ kind: 'set-remote', remote: from });
  }

  #onLinkError(code: string | undefined, message: string, out: CoreAction[]): void {
    if (code === 'ECONNREFUSED' && this.#cfg.proto === 'udp') {
      const r = this.#cfg.remote;
      this.#end(out, { kind: 'restart', reason: 'connection-refused', message: `nothing answers on udp port ${r.port} at ${r.address} (ICMP port unreachable): is the server running, and is proto udp right?`, connected: this.#connected });
      return;
    }
    // SOCKET: the adapter reports a local problem (a packet it could not frame, a buffer size
    // refused) that leaves the connection intact; anything else on a stream ends it.
    if (this.#cfg.proto === 'tcp' && code !== 'SOCKET') {
      this.#end(out, { kind: 'restart', reason: 'connection-reset', message: `TCP link error: ${message}`, connected: this.#connected });
      return;
    }
    this.#log.warn(`link error: ${message}`);
  }

  /** SIGTERM/SIGINT: explicit-exit-notify (UDP, once connected), then end after a short grace. */
  #stop(signal: string, restart: boolean, out: CoreAction[], now: number): void {
    const outcome: Outcome = { kind: 'stopped', signal };
    if (restart) this.#end(out, outcome);
    else this.#leave(outcome, out, now);
  }

  /**
   * An end the client chooses (a signal, ping-exit, a fatal error once the data channel is up):
   * explicit-exit-notify tells the server first (UDP, once keys are installed), and the end
   * follows after a short grace. Ends the server caused (AUTH_FAILED, HALT) need no notice.
   */
  #leave(outcome: Outcome, out: CoreAction[], now: number): void {
    if (this.#cfg.explicitExitNotify === 0 || !this.#keysInstalled || this.#cfg.proto !== 'udp' || this.#exitAt !== Infinity) {
      this.#end(out, outcome);
      return;
    }
    if (this.#params?.ccExit === true) {
      for (const a of this.#session.exitNotify()) {
        const engine = a.kind === 'tls-write' ? this.#engines.get(a.keyId) : undefined;
        if (a.kind === 'tls-write' && engine !== undefined) out.push({ kind: 'tls-write', engine, bytes: a.bytes });
      }
    } else out.push({ kind: 'send-data', payload: 'occ-exit' });
    this.#pendingEnd = outcome;
    this.#exitAt = now + EXIT_NOTIFY_GRACE_MS;
  }

  #end(out: CoreAction[], outcome: Outcome): void {
    if (this.#ended) return;
    this.#pendingEnd = outcome;
    this.#emitEnd(out);
  }

  #emitEnd(out: CoreAction[]): void {
    const outcome = this.#pendingEnd ?? { kind: 'stopped', signal: 'sigterm' };
    this.#ended = true;
    this.#setState(outcome.kind === 'restart' ? 'RECONNECTING' : 'EXITING', out);
    for (const engine of this.#engines.values()) out.push({ kind: 'tls-close', engine });
    this.#engines.clear();
    out.push({ kind: 'end', outcome });
  }
}

export function fmtEndpoint(e: Endpoint): string {
  return e.family === 6 ? `[AF_INET6][${e.address}]:${e.port}` : `[AF_INET]${e.address}:${e.port}`;
}

function decodeBase64Text(b64: string): string {
  return new TextDecoder('utf-8').decode(fromBase64(b64));
}
