/**
 * The seal/open port of the data channel, the wire layouts it implements, and the slicing of
 * OpenVPN's 256-byte key2 block into per-direction keys. Types and pure helpers only: the
 * implementations are node-crypto.ts (node:crypto) and evp.ts (OpenSSL EVP through koffi),
 * which pass one shared contract suite.
 *
 *   AEAD (ovpn:src/openvpn/crypto.c openvpn_encrypt_aead):
 *     [hdr 1|4][packet_id u32][tag 16][ciphertext]
 *       nonce = packet_id || implicit_iv (first 8 bytes of the direction's hmac half)
 *       AD    = hdr(4) || packet_id  for P_DATA_V2,  packet_id  for P_DATA_V1
 *
 *   CBC + HMAC (ovpn:src/openvpn/crypto.c openvpn_encrypt_v1):
 *     [hdr 1|4][HMAC(IV || ciphertext)][IV][E(packet_id u32 || payload), PKCS#7]
 *       the header is not authenticated; HMAC is checked (constant time) before decrypting
 *
 * A DataCrypto never throws per packet and never logs. It holds one direction's key.
 */
import type { CipherSpec, AuthSpec } from './cipher-suite.ts';
import { AEAD_TAG_LENGTH, CIPHER_KEY_HALF, HMAC_KEY_HALF, PACKET_ID_LENGTH } from './cipher-suite.ts';

export interface DataCrypto {
  readonly cipher: CipherSpec;
  /** Undefined for AEAD ciphers. */
  readonly auth: AuthSpec | undefined;
  /** Bytes seal() adds to the plaintext at most (packet id, tag/HMAC, IV, padding); header excluded. */
  readonly overhead: number;
  /** Packet id of the last packet open() accepted; valid only right after a non-negative open(). */
  readonly lastPacketId: number;
  /**
   * Encrypts src[0, srcLen) with `packetId` into dst from `dstOff` on. The header (1 byte for
   * P_DATA_V1, 4 for P_DATA_V2) is already in dst[0, dstOff) and `header` is that same header.
   * Returns the bytes written after the header, or a negative DropReason (BUFFER_TOO_SMALL).
   */
  seal(header: Uint8Array, packetId: number, src: Uint8Array, srcLen: number, dst: Uint8Array, dstOff: number): number;
  /**
   * Authenticates and decrypts pkt[0, len) whose header is pkt[0, headerLen) into dst from 0.
   * Returns the plaintext length, or a negative DropReason. Does not check replay: the caller
   * reads `lastPacketId` after success.
   */
  open(pkt: Uint8Array, len: number, headerLen: number, dst: Uint8Array): number;
  /** Frees native resources; further calls are a bug. */
  dispose(): void;
}

/** One direction's key material, as OpenVPN's `struct key`: cipher 64 bytes, hmac 64 bytes. */
export interface DirectionKey {
  readonly cipher: Uint8Array;
  readonly hmac: Uint8Array;
}

export interface DataKeys {
  readonly send: DirectionKey;
  readonly recv: DirectionKey;
}

export const KEY2_LENGTH = 2 * (CIPHER_KEY_HALF + HMAC_KEY_HALF);

function slice(key2: Uint8Array, index: 0 | 1): DirectionKey {
  const base = index * (CIPHER_KEY_HALF + HMAC_KEY_HALF);
  return {
    cipher: key2.slice(base, base + CIPHER_KEY_HALF),
    hmac: key2.slice(base + CIPHER_KEY_HALF, base + CIPHER_KEY_HALF + HMAC_KEY_HALF),
  };
}

/**
 * Splits key2 (256 bytes from EKM or the PRF) into send/receive keys. The client sends with
 * key 0 (bytes 0..127) and receives with key 1 (128..255); the server the other way round
 * (ovpn:src/openvpn/crypto.c key_direction_state_init, KEY_DIRECTION_NORMAL/INVERSE).
 */
export function splitKey2(key2: Uint8Array, role: 'client' | 'server'): DataKeys {
  if (key2.byteLength !== KEY2_LENGTH) throw new RangeError(`key2 must be ${KEY2_LENGTH} bytes`);
  const k0 = slice(key2, 0);
  const k1 = slice(key2, 1);
  return role === 'client' ? { send: k0, recv: k1 } : { send: k1, recv: k0 };
}

/** Zeroes both directions' keys (once the crypto objects hold their own copies). */
export function wipeDataKeys(keys: DataKeys): void {
  for (const k of [keys.send, keys.recv]) {
    k.cipher.fill(0);
    k.hmac.fill(0);
  }
}

/** Fixed bytes between header and ciphertext, by mode. */
export function sealPrefixLength(cipher: CipherSpec, auth: AuthSpec | undefined): number {
  if (cipher.mode === 'aead') return PACKET_ID_LENGTH + AEAD_TAG_LENGTH;
  return (auth?.digestLength ?? 0) + cipher.ivLength;
}

/** The most seal() adds to a plaintext: prefix, and for CBC the packet id and a full pad block. */
export function sealOverhead(cipher: CipherSpec, auth: AuthSpec | undefined): number {
  const prefix = sealPrefixLength(cipher, auth);
  return cipher.mode === 'aead' ? prefix : prefix + PACKET_ID_LENGTH + cipher.blockSize;
}

/** Exact sealed length (after the header) of an srcLen-byte plaintext. */
export function sealedLength(cipher: CipherSpec, auth: AuthSpec | undefined, srcLen: number): number {
  const prefix = sealPrefixLength(cipher, auth);
  if (cipher.mode === 'aead') return prefix + srcLen;
  const body = PACKET_ID_LENGTH + srcLen;
  return prefix + (Math.floor(body / cipher.blockSize) + 1) * cipher.blockSize;
}

/** Writes v as u32 big-endian at off, without a DataView (hot path). */
export function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

export function getU32(buf: Uint8Array, off: number): number {
  return ((buf[off] ?? 0) * 0x1000000 + (((buf[off + 1] ?? 0) << 16) | ((buf[off + 2] ?? 0) << 8) | (buf[off + 3] ?? 0))) >>> 0;
}

/**
 * Checks PKCS#7 padding of buf[0, len) and returns the unpadded length, or -1.
 * Called only after the HMAC verified, so it leaks nothing an attacker can use.
 */
export function pkcs7Unpad(buf: Uint8Array, len: number, blockSize: number): number {
  if (len === 0 || len % blockSize !== 0) return -1;
  const pad = buf[len - 1] ?? 0;
  if (pad === 0 || pad > blockSize) return -1;
  for (let i = len - pad; i < len; i++) if (buf[i] !== pad) return -1;
  return len - pad;
}
