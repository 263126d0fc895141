/**
 * Data-channel key material: where the 256-byte `key2` comes from and how it is sliced.
 *
 *   legacy PRF (key-method 2 randoms)            EKM (`tls-ekm` pushed)
 *   ---------------------------------            -----------------------------------------
 *   master = PRF(pre_master,                      key2 = exportKeyingMaterial(256,
 *     "OpenVPN master secret" || c.r1 || s.r1)           "EXPORTER-OpenVPN-datakeys")
 *   key2 = PRF(master,                                   (no context; done by the TLS adapter)
 *     "OpenVPN key expansion" || c.r2 || s.r2
 *      || client_sid || server_sid)
 *
 *   key2 (256 bytes) = key[0] | key[1], each key = cipher[64] | hmac[64]
 *     0 ....... 63 | 64 ..... 127 | 128 ..... 191 | 192 ..... 255
 *     cipher c->s  | hmac c->s    | cipher s->c   | hmac s->c
 *   The client sends with key[0] and receives with key[1] (KEY_DIRECTION_NORMAL).
 *   AEAD ciphers use the first 8 bytes of a direction's hmac half as the implicit IV.
 *
 * Sources: src/openvpn/ssl.c `generate_key_expansion_openvpn_prf`, `openvpn_PRF`,
 * `init_key_contexts`; src/openvpn/ssl_backend.h `EXPORT_KEY_DATA_LABEL`;
 * src/openvpn/crypto.h `struct key`, `struct key2`; src/openvpn/crypto.c `key_ctx_update_implicit_iv`.
 * Note: the openvpn-rfc draft omits the session ids from the seed; the code includes them.
 *
 * Pure: node:crypto HMAC only (through prf.ts). Key material stays in Uint8Array: never
 * stringify, hex-dump or log it.
 */
import { LocalProtocolError } from '../base/errors.ts';
import { concatBytes } from '../base/bytes.ts';
import { tls1Prf, type HmacFn } from './prf.ts';

/** `KEY_EXPANSION_ID` ("OpenVPN", src/openvpn/ssl.h) + " master secret". */
export const PRF_MASTER_SECRET_LABEL = 'OpenVPN master secret';
/** `KEY_EXPANSION_ID` + " key expansion" (no trailing space, unlike the rfc draft). */
export const PRF_KEY_EXPANSION_LABEL = 'OpenVPN key expansion';
/** `EXPORT_KEY_DATA_LABEL`, src/openvpn/ssl_backend.h; used with no context. */
export const EKM_LABEL = 'EXPORTER-OpenVPN-datakeys';
/** `sizeof(struct key2.keys)`: two keys of cipher[64] + hmac[64]. */
export const KEY2_LENGTH = 256;
/** `MAX_CIPHER_KEY_LENGTH` and `MAX_HMAC_KEY_LENGTH`, src/openvpn/crypto_backend.h. */
export const MAX_CIPHER_KEY_LENGTH = 64;
export const MAX_HMAC_KEY_LENGTH = 64;
/** Length of the master secret (`uint8_t master[48]` in ssl.c). */
export const MASTER_SECRET_LENGTH = 48;
/** `struct key_source`: pre_master[48], random1[32], random2[32] (src/openvpn/ssl_common.h). */
export const PRE_MASTER_LENGTH = 48;
export const RANDOM_LENGTH = 32;
/** `SID_SIZE`, src/openvpn/session_id.h. */
export const SESSION_ID_LENGTH = 8;
/** AEAD implicit IV: packet_id(4) || implicit_iv(8) makes the 12-byte nonce (crypto.c). */
export const AEAD_IMPLICIT_IV_LENGTH = 8;

export interface PrfKeySources {
  readonly clientPreMaster: Uint8Array;
  readonly clientRandom1: Uint8Array;
  readonly serverRandom1: Uint8Array;
  readonly clientRandom2: Uint8Array;
  readonly serverRandom2: Uint8Array;
  readonly clientSessionId: Uint8Array;
  readonly serverSessionId: Uint8Array;
}

function checkLength(name: string, b: Uint8Array, want: number): void {
  if (b.byteLength !== want) throw new LocalProtocolError(`${name} must be ${want} bytes, got ${b.byteLength}`);
}

const encoder = new TextEncoder();

/** key2 (256 bytes) by the legacy OpenVPN PRF, as `generate_key_expansion_openvpn_prf`. */
export function deriveKeysPrf(hmac: HmacFn, src: PrfKeySources): Uint8Array {
  checkLength('pre_master', src.clientPreMaster, PRE_MASTER_LENGTH);
  checkLength('client random1', src.clientRandom1, RANDOM_LENGTH);
  checkLength('server random1', src.serverRandom1, RANDOM_LENGTH);
  checkLength('client random2', src.clientRandom2, RANDOM_LENGTH);
  checkLength('server random2', src.serverRandom2, RANDOM_LENGTH);
  checkLength('client session id', src.clientSessionId, SESSION_ID_LENGTH);
  checkLength('server session id', src.serverSessionId, SESSION_ID_LENGTH);
  const masterSeed = concatBytes(encoder.encode(PRF_MASTER_SECRET_LABEL), src.clientRandom1, src.serverRandom1);
  const master = tls1Prf(hmac, src.clientPreMaster, masterSeed, MASTER_SECRET_LENGTH);
  const expansionSeed = concatBytes(
    encoder.encode(PRF_KEY_EXPANSION_LABEL),
    src.clientRandom2,
    src.serverRandom2,
    src.clientSessionId,
    src.serverSessionId,
  );
  const key2 = tls1Prf(hmac, master, expansionSeed, KEY2_LENGTH);
  master.fill(0);
  return key2;
}

/**
 * What a data cipher needs from one half of key2. AEAD ciphers (GCM, ChaCha20-Poly1305) name
 * `implicitIvLen` (8); CBC + HMAC names `hmacKeyLen` (the digest size; 0 with `auth none`).
 */
export type DataCipherKeySpec =
  | { readonly keyLen: number; readonly implicitIvLen: number }
  | { readonly keyLen: number; readonly hmacKeyLen: number };

/** Key material for one direction; both are copies, sized for the cipher. */
export interface DirectionKeys {
  readonly cipherKey: Uint8Array;
  /** The HMAC key (CBC) or the AEAD implicit IV. */
  readonly hmacKeyOrImplicitIv: Uint8Array;
}

export interface DataChannelKeys {
  /** Client -> server: key[0]. */
  readonly send: DirectionKeys;
  /** Server -> client: key[1]. */
  readonly receive: DirectionKeys;
}

function secondLength(spec: DataCipherKeySpec): number {
  return 'implicitIvLen' in spec ? spec.implicitIvLen : spec.hmacKeyLen;
}

function sliceDirection(key2: Uint8Array, index: 0 | 1, spec: DataCipherKeySpec): DirectionKeys {
  const base = index * (MAX_CIPHER_KEY_LENGTH + MAX_HMAC_KEY_LENGTH);
  const hmacBase = base + MAX_CIPHER_KEY_LENGTH;
  return {
    cipherKey: key2.slice(base, base + spec.keyLen),
    hmacKeyOrImplicitIv: key2.slice(hmacBase, hmacBase + secondLength(spec)),
  };
}

/** Slice key2 for a client (KEY_DIRECTION_NORMAL): send with key[0], receive with key[1]. */
export function dataChannelKeys(key2: Uint8Array, spec: DataCipherKeySpec): DataChannelKeys {
  checkLength('key2', key2, KEY2_LENGTH);
  if (!Number.isInteger(spec.keyLen) || spec.keyLen < 0 || spec.keyLen > MAX_CIPHER_KEY_LENGTH) {
    throw new LocalProtocolError(`cipher key length ${spec.keyLen} out of range 0..${MAX_CIPHER_KEY_LENGTH}`);
  }
  const second = secondLength(spec);
  if (!Number.isInteger(second) || second < 0 || second > MAX_HMAC_KEY_LENGTH) {
    throw new LocalProtocolError(`hmac/implicit-IV length ${second} out of range 0..${MAX_HMAC_KEY_LENGTH}`);
  }
  return { send: sliceDirection(key2, 0, spec), receive: sliceDirection(key2, 1, spec) };
}
