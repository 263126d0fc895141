/**
 * OpenVPN key files used to protect the control channel:
 *
 *  - the static key V1 (tls-auth, tls-crypt, secret): 256 bytes as hex between
 *    `-----BEGIN OpenVPN Static key V1-----` and `-----END OpenVPN Static key V1-----`;
 *    everything outside the markers is ignored (crypto.c read_key_file);
 *  - the tls-crypt-v2 client key: PEM `OpenVPN tls-crypt-v2 client key` holding
 *    Kc (256 bytes, static-key layout) || WKc (opaque to the client, at most 1024 bytes,
 *    ending in its own length as u16 BE) (tls_crypt.c tls_crypt_v2_init_client_key).
 *
 * and the key-direction slicing of a 256-byte key2 (crypto.c key_direction_state_init):
 *
 *   bytes   0..63  key[0].cipher    64..127 key[0].hmac
 *   bytes 128..191 key[1].cipher   192..255 key[1].hmac
 *
 *   direction 0 (NORMAL):        encrypt/send key[0], decrypt/receive key[1]
 *   direction 1 (INVERSE):       encrypt/send key[1], decrypt/receive key[0]
 *   undefined (BIDIRECTIONAL):   key[0] both ways
 *
 * An algorithm uses the first keylen / digest-size bytes of its 64-byte half.
 * Pure (text in, bytes out). Errors are ConfigError with the file and line, and never
 * contain key material.
 */
import { fromBase64 } from '../base/bytes.ts';
import { ConfigError } from '../base/errors.ts';

export const STATIC_KEY_HEAD = '-----BEGIN OpenVPN Static key V1-----';
export const STATIC_KEY_FOOT = '-----END OpenVPN Static key V1-----';
/** crypto.h struct key2: 2 x (cipher 64 + hmac 64). */
export const STATIC_KEY_LEN = 256;
/** crypto_backend.h MAX_CIPHER_KEY_LENGTH / MAX_HMAC_KEY_LENGTH. */
export const MAX_CIPHER_KEY_LENGTH = 64;
export const MAX_HMAC_KEY_LENGTH = 64;
/** tls_crypt.c tls_crypt_v2_cli_pem_name. */
export const TLS_CRYPT_V2_CLIENT_PEM_NAME = 'OpenVPN tls-crypt-v2 client key';
/** tls_crypt.h TLS_CRYPT_V2_CLIENT_KEY_LEN / TLS_CRYPT_V2_MAX_WKC_LEN. */
export const TLS_CRYPT_V2_CLIENT_KEY_LEN = 256;
export const TLS_CRYPT_V2_MAX_WKC_LEN = 1024;
/** Smallest WKc OpenVPN can produce: tag (32) || AES-CTR(Kc) (256) || length (2). */
export const TLS_CRYPT_V2_MIN_WKC_LEN = 32 + 256 + 2;

/** Where a key text comes from, for error messages: `line` is the file line of its first line. */
export interface KeyOrigin {
  readonly file: string;
  readonly line: number;
  readonly directive?: string | undefined;
}

const INLINE: KeyOrigin = { file: '[[INLINE]]', line: 1 };

export type KeyDirection = 0 | 1 | undefined;

export interface KeySlice {
  /** 64 bytes; a cipher uses its first keylen bytes. */
  readonly cipher: Uint8Array;
  /** 64 bytes; an HMAC uses its first digest-size bytes. */
  readonly hmac: Uint8Array;
}

export interface DirectionalKeys {
  /** What we send with (key_ctx_bi.encrypt). */
  readonly encrypt: KeySlice;
  /** What we check and decrypt received packets with (key_ctx_bi.decrypt). */
  readonly decrypt: KeySlice;
}

/** Parse a static key V1 text (file contents or an inline block) into its 256 bytes. */
export function parseStaticKey(text: string, origin: KeyOrigin = INLINE): Uint8Array {
  const fail = (lineIdx: number, detail: string): ConfigError =>
    new ConfigError('CONFIG_INVALID', { file: origin.file, line: origin.line + lineIdx }, origin.directive, detail);
  const lines = text.split('\n');
  const head = lines.findIndex((l) => l.startsWith(STATIC_KEY_HEAD));
  if (head < 0) throw fail(0, `static key header "${STATIC_KEY_HEAD}" not found`);
  const out = new Uint8Array(STATIC_KEY_LEN);
  let count = 0;
  let pendingNibble = -1;
  let inFooter = false; // a line starting with '-' ends the data, as in read_key_file
  for (let i = head + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.startsWith('-')) inFooter = true;
    if (inFooter) {
      if (!line.startsWith(STATIC_KEY_FOOT)) continue;
      if (count < STATIC_KEY_LEN) {
        throw fail(i, `static key too short: ${count} bytes found, ${STATIC_KEY_LEN} needed`);
      }
      return out;
    }
    if (count === STATIC_KEY_LEN) continue; // OpenVPN ignores data after 256 bytes
    for (let j = 0; j < line.length && count < STATIC_KEY_LEN; j++) {
      const c = line.charCodeAt(j);
      const nibble = hexValue(c);
      if (nibble < 0) {
        if (isSpace(c)) continue;
        throw fail(i, `invalid character (code ${c}) in static key data after ${count} bytes`);
      }
      if (pendingNibble < 0) {
        pendingNibble = nibble;
      } else {
        out[count++] = (pendingNibble << 4) | nibble;
        pendingNibble = -1;
      }
    }
  }
  throw fail(lines.length - 1, `static key footer "${STATIC_KEY_FOOT}" not found (${count} bytes read)`);
}

/** Slice a 256-byte key2 for a key direction (crypto.c key_direction_state_init). */
export function keyDirectionSlices(key: Uint8Array, dir: KeyDirection): DirectionalKeys {
  if (key.byteLength !== STATIC_KEY_LEN) throw new RangeError(`key2 must be ${STATIC_KEY_LEN} bytes`);
  const half = (n: 0 | 1): KeySlice => {
    const base = n * (MAX_CIPHER_KEY_LENGTH + MAX_HMAC_KEY_LENGTH);
    return {
      cipher: key.subarray(base, base + MAX_CIPHER_KEY_LENGTH),
      hmac: key.subarray(base + MAX_CIPHER_KEY_LENGTH, base + MAX_CIPHER_KEY_LENGTH + MAX_HMAC_KEY_LENGTH),
    };
  };
  if (dir === undefined) return { encrypt: half(0), decrypt: half(0) };
  return dir === 0 ? { encrypt: half(0), decrypt: half(1) } : { encrypt: half(1), decrypt: half(0) };
}

export interface TlsCryptV2ClientKey {
  /** Kc: 256 bytes, used like a tls-crypt key (client direction INVERSE). */
  readonly key: Uint8Array;
  /** WKc: appended in clear to P_CONTROL_HARD_RESET_CLIENT_V3 and P_CONTROL_WKC_V1. */
  readonly wkc: Uint8Array;
}

/** Parse a tls-crypt-v2 client key PEM and validate its WKc length trailer. */
export function parseTlsCryptV2ClientKey(text: string, origin: KeyOrigin = INLINE): TlsCryptV2ClientKey {
  const fail = (lineIdx: number, detail: string): ConfigError =>
    new ConfigError('CONFIG_INVALID', { file: origin.file, line: origin.line + lineIdx }, origin.directive, detail);
  const begin = `-----BEGIN ${TLS_CRYPT_V2_CLIENT_PEM_NAME}-----`;
  const end = `-----END ${TLS_CRYPT_V2_CLIENT_PEM_NAME}-----`;
  const lines = text.split('\n').map((l) => l.trim());
  const head = lines.indexOf(begin);
  if (head < 0) throw fail(0, `"${begin}" not found`);
  const foot = lines.indexOf(end, head + 1);
  if (foot < 0) throw fail(lines.length - 1, `"${end}" not found`);
  const body = lines.slice(head + 1, foot).join('');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || body.length % 4 !== 0) {
    throw fail(head + 1, 'tls-crypt-v2 client key is not valid base64');
  }
  const raw = fromBase64(body);
  if (raw.byteLength < TLS_CRYPT_V2_CLIENT_KEY_LEN + TLS_CRYPT_V2_MIN_WKC_LEN) {
    throw fail(head + 1, `tls-crypt-v2 client key too short: ${raw.byteLength} bytes`);
  }
  const key = raw.slice(0, TLS_CRYPT_V2_CLIENT_KEY_LEN);
  const wkc = raw.slice(TLS_CRYPT_V2_CLIENT_KEY_LEN);
  if (wkc.byteLength > TLS_CRYPT_V2_MAX_WKC_LEN) {
    throw fail(head + 1, `wrapped client key is ${wkc.byteLength} bytes, at most ${TLS_CRYPT_V2_MAX_WKC_LEN}`);
  }
  const trailer = ((wkc[wkc.byteLength - 2] ?? 0) << 8) | (wkc[wkc.byteLength - 1] ?? 0);
  if (trailer !== wkc.byteLength) {
    throw fail(head + 1, `wrapped client key length field says ${trailer}, key holds ${wkc.byteLength} bytes`);
  }
  return { key, wkc };
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** C isspace: space, \t \n \v \f \r. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}
