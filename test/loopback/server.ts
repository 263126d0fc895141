/**
 * A small OpenVPN 2.6 server for loopback tests, built from the client's own pieces: the packet
 * codec, the tls-crypt wrap (role server), ReliableSender/ReliableReceiver, Node's TLS as a
 * server, the KM2 codec mirror (server-km2.ts), PRF/EKM key derivation and the DataChannel.
 * One client, one key (key_id 0), no renegotiation.
 *
 *   HARD_RESET_CLIENT_V2 ─▶ HARD_RESET_SERVER_V2 (ACK + own sid) ─▶ TLS (server) ─▶ client KM2
 *     ─▶ server KM2 ─▶ PUSH_REQUEST ─▶ PUSH_REPLY (keys installed)  or  AUTH_FAILED
 *   data: ping ─▶ ping back;  ICMP echo request ─▶ echo reply;  OCC exit ─▶ counted
 *
 * Time comes from VirtualTimers (retransmissions run when the test advances virtual time).
 * Test code: it checks the client's password but never prints it.
 */
import type { Random } from '../../src/base/clock.ts';
import { bytesEqual, concatBytes } from '../../src/base/bytes.ts';
import { RemoteProtocolError } from '../../src/base/errors.ts';
import type { Link, LinkEvents } from '../../src/link/link.ts';
import type { VirtualTimers } from '../../src/link/memory-link.ts';
import { decodeControlPacket, encodeControlPacket, Opcode, SID_SIZE, type ControlPacket } from '../../src/tls/packet.ts';
import { CONTROL_SEND_ACK_MAX, ReliableReceiver, ReliableSender } from '../../src/tls/reliable.ts';
import { NoneWrap, PacketIdSend, TlsCryptWrap, type ControlWrap } from '../../src/tls/wrap.ts';
import { createServerTlsEngine, type TlsCredentials, type TlsEngine } from '../../src/tls/tls-engine.ts';
import { deriveKeysPrf, EKM_LABEL, KEY2_LENGTH, RANDOM_LENGTH } from '../../src/tls/keys.ts';
import { encodeControlMessage, splitControlMessages } from '../../src/tls/messages.ts';
import { DataChannel } from '../../src/dataplane/data-channel.ts';
import { createDataCrypto } from '../../src/dataplane/create-data-crypto.ts';
import { splitKey2 } from '../../src/dataplane/data-crypto.ts';
import { classifyPayload, PING_STRING } from '../../src/dataplane/framing.ts';
import { decodeClientKm2, encodeServerKm2, type ClientKm2 } from './server-km2.ts';
import { echoReply, isEchoRequest } from './icmp.ts';
import { nodeHmac } from '../../src/tls/node-hmac.ts';

/** The PUSH_REPLY of the brief: EKM keys, P_DATA_V2 with peer-id 3. */
export const DEFAULT_PUSH =
  'ifconfig 10.8.0.2 255.255.255.0,topology subnet,route-gateway 10.8.0.1,peer-id 3,cipher AES-256-GCM,protocol-flags cc-exit tls-ekm,ping 10,ping-restart 60';
/** The same without tls-ekm: keys come from the key-method 2 PRF. */
export const PRF_PUSH = 'ifconfig 10.8.0.2 255.255.255.0,topology subnet,route-gateway 10.8.0.1,peer-id 3,cipher AES-256-GCM,ping 10,ping-restart 60';
/** A 2.6 server's OCC string (options.c options_string, remote side). */
const SERVER_OCC = 'V4,dev-type tun,link-mtu 1559,tun-mtu 1500,proto UDPv4,cipher AES-256-GCM,auth [null-digest],keysize 256,key-method 2,tls-server';
/** Largest TLS chunk per P_CONTROL_V1 (fits the client's default max-packet-size 1250). */
const MAX_TLS_CHUNK = 1100;
const BUF_SIZE = 65536 + 256;
/** push.c process_incoming_push_request: PUSH_REQUESTs within 30 s of a reply are ignored (PUSH_MSG_ALREADY_REPLIED). */
const PUSH_REPLY_EXPIRY_MS = 30_000;

export interface TestServerOptions {
  readonly timers: VirtualTimers;
  readonly random: Random;
  /** Server certificate, key and the CA that signed the client. */
  readonly tls: TlsCredentials;
  readonly wrap: { readonly mode: 'none' } | { readonly mode: 'tls-crypt'; readonly key: Uint8Array };
  /** PUSH_REPLY options, comma-separated (default DEFAULT_PUSH). */
  readonly push?: string;
  /** Expected auth-user-pass; undefined accepts any client. */
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly tlsTimeoutMs?: number;
  /**
   * PUSH_REPLYs written per answer (default 1). 2 models two replies arriving together, as when
   * a server answers a repeated PUSH_REQUEST and both replies are retransmitted after a loss.
   */
  readonly pushReplyCopies?: number;
}

export interface TestServerCounters {
  controlIn: number;
  /** Reliable message ids seen again (retransmissions, duplicates): ACKed, not delivered. */
  duplicates: number;
  drops: Record<'UNWRAP' | 'DECODE' | 'UNEXPECTED' | 'SESSION_ID' | 'ACK_SESSION_ID' | 'WINDOW', number>;
  pushRequests: number;
  pushReplies: number;
  /** PUSH_REQUESTs ignored because a reply went out less than 30 s ago. */
  pushAlreadyReplied: number;
  authFailed: number;
  exitMessages: number;
  dataIn: number;
  dataDrops: number;
  pingsIn: number;
  echoReplies: number;
}

export class TestServer {
  readonly counters: TestServerCounters = {
    controlIn: 0,
    duplicates: 0,
    drops: { UNWRAP: 0, DECODE: 0, UNEXPECTED: 0, SESSION_ID: 0, ACK_SESSION_ID: 0, WINDOW: 0 },
    pushRequests: 0,
    pushReplies: 0,
    pushAlreadyReplied: 0,
    authFailed: 0,
    exitMessages: 0,
    dataIn: 0,
    dataDrops: 0,
    pingsIn: 0,
    echoReplies: 0,
  };
  /** IP packets that came out of the tunnel (copies). */
  readonly ipIn: Uint8Array[] = [];
  /** Set once the client's KM2 arrived: the credentials it sent (for assertions, never printed). */
  clientKm2: ClientKm2 | undefined;
  tlsError: Error | undefined;
  peerCommonName: string | undefined;
  keysInstalled: 'ekm' | 'prf' | undefined;

  readonly #o: TestServerOptions;
  readonly #wrap: ControlWrap;
  readonly #pid: PacketIdSend;
  readonly #localSid: Uint8Array;
  readonly #sender: ReliableSender;
  readonly #receiver = new ReliableReceiver();
  readonly #random1: Uint8Array;
  readonly #random2: Uint8Array;
  #peerSid: Uint8Array | undefined;
  #link: Link | undefined;
  #tls: TlsEngine | undefined;
  #carry: Uint8Array = new Uint8Array(0);
  #authOk = false;
  #pushReplyExpiry = -Infinity;
  #data: DataChannel | undefined;
  #timer: unknown;
  #closed = false;
  readonly #rx = new Uint8Array(BUF_SIZE);
  readonly #tx = new Uint8Array(BUF_SIZE);

  constructor(o: TestServerOptions) {
    this.#o = o;
    this.#wrap = o.wrap.mode === 'none' ? new NoneWrap() : new TlsCryptWrap({ key: o.wrap.key, role: 'server' });
    this.#pid = new PacketIdSend(this.#wrap.initialPacketId);
    this.#localSid = o.random.bytes(SID_SIZE);
    this.#random1 = o.random.bytes(RANDOM_LENGTH);
    this.#random2 = o.random.bytes(RANDOM_LENGTH);
    this.#sender = new ReliableSender({ timeoutMs: o.tlsTimeoutMs ?? 2000 });
  }

  get sessionId(): Uint8Array {
    return this.#localSid;
  }

  /** Opens the server's end of the link. */
  attach(open: (events: LinkEvents) => Link): void {
    this.#link = open({ packet: (bytes) => this.#onPacket(bytes), error: () => {} });
  }

  close(): void {
    this.#closed = true;
    this.#o.timers.clear(this.#timer);
    this.#tls?.destroy();
    this.#data?.close();
    this.#link?.close();
  }

  #now(): number {
    return this.#o.timers.clock.now();
  }

  #wall(): number {
    return this.#o.timers.clock.wallSeconds();
  }

  #onPacket(bytes: Uint8Array): void {
    if (this.#closed || bytes.byteLength === 0) return;
    const op = (bytes[0] ?? 0) >> 3;
    if (op === Opcode.DATA_V1 || op === Opcode.DATA_V2) {
      this.#onData(bytes);
      return;
    }
    this.counters.controlIn++;
    const unwrapped = this.#wrap.unwrap(bytes, this.#wall());
    if (!unwrapped.ok) {
      this.counters.drops.UNWRAP++;
      return;
    }
    let p: ControlPacket;
    try {
      p = decodeControlPacket(unwrapped.packet);
    } catch (e) {
      if (!(e instanceof RemoteProtocolError)) throw e;
      this.counters.drops.DECODE++;
      return;
    }
    if (!this.#acceptSession(p)) return;
    for (const id of p.acks) this.#sender.onAck(id);
    if (p.messageId !== undefined) this.#receive(p);
    this.#flush();
  }

  /** The first HARD_RESET_CLIENT_V2 opens the session; later packets must carry its sid. */
  #acceptSession(p: ControlPacket): boolean {
    if (this.#peerSid === undefined) {
      if (p.opcode !== Opcode.CONTROL_HARD_RESET_CLIENT_V2 || p.messageId !== 0) {
        this.counters.drops.UNEXPECTED++;
        return false;
      }
      this.#peerSid = p.sessionId.slice();
      this.#sender.enqueue(new Uint8Array(0), Opcode.CONTROL_HARD_RESET_SERVER_V2);
      this.#openTls();
    } else if (!bytesEqual(p.sessionId, this.#peerSid)) {
      this.counters.drops.SESSION_ID++;
      return false;
    }
    if (p.acks.length > 0 && (p.remoteSessionId === undefined || !bytesEqual(p.remoteSessionId, this.#localSid))) {
      this.counters.drops.ACK_SESSION_ID++;
      return false;
    }
    return true;
  }

  #receive(p: ControlPacket): void {
    const id = p.messageId ?? 0;
    const framed = new Uint8Array(p.payload.byteLength + 1);
    framed[0] = p.opcode;
    framed.set(p.payload, 1);
    const r = this.#receiver.receive(id, framed);
    if (r === 'duplicate') this.counters.duplicates++;
    if (r === 'out-of-window') this.counters.drops.WINDOW++;
    for (const m of this.#receiver.takeInOrder()) {
      if (m[0] === Opcode.CONTROL_V1) this.#tls?.feedCiphertext(m.subarray(1));
    }
  }

  #openTls(): void {
    this.#tls = createServerTlsEngine(this.#o.tls, {
      ciphertext: (bytes) => {
        for (let off = 0; off < bytes.byteLength; off += MAX_TLS_CHUNK) this.#sender.enqueue(bytes.slice(off, off + MAX_TLS_CHUNK), Opcode.CONTROL_V1);
        this.#flush();
      },
      plaintext: (bytes) => this.#onPlaintext(bytes),
      secure: (peer) => {
        this.peerCommonName = /(?:^|\n)CN=([^\n]*)/.exec(peer?.subject ?? '')?.[1];
      },
      error: (err) => {
        this.tlsError = err;
      },
    });
  }

  #onPlaintext(bytes: Uint8Array): void {
    if (this.#closed) return;
    let rest = bytes;
    if (this.clientKm2 === undefined) {
      const { km2, consumed } = decodeClientKm2(bytes);
      this.clientKm2 = km2;
      const want = this.#o.credentials;
      this.#authOk = want === undefined || (km2.username === want.username && km2.password === want.password);
      this.#tls?.writePlaintext(encodeServerKm2(this.#random1, this.#random2, SERVER_OCC));
      rest = bytes.subarray(consumed);
    }
    const split = splitControlMessages(rest, this.#carry);
    this.#carry = split.carry;
    for (const msg of split.messages) this.#onMessage(msg);
  }

  #onMessage(msg: string): void {
    if (msg === 'PUSH_REQUEST') {
      this.counters.pushRequests++;
      if (!this.#authOk) {
        this.counters.authFailed++;
        this.#tls?.writePlaintext(encodeControlMessage('AUTH_FAILED'));
        return;
      }
      if (this.#now() < this.#pushReplyExpiry) {
        this.counters.pushAlreadyReplied++;
        return;
      }
      this.#pushReplyExpiry = this.#now() + PUSH_REPLY_EXPIRY_MS;
      this.counters.pushReplies++;
      const reply = encodeControlMessage(`PUSH_REPLY,${this.#push()}`);
      this.#tls?.writePlaintext(concatBytes(...Array.from({ length: this.#o.pushReplyCopies ?? 1 }, () => reply)));
      if (this.#data === undefined) this.#installKeys();
    } else if (msg === 'EXIT') {
      this.counters.exitMessages++;
    }
  }

  #push(): string {
    return this.#o.push ?? DEFAULT_PUSH;
  }

  /** Derives key2 as the client will (EKM when tls-ekm is pushed, the PRF otherwise) and installs the server's directions. */
  #installKeys(): void {
    const push = this.#push();
    const km2 = this.clientKm2;
    const peerSid = this.#peerSid;
    const tls = this.#tls;
    if (km2 === undefined || peerSid === undefined || tls === undefined) return;
    const ekm = /(^|,)(protocol-flags [^,]*tls-ekm|key-derivation tls-ekm)/.test(push);
    const key2 = ekm
      ? tls.exportKeyingMaterial(KEY2_LENGTH, EKM_LABEL)
      : deriveKeysPrf(nodeHmac, {
          clientPreMaster: km2.preMaster,
          clientRandom1: km2.random1,
          serverRandom1: this.#random1,
          clientRandom2: km2.random2,
          serverRandom2: this.#random2,
          clientSessionId: peerSid,
          serverSessionId: this.#localSid,
        });
    const cipher = /(?:^|,)cipher ([^,]+)/.exec(push)?.[1] ?? 'AES-256-GCM';
    const peerIdText = /(?:^|,)peer-id (\d+)/.exec(push)?.[1];
    const keys = splitKey2(key2, 'server');
    key2.fill(0);
    const data = new DataChannel();
    data.install(0, createDataCrypto(cipher, undefined, keys.send), createDataCrypto(cipher, undefined, keys.recv), peerIdText === undefined ? undefined : Number(peerIdText));
    this.#data = data;
    this.keysInstalled = ekm ? 'ekm' : 'prf';
  }

  #onData(bytes: Uint8Array): void {
    const data = this.#data;
    if (data === undefined) {
      this.counters.dataDrops++;
      return;
    }
    const n = data.openPacket(bytes, bytes.byteLength, this.#rx, this.#wall());
    if (n < 0) {
      this.counters.dataDrops++;
      return;
    }
    this.counters.dataIn++;
    const kind = classifyPayload(this.#rx, n);
    if (kind === 'ping') {
      this.counters.pingsIn++;
      this.#sendData(PING_STRING);
    } else if (kind === 'occ-exit') {
      this.counters.exitMessages++;
    } else if (kind === 'ip') {
      const packet = this.#rx.slice(0, n);
      this.ipIn.push(packet);
      if (isEchoRequest(packet)) {
        this.counters.echoReplies++;
        this.#sendData(echoReply(packet));
      }
    }
  }

  #sendData(payload: Uint8Array): void {
    const n = this.#data?.sealPacket(payload, payload.byteLength, this.#tx) ?? -1;
    if (n > 0) this.#link?.send(this.#tx.subarray(0, n));
  }

  /** Sends what the reliable layer has due, then bare ACKs, and re-arms the retransmit timer. */
  #flush(): void {
    const peerSid = this.#peerSid;
    if (this.#closed || peerSid === undefined) return;
    const now = this.#now();
    for (const m of this.#sender.poll(now)) {
      const acks = this.#receiver.takeAcks(CONTROL_SEND_ACK_MAX);
      this.#send({ opcode: m.opcode as ControlPacket['opcode'], keyId: 0, sessionId: this.#localSid, acks, remoteSessionId: acks.length > 0 ? peerSid : undefined, messageId: m.id, payload: m.payload });
    }
    while (this.#receiver.ackPending > 0) {
      const acks = this.#receiver.takeAcks(8);
      this.#send({ opcode: Opcode.ACK_V1, keyId: 0, sessionId: this.#localSid, acks, remoteSessionId: peerSid, messageId: undefined, payload: new Uint8Array(0) });
    }
    this.#o.timers.clear(this.#timer);
    const at = this.#sender.nextDeadline();
    this.#timer = at === undefined ? undefined : this.#o.timers.set(Math.max(0, at - now), () => this.#flush());
  }

  #send(p: ControlPacket): void {
    const pid = this.#pid.next(this.#wall());
    if (pid === undefined) return;
    this.#link?.send(this.#wrap.wrap(encodeControlPacket(p), pid.id, pid.time));
  }
}
