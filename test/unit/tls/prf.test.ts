/**
 * TLS 1.0 PRF against OpenVPN's own known answer (crypto_test_tls_prf, v2.6.14) and vectors
 * computed with the OpenSSL CLI (test/vectors/keys/prf.json).
 */
import { readVector } from '../../helpers/repo.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, hex } from '../../../src/base/bytes.ts';
import { tls1Prf } from '../../../src/tls/prf.ts';
import { nodeHmac } from '../../../src/tls/node-hmac.ts';

interface PrfVector {
  readonly name: string;
  readonly secret?: string;
  readonly secretAscii?: string;
  readonly seed?: string;
  readonly seedAscii?: string;
  readonly out: string;
}

/** test/vectors/keys/<name>, found from this file (src tree or dist tree) or the working directory. */
function loadKeyVectors(name: string): unknown {
  return readVector('keys', name);
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const vectors = (loadKeyVectors('prf.json') as { prf: PrfVector[] }).prf;

test('there are PRF vectors, including OpenVPN\'s own', () => {
  assert.ok(vectors.some((v) => v.name === 'openvpn-test-crypto'));
  assert.ok(vectors.length >= 2);
});

for (const v of vectors) {
  test(`TLS1 PRF vector ${v.name}`, () => {
    const secret = v.secret !== undefined ? fromHex(v.secret) : ascii(v.secretAscii ?? '');
    const seed = v.seed !== undefined ? fromHex(v.seed) : ascii(v.seedAscii ?? '');
    assert.equal(hex(tls1Prf(nodeHmac, secret, seed, v.out.length / 2)), v.out);
  });
}

test('a shorter output is a prefix of a longer one (P_hash stream property)', () => {
  const secret = fromHex('0102030405');
  const seed = ascii('seed');
  const long = tls1Prf(nodeHmac, secret, seed, 77);
  assert.equal(hex(tls1Prf(nodeHmac, secret, seed, 13)), hex(long.subarray(0, 13)));
  assert.equal(tls1Prf(nodeHmac, secret, seed, 0).byteLength, 0);
});

test('the PRF depends on every secret byte and on the seed', () => {
  const secret = fromHex('00112233445566778899');
  const base = hex(tls1Prf(nodeHmac, secret, ascii('x'), 32));
  const flipped = secret.slice();
  flipped[9] = (flipped[9] ?? 0) ^ 1;
  assert.notEqual(hex(tls1Prf(nodeHmac, flipped, ascii('x'), 32)), base);
  assert.notEqual(hex(tls1Prf(nodeHmac, secret, ascii('y'), 32)), base);
});

test('rejects a bad output length', () => {
  assert.throws(() => tls1Prf(nodeHmac, new Uint8Array(4), new Uint8Array(1), -1), RangeError);
  assert.throws(() => tls1Prf(nodeHmac, new Uint8Array(4), new Uint8Array(1), 1.5), RangeError);
});
