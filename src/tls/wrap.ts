/**
 * Control-channel packet protection: none, tls-auth, tls-crypt, tls-crypt-v2
 * (ssl_pkt.c tls_wrap_control / read_control_auth / swap_hmac, tls_crypt.c tls_crypt_wrap /
 * tls_crypt_unwrap, crypto.c openvpn_encrypt_v1 with no cipher).
 *
 * Input to wrap() and output of unwrap() is the *plain* packet `op|kid, own sid(8), ACK block,
 * message id, payload` (see packet.ts). On the wire:
 *
 *   none         op | sid | rest
 *   tls-auth     op | sid | HMAC(h) | pid u32 | time u32 | rest
 *                HMAC = HMAC-auth(key, pid | time | op | sid | rest)
 *   tls-crypt    op | sid | pid u32 | time u32 | tag(32) | AES-256-CTR(Ke, iv = tag[0..16), rest)
 *                tag = HMAC-SHA256(Ka, op | sid | pid | time | rest)
 *   tls-crypt-v2 as tls-crypt with Kc, plus WKc in clear after the ciphertext on
 *                P_CONTROL_HARD_RESET_CLIENT_V3 and P_CONTROL_WKC_V1
 *
 * The outbound packet id is NOT kept here: the caller owns a PacketIdSend (below), started at
 * `wrap.initialPacketId`, and takes a fresh id for every transmission, retransmits included.
 * The inbound replay window (replay.ts) IS kept here: unwrap() authenticates, then checks and
 * records the packet id. Per-packet failures are returned values, never thrown.
 *
 * Pure apart from node:crypto (HMAC, AES-CTR); no clock: times are parameters. Never log or
 * expose key bytes.
 */
import { createCipheriv, createDecipheriv, createHmac, getHashes, timingSafeEqual } from 'node:crypto';
import { concatBytes } from '../base/bytes.ts';
import { ReplayWindow } from '../base/replay.ts';
import { Opcode, opcodeOf, SID_SIZE } from './packet.ts';
import { keyDirectionSlices, type KeyDirection, type KeySlice } from './static-key.ts';

export * from './control-wrap.ts';
const TLS_CRYPT_KEY_LEN = 32; // AES-256-CTR key, and the HMAC-SHA256 key length used
const TLS_CRYPT_IV_LEN = 16;
const OP_SID = 1 + SID_SIZE;
import { PACKET_ID_LONG_SIZE, TLS_CRYPT_OFF_CT, TLS_CRYPT_OFF_PID, TLS_CRYPT_OFF_TAG, TLS_CRYPT_TAG_SIZE, EARLY_NEG_START, type ControlWrap, type ReplayOptions, type UnwrapResult } from './control-wrap.ts';

/** No control-channel protection. pid/time are ignored and reported as 0. */
export class NoneWrap implements ControlWrap {
  readonly mode = 'none' as const;
  readonly initialPacketId = 0;
  readonly overhead = 0;
  wrap(plain: Uint8Array): Uint8Array {
    checkPlain(plain);
    return plain.slice();
  }
  unwrap(datagram: Uint8Array): UnwrapResult {
    if (datagram.byteLength < OP_SID) return { ok: false, reason: 'SHORT' };
    return { ok: true, packet: datagram.slice(), pid: 0, time: 0 };
  }
}

export interface TlsAuthOptions extends ReplayOptions {
  /** The 256-byte static key. */
  readonly key: Uint8Array;
  /** --key-direction (or the tls-auth direction argument); undefined = bidirectional. */
  readonly direction: KeyDirection;
  /** --auth digest name, e.g. SHA1 (default), SHA256, SHA512. */
  readonly digest?: string;
}

/** Digest size of an --auth name usable for tls-auth, or undefined if Node cannot do it. */
export function tlsAuthDigestSize(name: string): number | undefined {
  const algo = name.toLowerCase();
  if (algo === 'none' || !getHashes().includes(algo)) return undefined;
  try {
    return createHmac(algo, new Uint8Array(0)).digest().byteLength;
  } catch {
    return undefined;
  }
}

export class TlsAuthWrap implements ControlWrap {
  readonly mode = 'tls-auth' as const;
  readonly initialPacketId = 0;
  readonly overhead: number;
  readonly #algo: string;
  readonly #hmacSize: number;
  readonly #sendKey: Uint8Array;
  readonly #recvKey: Uint8Array;
  readonly #replay: ReplayWindow;

  constructor(opts: TlsAuthOptions) {
    const digest = opts.digest ?? 'SHA1';
    const size = tlsAuthDigestSize(digest);
    if (size === undefined || size > 64) throw new RangeError(`unsupported tls-auth digest ${digest}`);
    const keys = keyDirectionSlices(opts.key, opts.direction);
    this.#algo = digest.toLowerCase();
    this.#hmacSize = size;
    this.#sendKey = keys.encrypt.hmac.slice(0, size);
    this.#recvKey = keys.decrypt.hmac.slice(0, size);
    this.#replay = new ReplayWindow(opts.replayWindow, opts.replaySeconds);
    this.overhead = size + PACKET_ID_LONG_SIZE;
  }

  wrap(plain: Uint8Array, pid: number, netTime: number): Uint8Array {
    checkPlain(plain);
    const h = this.#hmacSize;
    const out = new Uint8Array(plain.byteLength + h + PACKET_ID_LONG_SIZE);
    out.set(plain.subarray(0, OP_SID), 0);
    const pidAt = OP_SID + h;
    writeLongPid(out, pidAt, pid, netTime);
    out.set(plain.subarray(OP_SID), pidAt + PACKET_ID_LONG_SIZE);
    out.set(this.#mac(this.#sendKey, out), OP_SID);
    return out;
  }

  unwrap(datagram: Uint8Array, nowWallSeconds: number): UnwrapResult {
    const h = this.#hmacSize;
    const pidAt = OP_SID + h;
    if (datagram.byteLength < pidAt + PACKET_ID_LONG_SIZE) return { ok: false, reason: 'SHORT' };
    const mac = this.#mac(this.#recvKey, datagram);
    if (!timingSafeEqual(mac, datagram.subarray(OP_SID, pidAt))) return { ok: false, reason: 'HMAC' };
    const view = new DataView(datagram.buffer, datagram.byteOffset + pidAt, PACKET_ID_LONG_SIZE);
    const pid = view.getUint32(0);
    const time = view.getUint32(4);
    if (!acceptReplay(this.#replay, pid, time, nowWallSeconds)) return { ok: false, reason: 'REPLAY' };
    const packet = concatBytes(datagram.subarray(0, OP_SID), datagram.subarray(pidAt + PACKET_ID_LONG_SIZE));
    return { ok: true, packet, pid, time };
  }

  /** HMAC over the pseudo packet pid | time | op | sid | rest of a wire-format packet. */
  #mac(key: Uint8Array, wire: Uint8Array): Uint8Array {
    const pidAt = OP_SID + this.#hmacSize;
    const hmac = createHmac(this.#algo, key);
    hmac.update(wire.subarray(pidAt, pidAt + PACKET_ID_LONG_SIZE));
    hmac.update(wire.subarray(0, OP_SID));
    hmac.update(wire.subarray(pidAt + PACKET_ID_LONG_SIZE));
    return hmac.digest();
  }
}

export interface TlsCryptOptions extends ReplayOptions {
  /** The 256-byte static key (tls-crypt) or Kc (tls-crypt-v2). */
  readonly key: Uint8Array;
  /** Direction is implied by the role: server NORMAL, client INVERSE. Default client. */
  readonly role?: 'client' | 'server';
}

/**
 * tls-crypt core over caller-chosen associated data: returns ad | tag | ct where
 * tag = HMAC-SHA256(Ka, ad | plaintext) and ct = AES-256-CTR(Ke, tag[0..16), plaintext).
 * `keys` is the encrypt slice of the key2 (Ke = cipher[0..32), Ka = hmac[0..32)).
 */
export function tlsCryptSeal(keys: KeySlice, ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const tag = createHmac('sha256', keys.hmac.subarray(0, TLS_CRYPT_KEY_LEN)).update(ad).update(plaintext).digest();
  const cipher = createCipheriv('aes-256-ctr', keys.cipher.subarray(0, TLS_CRYPT_KEY_LEN), tag.subarray(0, TLS_CRYPT_IV_LEN));
  return concatBytes(ad, tag, cipher.update(plaintext), cipher.final());
}

/** Inverse of tlsCryptSeal given where the tag starts; undefined if the tag does not verify. */
export function tlsCryptOpen(keys: KeySlice, sealed: Uint8Array, tagOffset: number): Uint8Array | undefined {
  const ad = sealed.subarray(0, tagOffset);
  const tag = sealed.subarray(tagOffset, tagOffset + TLS_CRYPT_TAG_SIZE);
  const decipher = createDecipheriv('aes-256-ctr', keys.cipher.subarray(0, TLS_CRYPT_KEY_LEN), tag.subarray(0, TLS_CRYPT_IV_LEN));
  const plaintext = concatBytes(decipher.update(sealed.subarray(tagOffset + TLS_CRYPT_TAG_SIZE)), decipher.final());
  const check = createHmac('sha256', keys.hmac.subarray(0, TLS_CRYPT_KEY_LEN)).update(ad).update(plaintext).digest();
  return timingSafeEqual(check, tag) ? plaintext : undefined;
}

export class TlsCryptWrap implements ControlWrap {
  readonly mode: 'tls-crypt' | 'tls-crypt-v2' = 'tls-crypt';
  readonly initialPacketId: number = 0;
  readonly overhead = PACKET_ID_LONG_SIZE + TLS_CRYPT_TAG_SIZE;
  readonly #encrypt: KeySlice;
  readonly #decrypt: KeySlice;
  readonly #replay: ReplayWindow;

  constructor(opts: TlsCryptOptions) {
    const keys = keyDirectionSlices(opts.key, opts.role === 'server' ? 0 : 1);
    this.#encrypt = { cipher: keys.encrypt.cipher.slice(), hmac: keys.encrypt.hmac.slice() };
    this.#decrypt = { cipher: keys.decrypt.cipher.slice(), hmac: keys.decrypt.hmac.slice() };
    this.#replay = new ReplayWindow(opts.replayWindow, opts.replaySeconds);
  }

  wrap(plain: Uint8Array, pid: number, netTime: number): Uint8Array {
    checkPlain(plain);
    const ad = new Uint8Array(TLS_CRYPT_OFF_TAG);
    ad.set(plain.subarray(0, OP_SID));
    writeLongPid(ad, TLS_CRYPT_OFF_PID, pid, netTime);
    return tlsCryptSeal(this.#encrypt, ad, plain.subarray(OP_SID));
  }

  unwrap(datagram: Uint8Array, nowWallSeconds: number): UnwrapResult {
    if (datagram.byteLength < TLS_CRYPT_OFF_CT) return { ok: false, reason: 'SHORT' };
    const plaintext = tlsCryptOpen(this.#decrypt, datagram, TLS_CRYPT_OFF_TAG);
    if (plaintext === undefined) return { ok: false, reason: 'HMAC' };
    const view = new DataView(datagram.buffer, datagram.byteOffset + TLS_CRYPT_OFF_PID, PACKET_ID_LONG_SIZE);
    const pid = view.getUint32(0);
    const time = view.getUint32(4);
    if (!acceptReplay(this.#replay, pid, time, nowWallSeconds)) return { ok: false, reason: 'REPLAY' };
    return { ok: true, packet: concatBytes(datagram.subarray(0, OP_SID), plaintext), pid, time };
  }
}

export interface TlsCryptV2Options extends TlsCryptOptions {
  /** The wrapped client key (WKc) from the client key file. */
  readonly wkc: Uint8Array;
  /**
   * Start the packet-id counter at EARLY_NEG_START to announce early negotiation (2.6+ HMAC
   * cookie handshake). Default true, as OpenVPN 2.6 clients do.
   */
  readonly earlyNegotiation?: boolean;
}

/**
 * tls-crypt with Kc; WKc is appended to P_CONTROL_HARD_RESET_CLIENT_V3 and P_CONTROL_WKC_V1.
 * On unwrap of those two opcodes (what a server receives) the trailing WKc is located by its
 * own length field and stripped; it must equal ours ('WKC' otherwise: this twin does not hold
 * a tls-crypt-v2 server key to unwrap a foreign WKc).
 */
export class TlsCryptV2Wrap extends TlsCryptWrap {
  override readonly mode = 'tls-crypt-v2' as const;
  override readonly initialPacketId: number;
  readonly #wkc: Uint8Array;

  constructor(opts: TlsCryptV2Options) {
    super(opts);
    this.#wkc = opts.wkc.slice();
    this.initialPacketId = opts.earlyNegotiation === false ? 0 : EARLY_NEG_START;
  }

  /** Length of the WKc this wrap appends. */
  get wkcLength(): number {
    return this.#wkc.byteLength;
  }

  override wrap(plain: Uint8Array, pid: number, netTime: number): Uint8Array {
    const sealed = super.wrap(plain, pid, netTime);
    return carriesWkc(plain) ? concatBytes(sealed, this.#wkc) : sealed;
  }

  override unwrap(datagram: Uint8Array, nowWallSeconds: number): UnwrapResult {
    if (!carriesWkc(datagram)) return super.unwrap(datagram, nowWallSeconds);
    if (datagram.byteLength < TLS_CRYPT_OFF_CT + 2) return { ok: false, reason: 'SHORT' };
    const n = datagram.byteLength;
    const wkcLen = ((datagram[n - 2] ?? 0) << 8) | (datagram[n - 1] ?? 0);
    if (wkcLen < 2 || wkcLen > n - TLS_CRYPT_OFF_CT) return { ok: false, reason: 'WKC' };
    const wkc = datagram.subarray(n - wkcLen);
    if (wkc.byteLength !== this.#wkc.byteLength || !timingSafeEqual(wkc, this.#wkc)) return { ok: false, reason: 'WKC' };
    return super.unwrap(datagram.subarray(0, n - wkcLen), nowWallSeconds);
  }
}

function carriesWkc(packet: Uint8Array): boolean {
  const op = opcodeOf(packet[0] ?? 0);
  return op === Opcode.CONTROL_HARD_RESET_CLIENT_V3 || op === Opcode.CONTROL_WKC_V1;
}

function checkPlain(plain: Uint8Array): void {
  if (plain.byteLength < OP_SID) throw new RangeError(`plain control packet of ${plain.byteLength} bytes`);
}

function writeLongPid(out: Uint8Array, at: number, pid: number, time: number): void {
  const view = new DataView(out.buffer, out.byteOffset + at, PACKET_ID_LONG_SIZE);
  view.setUint32(0, pid >>> 0);
  view.setUint32(4, time >>> 0);
}

function acceptReplay(w: ReplayWindow, pid: number, time: number, now: number): boolean {
  if (w.check(pid, time, now) !== 'ok') return false;
  w.accept(pid, time, now);
  return true;
}
