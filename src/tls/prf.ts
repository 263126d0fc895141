/**
 * The TLS 1.0/1.1 pseudo-random function (RFC 2246 §5), which OpenVPN's legacy key
 * derivation (key-method 2 without `tls-ekm`) still uses:
 *
 *   PRF(secret, seed, n) = P_MD5(S1, seed) XOR P_SHA1(S2, seed)
 *
 *   S1 = first ceil(len/2) bytes of secret, S2 = last ceil(len/2) bytes (they overlap
 *   by one byte when the length is odd).
 *
 *   P_hash(secret, seed) = HMAC(secret, A(1) || seed) || HMAC(secret, A(2) || seed) || ...
 *   A(0) = seed, A(i) = HMAC(secret, A(i-1))
 *
 * OpenVPN calls it through OpenSSL's TLS1-PRF (`ssl_tls1_PRF` in
 * src/openvpn/crypto_openssl.c); the known answer is `crypto_test_tls_prf` in
 * tests/unit_tests/openvpn/test_crypto.c.
 *
 * Pure: the HMAC is a port (HmacFn; node-hmac.ts is the adapter). Never logs, never
 * stringifies secret material.
 */

/** HMAC port: `digest`(key, parts concatenated). */
export type HmacFn = (digest: 'md5' | 'sha1', key: Uint8Array, ...parts: Uint8Array[]) => Uint8Array;
type Digest = 'md5' | 'sha1';

/** P_hash from RFC 2246 §5: `outLen` bytes of HMAC expansion of `seed` under `secret`. */
function pHash(hmac: HmacFn, digest: Digest, secret: Uint8Array, seed: Uint8Array, outLen: number): Uint8Array {
  const out = new Uint8Array(outLen);
  let a: Uint8Array = seed; // A(0)
  let off = 0;
  while (off < outLen) {
    a = hmac(digest, secret, a); // A(i)
    const block = hmac(digest, secret, a, seed);
    const take = Math.min(block.byteLength, outLen - off);
    out.set(block.subarray(0, take), off);
    off += take;
  }
  return out;
}

/**
 * The TLS 1.0 PRF: `outLen` bytes from `secret` and `seed` (the label is part of the seed,
 * as OpenVPN builds it in `openvpn_PRF`, src/openvpn/ssl.c).
 */
export function tls1Prf(hmac: HmacFn, secret: Uint8Array, seed: Uint8Array, outLen: number): Uint8Array {
  if (!Number.isInteger(outLen) || outLen < 0) throw new RangeError(`bad PRF output length ${outLen}`);
  const half = Math.ceil(secret.byteLength / 2);
  const s1 = secret.subarray(0, half);
  const s2 = secret.subarray(secret.byteLength - half);
  const md5 = pHash(hmac, 'md5', s1, seed, outLen);
  const sha1 = pHash(hmac, 'sha1', s2, seed, outLen);
  for (let i = 0; i < outLen; i++) md5[i] = (md5[i] ?? 0) ^ (sha1[i] ?? 0);
  sha1.fill(0);
  return md5;
}
