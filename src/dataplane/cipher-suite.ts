/**
 * The table of data-channel ciphers and HMAC digests ovpn-ts knows, with their sizes, and why
 * one cannot be used (given what the process's crypto can run: the CryptoCaps port).
 *
 * Names are compared case-insensitively, as OpenVPN does (`cipher_kt_get` goes through
 * OpenSSL's case-insensitive `EVP_get_cipherbyname`; `translate_cipher_name_from_openvpn`
 * in ovpn:src/openvpn/crypto_openssl.c maps the few aliases).
 *
 * Pure: availability is asked of a CryptoCaps (cipher-probe.ts asks node:crypto). Never holds keys.
 */

/** Authentication tag length of every AEAD data cipher (OPENVPN_AEAD_TAG_LENGTH, ovpn:src/openvpn/crypto.h). */
export const AEAD_TAG_LENGTH = 16;
/** Nonce length of the AEAD data ciphers: packet_id(4) || implicit_iv(8) (ovpn:src/openvpn/crypto.c). */
export const AEAD_NONCE_LENGTH = 12;
/** Length of the packet id on the wire, short form (ovpn:src/openvpn/packet_id.h `packet_id_type`). */
export const PACKET_ID_LENGTH = 4;
/** Each direction's key material: cipher 64 + hmac 64 (MAX_CIPHER_KEY_LENGTH, MAX_HMAC_KEY_LENGTH, ovpn:src/openvpn/crypto.h). */
export const CIPHER_KEY_HALF = 64;
export const HMAC_KEY_HALF = 64;

export type CipherMode = 'aead' | 'cbc';

export interface CipherSpec {
  /** OpenVPN's spelling, as shown in logs and `data-ciphers`. */
  readonly name: string;
  /** OpenSSL/node:crypto name. */
  readonly nodeName: string;
  readonly mode: CipherMode;
  readonly keyLength: number;
  /** Nonce (AEAD) or IV (CBC) length. */
  readonly ivLength: number;
  /** 16 for AEAD, 0 for CBC (which uses the HMAC of `auth`). */
  readonly tagLength: number;
  /** Cipher block size: padding unit for CBC, 1 for the stream-like AEADs. */
  readonly blockSize: number;
  /** Needs OpenSSL 3's legacy provider; usually missing from Node. */
  readonly legacy: boolean;
}

export interface AuthSpec {
  readonly name: string;
  readonly nodeName: string;
  readonly digestLength: number;
}

function aead(name: string, nodeName: string, keyLength: number): CipherSpec {
  return { name, nodeName, mode: 'aead', keyLength, ivLength: AEAD_NONCE_LENGTH, tagLength: AEAD_TAG_LENGTH, blockSize: 1, legacy: false };
}

function cbc(name: string, keyLength: number, block: number, legacy: boolean): CipherSpec {
  return { name, nodeName: name.toLowerCase(), mode: 'cbc', keyLength, ivLength: block, tagLength: 0, blockSize: block, legacy };
}

/** Every data cipher ovpn-ts can speak, if the local OpenSSL has it. */
export const CIPHERS: readonly CipherSpec[] = [
  aead('AES-128-GCM', 'aes-128-gcm', 16),
  aead('AES-192-GCM', 'aes-192-gcm', 24),
  aead('AES-256-GCM', 'aes-256-gcm', 32),
  aead('CHACHA20-POLY1305', 'chacha20-poly1305', 32),
  cbc('AES-128-CBC', 16, 16, false),
  cbc('AES-192-CBC', 24, 16, false),
  cbc('AES-256-CBC', 32, 16, false),
  cbc('CAMELLIA-128-CBC', 16, 16, false),
  cbc('CAMELLIA-192-CBC', 24, 16, false),
  cbc('CAMELLIA-256-CBC', 32, 16, false),
  cbc('DES-EDE3-CBC', 24, 8, false),
  // OpenVPN's pre-2.5 default; OpenSSL 3 has it only through the legacy provider.
  cbc('BF-CBC', 16, 8, true),
  cbc('CAST5-CBC', 16, 8, true),
  cbc('DES-CBC', 8, 8, true),
];

export const AUTHS: readonly AuthSpec[] = [
  { name: 'SHA1', nodeName: 'sha1', digestLength: 20 },
  { name: 'SHA224', nodeName: 'sha224', digestLength: 28 },
  { name: 'SHA256', nodeName: 'sha256', digestLength: 32 },
  { name: 'SHA384', nodeName: 'sha384', digestLength: 48 },
  { name: 'SHA512', nodeName: 'sha512', digestLength: 64 },
];

/** Aliases OpenSSL or OpenVPN users write (ovpn:src/openvpn/crypto_openssl.c `cipher_name_translation_table`). */
const CIPHER_ALIASES: Readonly<Record<string, string>> = {
  'ID-AES128-GCM': 'AES-128-GCM',
  'ID-AES192-GCM': 'AES-192-GCM',
  'ID-AES256-GCM': 'AES-256-GCM',
  'CHACHA20POLY1305': 'CHACHA20-POLY1305',
  'BF': 'BF-CBC',
  'DES-EDE3': 'DES-EDE3-CBC',
  'SHA-1': 'SHA1',
};

const AUTH_ALIASES: Readonly<Record<string, string>> = {
  'SHA-1': 'SHA1',
  'SHA-224': 'SHA224',
  'SHA-256': 'SHA256',
  'SHA-384': 'SHA384',
  'SHA-512': 'SHA512',
};

function canonical(name: string, aliases: Readonly<Record<string, string>>): string {
  const upper = name.trim().toUpperCase();
  return aliases[upper] ?? upper;
}

/** The cipher's table entry, or undefined if ovpn-ts does not know the name at all. */
export function lookupCipher(name: string): CipherSpec | undefined {
  const want = canonical(name, CIPHER_ALIASES);
  return CIPHERS.find((c) => c.name === want);
}

/** The digest's table entry; `none` and unknown names give undefined. */
export function lookupAuth(name: string): AuthSpec | undefined {
  const want = canonical(name, AUTH_ALIASES);
  return AUTHS.find((a) => a.name === want);
}

/** Which table entries this process's crypto can run: probed by the shell (cipher-probe.ts), a set in tests. */
export interface CryptoCaps {
  cipher(spec: CipherSpec): boolean;
  auth(spec: AuthSpec): boolean;
}

/** The ciphers `caps` can run, in table order: what IV_CIPHERS may announce. */
export function availableCiphers(caps: CryptoCaps): readonly CipherSpec[] {
  return CIPHERS.filter((c) => caps.cipher(c));
}

const SAFE_LIST = 'AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305';

/**
 * Why ovpn-ts cannot use this cipher (and, with CBC, this `auth`), or undefined if it can.
 * The text names the fix, for the shell to log as one clear error.
 */
export function unsupportedCipherReason(caps: CryptoCaps, cipherName: string, authName?: string): string | undefined {
  if (cipherName.trim().toLowerCase() === 'none') {
    return 'cipher none (no encryption) is not supported by ovpn-ts: set `data-ciphers ' + SAFE_LIST + '` on the server';
  }
  const spec = lookupCipher(cipherName);
  if (spec === undefined) {
    return `data cipher ${cipherName} is unknown to ovpn-ts: set \`data-ciphers ${SAFE_LIST}\` on the server`;
  }
  if (!caps.cipher(spec)) {
    const why = spec.legacy ? " (it needs OpenSSL's legacy provider, which Node does not load)" : '';
    return `data cipher ${spec.name} is not available in Node's OpenSSL${why}: add ${SAFE_LIST} to \`data-ciphers\` on the server`;
  }
  if (spec.mode === 'cbc') return unsupportedAuthReason(caps, spec, authName ?? 'SHA1');
  return undefined;
}

function unsupportedAuthReason(caps: CryptoCaps, spec: CipherSpec, authName: string): string | undefined {
  if (authName.trim().toLowerCase() === 'none') {
    return `${spec.name} without an HMAC (auth none) is not supported by ovpn-ts: use an AEAD cipher (${SAFE_LIST}) or an \`auth\` digest such as SHA256`;
  }
  const auth = lookupAuth(authName);
  if (auth === undefined || !caps.auth(auth)) {
    return `auth digest ${authName} is not supported by ovpn-ts: use SHA1, SHA256, SHA384 or SHA512 (\`auth\` on both sides), or an AEAD cipher`;
  }
  return undefined;
}
