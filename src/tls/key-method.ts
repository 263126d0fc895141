/**
 * Key method 2: the first TLS application-data message each side sends after the handshake
 * (src/openvpn/ssl.c `key_method_2_write` / `key_method_2_read`), and the OCC options string
 * it carries (src/openvpn/options.c `options_string`).
 *
 *   client -> server                          server -> client
 *   +----------------+                        +----------------+
 *   | u32 0          |                        | u32 0          |
 *   | u8  2          | key_method             | u8  2          |
 *   | pre_master 48  | (client only)          | random1 32     |
 *   | random1 32     |                        | random2 32     |
 *   | random2 32     |                        | options        |
 *   | options        |  each string:          | username       | (u16 0 from a real server)
 *   | username       |  u16 len (incl. NUL)   | password       | (u16 0)
 *   | password       |  + bytes + NUL;        | peer-info      | (u16 0)
 *   | peer-info      |  absent = u16 0        +----------------+
 *   +----------------+
 *
 * The decoder reports how many bytes it consumed: Node's TLS stream may deliver the server's
 * KM2 and an immediate PUSH_REPLY in one chunk, and the remainder belongs to the control
 * message splitter (messages.ts). OpenVPN itself reads one TLS record and discards the rest.
 *
 * Pure. Never logs; the encoded message contains the password: never hex-dump it.
 */
import { ByteReader, ByteWriter } from '../base/bytes.ts';
import { ConfigError, LocalProtocolError, RemoteProtocolError } from '../base/errors.ts';
import type { SourcePos } from '../base/errors.ts';
import type { Random } from '../base/clock.ts';
import { PRE_MASTER_LENGTH, RANDOM_LENGTH } from './keys.ts';

/** `KEY_METHOD_2` and `KEY_METHOD_MASK`, src/openvpn/ssl.h. */
export const KEY_METHOD_2 = 2;
export const KEY_METHOD_MASK = 0x0f;
/** `TLS_OPTIONS_LEN`, src/openvpn/ssl.h: the options string, NUL included. */
export const TLS_OPTIONS_LEN = 512;
/**
 * `USER_PASS_LEN` 128 (src/openvpn/misc.h) includes the NUL, so 127 bytes of text. Builds
 * with PKCS#11 (Debian's, for one) raise it to 4096; callers may pass a larger limit.
 */
export const USER_PASS_MAX_BYTES = 127;
/** u32 0 + key_method + random1 + random2 + the options length field (minivpn's bound). */
export const SERVER_KM2_MIN_LENGTH = 4 + 1 + RANDOM_LENGTH * 2 + 2;

/** Our own key source (`struct key_source`, client side). */
export interface ClientKeySource {
  readonly preMaster: Uint8Array;
  readonly random1: Uint8Array;
  readonly random2: Uint8Array;
}

/** Fresh random key source; the randoms must be random even when EKM will be used. */
export function newClientKeySource(random: Random): ClientKeySource {
  return {
    preMaster: random.bytes(PRE_MASTER_LENGTH),
    random1: random.bytes(RANDOM_LENGTH),
    random2: random.bytes(RANDOM_LENGTH),
  };
}

export interface ClientKeyMethod2 {
  readonly keySource: ClientKeySource;
  /** The OCC options string (see `occOptionsString`). */
  readonly options: string;
  /** With auth-user-pass or an auth-token; both or neither. */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** The peer-info text (peer-info.ts). */
  readonly peerInfo?: string;
}

export interface Km2EncodeLimits {
  /** Maximum username/password bytes (without NUL); default USER_PASS_MAX_BYTES. */
  readonly maxCredentialBytes?: number;
  /** Where the credentials came from, for the error message. */
  readonly credentialsFrom?: SourcePos;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

function writeString(w: ByteWriter, text: string): void {
  const bytes = encoder.encode(text);
  w.u16(bytes.byteLength + 1).bytes(bytes).u8(0);
}

function checkNoNul(what: string, text: string): void {
  if (text.includes('\0')) throw new LocalProtocolError(`${what} contains a NUL character`);
}

function checkCredential(what: string, text: string, limits: Km2EncodeLimits): void {
  const max = limits.maxCredentialBytes ?? USER_PASS_MAX_BYTES;
  const n = encoder.encode(text).byteLength;
  if (n > max) {
    const at = limits.credentialsFrom ?? { file: '<auth-user-pass>', line: 0 };
    // Lengths only: the value itself is a secret.
    throw new ConfigError('CONFIG_LIMIT', at, 'auth-user-pass', `${what} is ${n} bytes; the server accepts at most ${max}`);
  }
  if (text.includes('\0')) {
    const at = limits.credentialsFrom ?? { file: '<auth-user-pass>', line: 0 };
    throw new ConfigError('CONFIG_INVALID', at, 'auth-user-pass', `${what} contains a NUL character`);
  }
}

/** The client's KM2 plaintext. Throws ConfigError for over-long credentials before anything is sent. */
export function encodeClientKeyMethod2(msg: ClientKeyMethod2, limits: Km2EncodeLimits = {}): Uint8Array {
  const ks = msg.keySource;
  if (ks.preMaster.byteLength !== PRE_MASTER_LENGTH || ks.random1.byteLength !== RANDOM_LENGTH || ks.random2.byteLength !== RANDOM_LENGTH) {
    throw new LocalProtocolError('key source has wrong lengths');
  }
  checkNoNul('options string', msg.options);
  if (encoder.encode(msg.options).byteLength + 1 > TLS_OPTIONS_LEN) {
    throw new LocalProtocolError(`options string longer than ${TLS_OPTIONS_LEN - 1} bytes`);
  }
  if (msg.credentials !== undefined) {
    checkCredential('username', msg.credentials.username, limits);
    checkCredential('password', msg.credentials.password, limits);
  }
  if (msg.peerInfo !== undefined) checkNoNul('peer-info', msg.peerInfo);

  const w = new ByteWriter(512);
  w.u32(0).u8(KEY_METHOD_2).bytes(ks.preMaster).bytes(ks.random1).bytes(ks.random2);
  writeString(w, msg.options);
  if (msg.credentials === undefined) {
    w.u16(0).u16(0);
  } else {
    writeString(w, msg.credentials.username);
    writeString(w, msg.credentials.password);
  }
  if (msg.peerInfo === undefined) w.u16(0);
  else writeString(w, msg.peerInfo);
  return w.finish();
}

export interface ServerKeyMethod2 {
  readonly random1: Uint8Array;
  readonly random2: Uint8Array;
  readonly options: string;
  /** Normally absent from a server; kept if present. */
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly peerInfo: string | undefined;
}

export interface DecodedServerKeyMethod2 {
  readonly message: ServerKeyMethod2;
  /** Bytes of `plaintext` that belong to the KM2; the rest is the next control message(s). */
  readonly consumed: number;
}

function bad(detail: string): RemoteProtocolError {
  return new RemoteProtocolError('BAD_MESSAGE', `server key-method 2: ${detail}`);
}

/**
 * One length-prefixed string. u16 0 and a lone NUL both mean absent (`read_string`).
 * A length beyond the buffer or a string whose last byte is not NUL is an error.
 */
function readString(r: ByteReader, field: string, max: number): string | undefined {
  if (r.remaining < 2) throw bad(`${field}: missing length`);
  const len = r.u16();
  if (len === 0) return undefined;
  if (len > max) throw bad(`${field}: length ${len} exceeds ${max}`);
  if (len > r.remaining) throw bad(`${field}: length ${len} beyond end of message (${r.remaining} left)`);
  const raw = r.bytes(len);
  if (raw[len - 1] !== 0) throw bad(`${field}: not NUL-terminated`);
  if (raw.subarray(0, len - 1).includes(0)) throw bad(`${field}: embedded NUL`);
  return len === 1 ? undefined : decoder.decode(raw.subarray(0, len - 1));
}

/** Limit for the strings that follow the options; generous, the whole record is bounded by TLS. */
const SERVER_STRING_MAX = 4096;

/**
 * Decode the server's KM2 from the start of `plaintext`. The options string is required; the
 * username, password and peer-info fields may be missing only if the plaintext ends exactly
 * where one would start (OpenVPN's reader tolerates that too). Throws RemoteProtocolError
 * ('BAD_MESSAGE') on anything malformed.
 */
export function decodeServerKeyMethod2(plaintext: Uint8Array): DecodedServerKeyMethod2 {
  if (plaintext.byteLength < SERVER_KM2_MIN_LENGTH) {
    throw bad(`${plaintext.byteLength} bytes, shorter than ${SERVER_KM2_MIN_LENGTH}`);
  }
  const r = new ByteReader(plaintext);
  r.u32(); // literal 0, skipped as OpenVPN does
  const method = r.u8();
  if ((method & KEY_METHOD_MASK) !== KEY_METHOD_2) throw bad(`unknown key_method/flags ${method}`);
  const random1 = r.bytes(RANDOM_LENGTH).slice();
  const random2 = r.bytes(RANDOM_LENGTH).slice();
  const options = readString(r, 'options', TLS_OPTIONS_LEN) ?? '';
  const username = r.remaining === 0 ? undefined : readString(r, 'username', SERVER_STRING_MAX);
  const password = r.remaining === 0 ? undefined : readString(r, 'password', SERVER_STRING_MAX);
  const peerInfo = r.remaining === 0 ? undefined : readString(r, 'peer-info', SERVER_STRING_MAX);
  return { message: { random1, random2, options, username, password, peerInfo }, consumed: r.offset };
}

/** Inputs of the OCC options string; explicit so that this module does not depend on ClientOptions. */
export interface OccOptionsParams {
  readonly devType: 'tun' | 'tap';
  /** As `calc_options_string_link_mtu` (options.c) computes it. */
  readonly linkMtu: number;
  readonly tunMtu: number;
  readonly proto: 'udp' | 'tcp-client';
  /** Any compression configured (`comp.alg` defined): writes `,comp-lzo`. */
  readonly compression?: boolean;
  /** `--fragment` set: writes `,mtu-dynamic`. */
  readonly fragment?: boolean;
  /** `key-direction` for tls-auth; absent = bidirectional (nothing written). */
  readonly keyDirection?: 0 | 1;
  /**
   * The `--cipher`, only when it is in data-ciphers (a default 2.6 client has the BF-CBC
   * placeholder and writes no cipher). Absent: no `,cipher`, `keysize 128`.
   */
  readonly cipher?: { readonly name: string; readonly keyBits: number };
  /** `md_kt_name` of the digest: `SHA1` by default, `[null-digest]` for AEAD ciphers. */
  readonly auth: string;
  readonly tlsAuth?: boolean;
  /** `--no-replay` (default: replay protection on). */
  readonly noReplay?: boolean;
}

/**
 * `V4,dev-type tun,link-mtu 1521,tun-mtu 1500,proto UDPv4,auth SHA1,keysize 128,key-method 2,tls-client`
 * shaped as a 2.6 pulling client writes it (`options_string`, remote = false).
 */
export function occOptionsString(p: OccOptionsParams): string {
  const parts = ['V4', `dev-type ${p.devType}`, `link-mtu ${p.linkMtu}`, `tun-mtu ${p.tunMtu}`];
  parts.push(`proto ${p.proto === 'udp' ? 'UDPv4' : 'TCPv4_CLIENT'}`);
  if (p.compression === true) parts.push('comp-lzo');
  if (p.fragment === true) parts.push('mtu-dynamic');
  if (p.keyDirection !== undefined) parts.push(`keydir ${p.keyDirection}`);
  if (p.cipher !== undefined) parts.push(`cipher ${p.cipher.name}`);
  parts.push(`auth ${p.auth}`, `keysize ${p.cipher?.keyBits ?? 128}`);
  if (p.noReplay === true) parts.push('no-replay');
  if (p.tlsAuth === true) parts.push('tls-auth');
  parts.push(`key-method ${KEY_METHOD_2}`, 'tls-client');
  return parts.join(',');
}
