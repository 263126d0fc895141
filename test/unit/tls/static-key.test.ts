/**
 * Static key V1 and tls-crypt-v2 client key parsing with OpenVPN's own test keys
 * (test_pkt.c static_key, test_tls_crypt.c test_client_key), key-direction slicing, and
 * error messages that carry file:line but no key material.
 */
import { readVector } from '../../helpers/repo.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '../../../src/base/bytes.ts';
import { ConfigError } from '../../../src/base/errors.ts';
import {
  keyDirectionSlices,
  parseStaticKey,
  parseTlsCryptV2ClientKey,
  STATIC_KEY_LEN,
} from '../../../src/tls/static-key.ts';

function loadVector<T>(name: string): T {
  return readVector<T>('control', name);
}

const keyText = loadVector<{ key: string }>('client_reset_v2_tls_auth.json').key;
const keyHex = keyText.split('\n').filter((l) => /^[0-9a-f]{32}$/.test(l)).join('');
const v2Key = loadVector<{ pem: string }>('tls_crypt_v2_client_key.json').pem;
const v2KeyMeta = loadVector<{ pem: string }>('tls_crypt_v2_client_key_metadata.json').pem;

/** The error is a ConfigError at file:line, and its message holds no 4-byte run of the key. */
function assertKeyError(fn: () => unknown, file: string, line: number, keyMaterialHex: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.file, file);
    assert.equal(e.line, line);
    const msg = e.message.toLowerCase();
    for (let i = 0; i + 8 <= keyMaterialHex.length; i += 2) {
      assert.ok(!msg.includes(keyMaterialHex.slice(i, i + 8)), `message leaks key bytes: ${e.message}`);
    }
    return true;
  });
}

test('parses OpenVPN\'s test static key into 256 bytes', () => {
  assert.equal(keyHex.length, 512);
  const key = parseStaticKey(keyText);
  assert.equal(key.byteLength, STATIC_KEY_LEN);
  assert.equal(hex(key), keyHex);
});

test('text outside the markers, CRLF line ends and extra data are ignored', () => {
  const noisy = `# 2048 bit OpenVPN static key\r\nsome words\r\n${keyText.replace(/\n/g, '\r\n')}trailing text\n`;
  assert.equal(hex(parseStaticKey(noisy)), keyHex);
  const extra = keyText.replace('-----END', 'ffffffff\n-----END');
  assert.equal(hex(parseStaticKey(extra)), keyHex);
  const spaced = keyText.replace(/([0-9a-f]{2})(?=[0-9a-f])/g, '$1 ');
  assert.equal(hex(parseStaticKey(spaced)), keyHex);
});

test('static key errors name the file and line and never include key bytes', () => {
  const at = { file: 'ta.key', line: 1, directive: 'tls-auth' };
  assertKeyError(() => parseStaticKey('nothing here\n', at), 'ta.key', 1, keyHex);
  const lines = keyText.split('\n');
  const short = [...lines.slice(0, 5), ...lines.slice(6)].join('\n');
  assertKeyError(() => parseStaticKey(short, at), 'ta.key', 17, keyHex); // at the footer
  const noFooter = lines.filter((l) => !l.startsWith('-----END')).join('\n');
  assertKeyError(() => parseStaticKey(noFooter, at), 'ta.key', lines.length - 1, keyHex);
  const badChar = keyText.replace('daf714a4', 'daf7x4a4');
  assertKeyError(() => parseStaticKey(badChar, { file: 'client.ovpn', line: 40 }), 'client.ovpn', 42, keyHex);
  assert.throws(() => parseStaticKey(badChar, at), /invalid character \(code 120\)/);
});

test('key-direction slicing follows key_direction_state_init', () => {
  const key = Uint8Array.from({ length: 256 }, (_, i) => i);
  const first = (b: Uint8Array): number => b[0] ?? -1;
  const normal = keyDirectionSlices(key, 0);
  assert.deepEqual(
    [first(normal.encrypt.cipher), first(normal.encrypt.hmac), first(normal.decrypt.cipher), first(normal.decrypt.hmac)],
    [0, 64, 128, 192],
  );
  const inverse = keyDirectionSlices(key, 1);
  assert.deepEqual(
    [first(inverse.encrypt.cipher), first(inverse.encrypt.hmac), first(inverse.decrypt.cipher), first(inverse.decrypt.hmac)],
    [128, 192, 0, 64],
  );
  const bidi = keyDirectionSlices(key, undefined);
  assert.deepEqual(
    [first(bidi.encrypt.cipher), first(bidi.encrypt.hmac), first(bidi.decrypt.cipher), first(bidi.decrypt.hmac)],
    [0, 64, 0, 64],
  );
  for (const s of [normal.encrypt, inverse.decrypt]) {
    assert.equal(s.cipher.byteLength, 64);
    assert.equal(s.hmac.byteLength, 64);
  }
  assert.throws(() => keyDirectionSlices(new Uint8Array(128), 0), RangeError);
});

test('tls-crypt-v2 client keys from OpenVPN\'s tests: Kc is 00..ff, WKc ends in its length', () => {
  for (const pem of [v2Key, v2KeyMeta]) {
    const { key, wkc } = parseTlsCryptV2ClientKey(pem);
    assert.equal(hex(key), hex(Uint8Array.from({ length: 256 }, (_, i) => i)));
    assert.equal(((wkc[wkc.byteLength - 2] ?? 0) << 8) | (wkc[wkc.byteLength - 1] ?? 0), wkc.byteLength);
  }
  assert.equal(parseTlsCryptV2ClientKey(v2Key).wkc.byteLength, 299);
});

function pemOf(raw: Uint8Array): string {
  const b64 = Buffer.from(raw).toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN OpenVPN tls-crypt-v2 client key-----\n${b64}\n-----END OpenVPN tls-crypt-v2 client key-----\n`;
}

test('tls-crypt-v2 client key validation', () => {
  const at = { file: 'v2.key', line: 1, directive: 'tls-crypt-v2' };
  const raw = new Uint8Array(Buffer.from(v2Key.split('\n').filter((l) => l !== '' && !l.startsWith('-')).join(''), 'base64'));
  assert.equal(hex(parseTlsCryptV2ClientKey(pemOf(raw)).wkc), hex(raw.subarray(256)));

  const badLen = raw.slice();
  badLen[badLen.byteLength - 1] = (badLen[badLen.byteLength - 1] ?? 0) ^ 1;
  assertKeyError(() => parseTlsCryptV2ClientKey(pemOf(badLen), at), 'v2.key', 2, hex(raw));

  const big = new Uint8Array(256 + 1026);
  big[big.byteLength - 2] = 1026 >> 8;
  big[big.byteLength - 1] = 1026 & 0xff;
  assertKeyError(() => parseTlsCryptV2ClientKey(pemOf(big), at), 'v2.key', 2, hex(raw));

  assertKeyError(() => parseTlsCryptV2ClientKey(pemOf(raw.subarray(0, 300)), at), 'v2.key', 2, hex(raw));
  assertKeyError(() => parseTlsCryptV2ClientKey(v2Key.replace('AAECAwQF', 'AAEC*wQF'), at), 'v2.key', 2, hex(raw));
  assertKeyError(() => parseTlsCryptV2ClientKey(v2Key.replace(/-----END.*\n/, ''), at), 'v2.key', 14, hex(raw));
  assertKeyError(() => parseTlsCryptV2ClientKey(keyText, at), 'v2.key', 1, hex(raw));
});
