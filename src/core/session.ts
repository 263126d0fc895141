/**
 * The client session: OpenVPN's control channel as a sans-IO state machine.
 *
 *   start ──▶ HARD_RESET_CLIENT_V2/V3 ──▶ (server reset) ──▶ TLS handshake ──▶ KM2 sent
 *   S_PRE_START                          S_START              tls-established   S_SENT_KEY
 *        ──▶ server KM2 ──▶ PUSH_REQUEST every 5 s ──▶ PUSH_REPLY ──▶ push-applied ──▶ keys
 *            S_GOT_KEY      (client state GET_CONFIG)    action push-reply           S_GENERATED_KEYS
 *
 * Inputs are events (a control datagram, TLS output, a timer, the shell's answers) with `now`
 * in monotonic milliseconds; outputs are actions the shell performs. Nothing here touches a
 * socket, a timer, the clock, or the TLS library: TLS runs in the shell (tls-engine.ts), which
 * feeds its ciphertext and plaintext back in as inputs, on later ticks.
 *
 * Data packets never pass through here: the shell's data path handles them directly with the
 * keys this session hands out (action `keys`).
 *
 * Never logs secrets: KM2 carries the password and is never logged or dumped.
 */
import { AuthFailedError, LocalProtocolError, RemoteProtocolError, ServerHaltError, type OvpnError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Random } from '../base/clock.ts';
import { hex } from '../base/bytes.ts';
import { ControlTransport } from '../tls/control-transport.ts';
import { Opcode, parseEarlyNegotiationTlvs, SID_SIZE } from '../tls/packet.ts';
import { decodeServerKeyMethod2, encodeClientKeyMethod2, newClientKeySource } from '../tls/key-method.ts';
import { KEY2_LENGTH } from '../tls/keys.ts';
import {
  classifyControlMessage,
  encodeControlMessage,
  encodePushRequest,
  PushAccumulator,
  splitControlMessages,
  type AuthFailed,
  type ControlMessage,
} from '../tls/messages.ts';
import { KEY_ID_INITIAL, newKeyCtx, nextKeyId, prfKey2, type KeyCtx } from './key-state.ts';
import { certificateRejectedMessage, silentServerMessage } from './session-messages.ts';
import { PUSH_REQUEST_INTERVAL_MS, type ClientState, type KeyState, type RestartReason, type SessionAction, type SessionConfig, type SessionInput } from './session-types.ts';

export class Session {
  readonly #cfg: SessionConfig;
  readonly #log: Logger;
  readonly #random: Random;
  readonly #localSid: Uint8Array;
  readonly #transport: ControlTransport;
  readonly #push = new PushAccumulator();
  readonly #keys = new Map<number, KeyCtx>();
  /** The key whose data keys are in use (undefined until the first keys). */
  #primary: number | undefined;
  #clientState: ClientState = 'CONNECTING';
  #serverOptions = '';
  #useEkm = false;
  #credentials: { readonly username: string; readonly password: string } | undefined;
  #serverPollAt = Infinity;
  #pushRequestAt = Infinity;
  #pushBy = Infinity;
  #renegotiateAt = Infinity;
  #heardFromServer = false;
  #pushReplied = false;
  #done = false;
  /** Control messages the server sent that we could not read (non-printable, unknown). */
  droppedMessages = 0;

  constructor(cfg: SessionConfig, random: Random, log: Logger) {
    this.#cfg = cfg;
    this.#random = random;
    this.#log = log;
    this.#credentials = cfg.credentials;
    this.#localSid = random.bytes(SID_SIZE);
    this.#transport = new ControlTransport({
      wrap: cfg.wrap,
      localSessionId: this.#localSid,
      tlsTimeoutMs: cfg.tlsTimeoutMs,
      maxPayload: cfg.maxControlPayload,
      wkcLength: cfg.wkcLength,
    });
  }

  get state(): ClientState {
    return this.#clientState;
  }

  /** The state of the newest key (the one being negotiated, or the primary). */
  get keyState(): KeyState {
    let newest: KeyCtx | undefined;
    for (const k of this.#keys.values()) newest = k;
    return newest?.state ?? 'S_INITIAL';
  }

  get primaryKeyId(): number | undefined {
    return this.#primary;
  }

  get localSessionId(): Uint8Array {
    return this.#localSid;
  }

  /** Control packets dropped, by reason (unwrap failures, bad session ids, ...). */
  get controlDrops(): Readonly<Record<string, number>> {
    return this.#transport.drops;
  }

  nextDeadline(): number | undefined {
    if (this.#done) return undefined;
    let t = Math.min(this.#transport.nextDeadline() ?? Infinity, this.#serverPollAt, this.#pushRequestAt, this.#pushBy, this.#renegotiateAt);
    for (const k of this.#keys.values()) if (k.state !== 'S_GENERATED_KEYS') t = Math.min(t, k.negotiateBy);
    return t === Infinity ? undefined : t;
  }

  handle(input: SessionInput, now: number, wallSeconds: number): SessionAction[] {
    if (this.#done) return [];
    const out: SessionAction[] = [];
    switch (input.kind) {
      case 'start':
        this.#start(now, out);
        break;
      case 'packet':
        this.#onPacket(input.bytes, now, wallSeconds, out);
        break;
      case 'timer':
        this.#onTimer(now, out);
        break;
      case 'tls-ciphertext':
        this.#onTlsCiphertext(input.keyId, input.bytes);
        break;
      case 'tls-plaintext':
        this.#onTlsPlaintext(input.keyId, input.bytes, now, out);
        break;
      case 'tls-established':
        this.#onTlsEstablished(input.keyId, input.ekm, out);
        break;
      case 'tls-failed':
        this.#fail(out, 'tls-error', input.error.message);
        break;
      case 'push-applied':
        this.#onPushApplied(input, now, out);
        break;
      case 'renegotiate':
        this.#softReset(now, out);
        break;
    }
    if (!this.#done) for (const bytes of this.#transport.flush(now, wallSeconds)) out.push({ kind: 'send', bytes });
    return out;
  }

  #setState(state: ClientState, out: SessionAction[]): void {
    if (this.#clientState === state) return;
    this.#clientState = state;
    out.push({ kind: 'state', state });
  }

  #newKey(keyId: number, state: KeyState, now: number): KeyCtx {
    const k = newKeyCtx(keyId, state, newClientKeySource(this.#random), now + this.#cfg.handWindowMs);
    this.#keys.set(keyId, k);
    return k;
  }

  #start(now: number, out: SessionAction[]): void {
    this.#transport.openKey(KEY_ID_INITIAL);
    this.#transport.sendReset(KEY_ID_INITIAL, this.#cfg.resetOpcode);
    this.#newKey(KEY_ID_INITIAL, 'S_PRE_START', now);
    this.#serverPollAt = now + this.#cfg.serverPollTimeoutMs;
    // Start TLS now so the ClientHello is ready when the server's reset arrives; it is held
    // back until then (a 2.6 server needs msg 1 to carry the ACK of its reset).
    out.push({ kind: 'tls-open', keyId: KEY_ID_INITIAL });
    this.#setState('WAIT', out);
  }

  /** A renegotiation: a new key_id, a P_CONTROL_SOFT_RESET_V1, a full new TLS handshake and KM2. */
  #softReset(now: number, out: SessionAction[], keyId = nextKeyId(this.#newestKeyId())): void {
    if (this.#primary === undefined || this.#keys.has(keyId)) return;
    this.#transport.openKey(keyId);
    this.#transport.sendReset(keyId, Opcode.CONTROL_SOFT_RESET_V1);
    this.#newKey(keyId, 'S_START', now);
    this.#renegotiateAt = Infinity;
    this.#log.verb(3, `TLS: soft reset, new key id ${keyId}`);
    out.push({ kind: 'tls-open', keyId });
  }

  #newestKeyId(): number {
    let id = KEY_ID_INITIAL;
    for (const k of this.#keys.keys()) id = k;
    return id;
  }

  #onPacket(bytes: Uint8Array, now: number, wallSeconds: number, out: SessionAction[]): void {
    for (const ev of this.#transport.receive(bytes, wallSeconds)) {
      if (!this.#heardFromServer) {
        this.#heardFromServer = true;
        this.#serverPollAt = Infinity;
        this.#log.verb(3, `TLS: Initial packet from ${this.#cfg.peerName}, sid=${hex(this.#transport.peerSessionId ?? new Uint8Array(0))}`);
      }
      if (ev.kind === 'server-reset') this.#onServerReset(ev.payload, out);
      else if (ev.kind === 'tls') out.push({ kind: 'tls-feed', keyId: ev.keyId, bytes: ev.payload });
      else if (!this.#keys.has(ev.keyId)) this.#softReset(now, out, ev.keyId);
    }
  }

  #onServerReset(payload: Uint8Array, out: SessionAction[]): void {
    const k = this.#keys.get(KEY_ID_INITIAL);
    if (k === undefined || k.state !== 'S_PRE_START') return;
    try {
      if (parseEarlyNegotiationTlvs(payload).resendWkc) {
        if (this.#cfg.wkcLength === 0) throw new RemoteProtocolError('BAD_MESSAGE', 'the server asked for a tls-crypt-v2 key we do not use');
        this.#transport.requireWkc();
      }
    } catch (e) {
      if (!(e instanceof RemoteProtocolError)) throw e;
      this.#fail(out, 'tls-error', e.message);
      return;
    }
    k.state = 'S_START';
    this.#setState('AUTH', out);
    for (const chunk of k.pendingTls) this.#transport.sendTls(KEY_ID_INITIAL, chunk);
    k.pendingTls = [];
  }

  #onTlsCiphertext(keyId: number, bytes: Uint8Array): void {
    const k = this.#keys.get(keyId);
    if (k === undefined) return;
    if (k.state === 'S_PRE_START') k.pendingTls.push(bytes.slice());
    else this.#transport.sendTls(keyId, bytes);
  }

  #onTlsEstablished(keyId: number, ekm: Uint8Array, out: SessionAction[]): void {
    const k = this.#keys.get(keyId);
    if (k === undefined || k.state !== 'S_START') return;
    k.ekm = ekm.slice();
    let km2: Uint8Array;
    try {
      km2 = encodeClientKeyMethod2({
        keySource: k.source,
        options: this.#cfg.occOptions,
        peerInfo: this.#cfg.peerInfo,
        ...(this.#credentials === undefined ? {} : { credentials: this.#credentials }),
      });
    } catch (e) {
      this.#exit(out, e as OvpnError);
      return;
    }
    out.push({ kind: 'tls-write', keyId, bytes: km2 });
    k.state = 'S_SENT_KEY';
  }

  #onTlsPlaintext(keyId: number, bytes: Uint8Array, now: number, out: SessionAction[]): void {
    const k = this.#keys.get(keyId);
    if (k === undefined) return;
    let rest = bytes;
    if (k.state === 'S_SENT_KEY') {
      try {
        const km2 = decodeServerKeyMethod2(bytes);
        k.server = { random1: km2.message.random1, random2: km2.message.random2 };
        if (keyId === KEY_ID_INITIAL) this.#serverOptions = km2.message.options;
        rest = bytes.subarray(km2.consumed);
      } catch (e) {
        if (!(e instanceof RemoteProtocolError)) throw e;
        this.#fail(out, 'tls-error', e.message);
        return;
      }
      k.state = 'S_GOT_KEY';
      if (keyId === KEY_ID_INITIAL) {
        this.#log.info(`[server] Peer Connection Initiated with ${this.#cfg.peerName}`);
        if (this.#cfg.pull) {
          this.#setState('GET_CONFIG', out);
          this.#sendPushRequest(now, out);
          // The push must arrive within a hand-window too (push.c push_request_timeout).
          this.#pushBy = now + this.#cfg.handWindowMs;
        }
      } else {
        this.#generateKeys(k, now, out);
      }
    }
    if (rest.byteLength === 0) return;
    const split = splitControlMessages(rest, k.carry);
    k.carry = split.carry.slice();
    this.droppedMessages += split.dropped;
    for (const msg of split.messages) {
      if (this.#done) return;
      this.#onControlMessage(classifyControlMessage(msg), msg, out);
    }
  }

  #sendPushRequest(now: number, out: SessionAction[]): void {
    out.push({ kind: 'tls-write', keyId: KEY_ID_INITIAL, bytes: encodePushRequest() });
    this.#pushRequestAt = now + PUSH_REQUEST_INTERVAL_MS;
    this.#log.verb(3, "SENT CONTROL [server]: 'PUSH_REQUEST' (status=1)");
  }

  #onControlMessage(m: ControlMessage, raw: string, out: SessionAction[]): void {
    switch (m.kind) {
      case 'PUSH_REPLY': {
        const k0 = this.#keys.get(KEY_ID_INITIAL);
        // Only the first complete reply counts; a server may answer a repeated PUSH_REQUEST.
        if (this.#pushReplied || k0?.state !== 'S_GOT_KEY') return;
        const acc = this.#push.add(m);
        if (acc.status === 'partial') return;
        if (acc.status === 'error') {
          this.#fail(out, 'push-error', acc.error.message);
          return;
        }
        this.#pushRequestAt = Infinity;
        this.#pushBy = Infinity;
        this.#pushReplied = true;
        this.#setState('ASSIGN_IP', out);
        out.push({ kind: 'push-reply', options: acc.options, serverOptions: this.#serverOptions });
        return;
      }
      case 'AUTH_FAILED':
        this.#onAuthFailed(m, out);
        return;
      case 'AUTH_PENDING':
        this.#log.info(`AUTH_PENDING: the server is waiting for an external authentication${m.timeout === undefined ? '' : ` (timeout ${m.timeout} s)`}`);
        if (m.timeout !== undefined) this.#pushBy = Math.max(this.#pushBy, this.#pushRequestAt + m.timeout * 1000);
        return;
      case 'INFO_PRE':
      case 'INFO':
        this.#log.info(`${m.kind}: ${m.text}`);
        return;
      case 'RESTART':
        this.#fail(out, 'server-restart', `the server asked for a restart${m.message === '' ? '' : `: ${m.message}`}`);
        return;
      case 'HALT':
        this.#exit(out, new ServerHaltError(`the server halted the connection${m.message === '' ? '' : `: ${m.message}`}`));
        return;
      case 'EXIT':
        this.#fail(out, 'server-exit', 'the server is shutting down (EXIT)');
        return;
      case 'PUSH_UPDATE':
      case 'PUSH_REQUEST':
      case 'unknown':
      case 'invalid':
        this.droppedMessages++;
        this.#log.verb(4, `ignored control message ${m.kind === 'unknown' ? `'${raw.slice(0, 64)}'` : m.kind}`);
        return;
    }
  }

  #onAuthFailed(m: AuthFailed, out: SessionAction[]): void {
    this.#log.error(m.reason === undefined ? 'AUTH: Received control message: AUTH_FAILED' : `AUTH: Received control message: AUTH_FAILED,${m.reason}`);
    if (m.variant === 'temp') {
      this.#fail(out, 'auth-failed', `AUTH_FAILED,TEMP: ${m.message}`, m.backoff);
      return;
    }
    if (this.#cfg.authRetry === 'none') {
      this.#exit(out, new AuthFailedError(m.reason));
      return;
    }
    this.#fail(out, 'auth-failed', `AUTH_FAILED${m.reason === undefined ? '' : `: ${m.reason}`}`);
  }

  #onPushApplied(input: Extract<SessionInput, { kind: 'push-applied' }>, now: number, out: SessionAction[]): void {
    const k = this.#keys.get(KEY_ID_INITIAL);
    if (k === undefined || k.state !== 'S_GOT_KEY') return;
    this.#useEkm = input.useEkm;
    // A pushed auth-token replaces the password for every later KM2 (renegotiation).
    if (input.authToken !== undefined && this.#credentials !== undefined) {
      this.#credentials = { username: input.authTokenUser ?? this.#credentials.username, password: input.authToken };
    }
    this.#generateKeys(k, now, out);
  }

  #generateKeys(k: KeyCtx, now: number, out: SessionAction[]): void {
    const key2 = this.#useEkm ? k.ekm : this.#prfKeys(k);
    if (key2 === undefined || key2.byteLength !== KEY2_LENGTH) throw new LocalProtocolError('no key material');
    k.state = 'S_GENERATED_KEYS';
    // The key source and EKM are spent: the shell zeroes key2 (the EKM itself) once installed.
    k.source.preMaster.fill(0);
    k.source.random1.fill(0);
    k.source.random2.fill(0);
    k.ekm = undefined;
    const previous = this.#primary;
    this.#primary = k.keyId;
    out.push({ kind: 'keys', keyId: k.keyId, key2 });
    if (previous !== undefined) {
      // The old key stays a lame duck in the data channel; its control state can go.
      this.#keys.delete(previous);
      this.#transport.closeKey(previous);
      out.push({ kind: 'tls-close', keyId: previous });
    }
    // reneg-sec counts from the moment a key is established (ssl.c ks->established).
    if (this.#cfg.renegotiateMs > 0) this.#renegotiateAt = now + this.#cfg.renegotiateMs;
  }

  #prfKeys(k: KeyCtx): Uint8Array {
    const serverSid = this.#transport.peerSessionId;
    if (serverSid === undefined) throw new LocalProtocolError('PRF keys before the server KM2');
    return prfKey2(this.#cfg.hmac, k, this.#localSid, serverSid);
  }

  #onTimer(now: number, out: SessionAction[]): void {
    if (now >= this.#serverPollAt) {
      this.#fail(out, 'server-poll-timeout', silentServerMessage(this.#cfg.serverPollTimeoutMs, this.#cfg.controlProtection));
      return;
    }
    const secs = Math.round(this.#cfg.handWindowMs / 1000);
    for (const k of this.#keys.values()) {
      if (k.state === 'S_GENERATED_KEYS' || (k.keyId === KEY_ID_INITIAL && k.state === 'S_GOT_KEY') || now < k.negotiateBy) continue;
      if (!this.#heardFromServer) this.#fail(out, 'hand-window', silentServerMessage(this.#cfg.handWindowMs, this.#cfg.controlProtection));
      else if (k.state === 'S_SENT_KEY') {
        this.#fail(out, 'tls-error', certificateRejectedMessage(secs));
      } else this.#fail(out, 'hand-window', `TLS key negotiation failed to occur within ${secs} seconds (check your network connectivity)`);
      return;
    }
    if (now >= this.#pushBy) {
      this.#fail(out, 'hand-window', `no PUSH_REPLY from the server within ${secs} seconds`);
      return;
    }
    if (now >= this.#pushRequestAt) this.#sendPushRequest(now, out);
    if (now >= this.#renegotiateAt) this.#softReset(now, out);
  }

  #closeAll(out: SessionAction[]): void {
    this.#done = true;
    for (const k of this.#keys.values()) {
      k.state = 'S_ERROR';
      out.push({ kind: 'tls-close', keyId: k.keyId });
    }
  }

  #fail(out: SessionAction[], reason: RestartReason, message: string, backoffSeconds?: number): void {
    this.#closeAll(out);
    this.#setState('RECONNECTING', out);
    out.push({ kind: 'restart', reason, message, backoffSeconds });
  }

  #exit(out: SessionAction[], error: OvpnError): void {
    this.#closeAll(out);
    this.#setState('EXITING', out);
    out.push({ kind: 'exit', error });
  }

  /** Send an EXIT control message (explicit-exit-notify with cc-exit). */
  exitNotify(): SessionAction[] {
    if (this.#primary === undefined) return [];
    return [{ kind: 'tls-write', keyId: this.#primary, bytes: encodeControlMessage('EXIT') }];
  }
}
