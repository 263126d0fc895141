/**
 * tls-cipher / tls-ciphersuites translation (src/tls/cipher-names.ts), checked against OpenVPN
 * 2.6's rules (ssl_openssl.c convert_tls_list_to_openssl, convert_tls13_list_to_openssl; ssl.c
 * tls_get_cipher_name_pair): whole ':'-separated elements, exact names, unknown ones passed on,
 * OpenSSL names kept (with OpenVPN's deprecation warning), '-' → '_' for TLS 1.3 suites.
 * The table itself is checked against the OpenSSL this Node runs on.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import {
  cipherNamePair,
  OPENVPN_DEFAULT_TLS_CIPHER,
  splitNodeCiphers,
  tlsCipherSetup,
  translateTlsCipher,
  translateTlsCiphersuites,
} from '../../../src/tls/cipher-names.ts';
import { OPENSSL_CIPHER_NAMES } from '../../../src/tls/cipher-table.ts';

test('the table: every OpenSSL name in it is a cipher this OpenSSL accepts, and names are unique', () => {
  const refused = OPENSSL_CIPHER_NAMES.filter(([, openssl]) => {
    try {
      tls.createSecureContext({ ciphers: openssl });
      return false;
    } catch {
      return true;
    }
  });
  assert.deepEqual(refused, []);
  assert.equal(new Set(OPENSSL_CIPHER_NAMES.map(([iana]) => iana)).size, OPENSSL_CIPHER_NAMES.length);
  assert.equal(new Set(OPENSSL_CIPHER_NAMES.map(([, openssl]) => openssl)).size, OPENSSL_CIPHER_NAMES.length);
  assert.ok(OPENSSL_CIPHER_NAMES.length > 100, `${OPENSSL_CIPHER_NAMES.length} rows`);
  assert.ok(OPENSSL_CIPHER_NAMES.every(([iana]) => iana.includes('_WITH_')), 'no TLS 1.3 suite in the TLS 1.2 table');
});

test('OpenVPN spellings of real configs translate to the OpenSSL names', () => {
  const cases: [string, string][] = [
    ['TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'], // openvpn-install (RSA)
    ['TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256'], // openvpn-install (ECDSA)
    ['TLS-DHE-RSA-WITH-AES-256-GCM-SHA384', 'DHE-RSA-AES256-GCM-SHA384'],
    ['TLS-DHE-RSA-WITH-AES-256-CBC-SHA', 'DHE-RSA-AES256-SHA'],
    ['TLS-DHE-RSA-WITH-AES-256-CBC-SHA256', 'DHE-RSA-AES256-SHA256'],
    ['TLS-RSA-WITH-AES-256-CBC-SHA', 'AES256-SHA'],
    ['TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256', 'ECDHE-RSA-CHACHA20-POLY1305'],
    ['TLS-ECDHE-RSA-WITH-ARIA-256-GCM-SHA384', 'ECDHE-ARIA256-GCM-SHA384'],
  ];
  for (const [openvpn, openssl] of cases) {
    assert.deepEqual(translateTlsCipher(openvpn), { elements: [openssl], warnings: [] }, openvpn);
    assert.equal(cipherNamePair(openssl)?.openvpn, openvpn);
  }
});

test('a mixed list: each element on its own; OpenSSL names kept with a deprecation warning; keywords and modifiers untouched', () => {
  const r = translateTlsCipher('TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:HIGH:!aNULL:-MD5:+SHA1:@STRENGTH');
  assert.deepEqual(r.elements, ['ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES128-GCM-SHA256', 'HIGH', '!aNULL', '-MD5', '+SHA1', '@STRENGTH']);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0] ?? '', /deprecated TLS cipher name 'ECDHE-RSA-AES128-GCM-SHA256', please use the IANA name 'TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256'/);
});

test('as OpenVPN: a modifier stops the translation, and the warning names what would work', () => {
  const r = translateTlsCipher('TLS-DHE-RSA-WITH-AES-256-GCM-SHA384:!TLS-DHE-RSA-WITH-AES-256-CBC-SHA:+TLS-RSA-WITH-AES-256-CBC-SHA');
  assert.deepEqual(r.elements, ['DHE-RSA-AES256-GCM-SHA384', '!TLS-DHE-RSA-WITH-AES-256-CBC-SHA', '+TLS-RSA-WITH-AES-256-CBC-SHA']);
  assert.equal(r.warnings.length, 2);
  assert.match(r.warnings[0] ?? '', /'!TLS-DHE-RSA-WITH-AES-256-CBC-SHA' is passed to OpenSSL unchanged .* write '!DHE-RSA-AES256-SHA'/);
  assert.match(r.warnings[1] ?? '', /write '\+AES256-SHA'/);
});

test('as OpenVPN: names are matched exactly; unknown ones are passed on (OpenSSL ignores them) with a warning for TLS- names', () => {
  const lower = translateTlsCipher('tls-ecdhe-rsa-with-aes-256-gcm-sha384:HIGH');
  assert.deepEqual(lower, { elements: ['tls-ecdhe-rsa-with-aes-256-gcm-sha384', 'HIGH'], warnings: [] });
  const unknown = translateTlsCipher('TLS-DHE-RSA-WITH-SEED-CBC-SHA:TLS-DHE-RSA-WITH-AES-256-GCM-SHA384');
  assert.deepEqual(unknown.elements, ['TLS-DHE-RSA-WITH-SEED-CBC-SHA', 'DHE-RSA-AES256-GCM-SHA384']);
  assert.match(unknown.warnings.join('\n'), /no OpenSSL name is known for 'TLS-DHE-RSA-WITH-SEED-CBC-SHA'/);
  // OpenVPN splits on ':' only: an OpenSSL-style ',' list is one element, passed on whole.
  assert.deepEqual(translateTlsCipher('ECDHE-RSA-AES256-GCM-SHA384,HIGH').elements, ['ECDHE-RSA-AES256-GCM-SHA384,HIGH']);
});

test('TLS_ names in tls-cipher are left out (node would treat them as TLS 1.3 suites; OpenSSL ignores them in a TLS 1.2 list)', () => {
  const r = translateTlsCipher('TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:TLS_AES_256_GCM_SHA384:!TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES256-GCM-SHA384');
  assert.deepEqual(r.elements, ['ECDHE-RSA-AES256-GCM-SHA384']);
  assert.match(r.warnings[0] ?? '', /'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' is not a TLS 1.2 cipher name .* 'TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384'/);
  assert.match(r.warnings[1] ?? '', /'TLS_AES_256_GCM_SHA384' .* TLS 1.3 suites belong in tls-ciphersuites/);
  assert.match(r.warnings[2] ?? '', /'!TLS_AES_128_GCM_SHA256'/);
});

test('tls-ciphersuites: dashes become underscores; non-suite names are left out with a warning', () => {
  assert.deepEqual(translateTlsCiphersuites('TLS-AES-256-GCM-SHA384:TLS_CHACHA20_POLY1305_SHA256'), {
    elements: ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'],
    warnings: [],
  });
  const r = translateTlsCiphersuites('TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES256-GCM-SHA384');
  assert.deepEqual(r.elements, ['TLS_AES_128_GCM_SHA256']);
  assert.match(r.warnings[0] ?? '', /'ECDHE_RSA_AES256_GCM_SHA384' is not a TLS 1.3 suite name/);
});

test('tlsCipherSetup: TLS 1.3 suites first, then the TLS 1.2 list; OpenVPN default when tls-cipher is absent', () => {
  assert.deepEqual(tlsCipherSetup(undefined, undefined), { ok: true, ciphers: OPENVPN_DEFAULT_TLS_CIPHER, warnings: [] });
  const both = tlsCipherSetup('TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384:TLS-DHE-RSA-WITH-AES-256-GCM-SHA384', 'TLS-AES-256-GCM-SHA384');
  assert.deepEqual(both, { ok: true, ciphers: 'TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES256-GCM-SHA384', warnings: [] });
  // Only tls-ciphersuites: TLS 1.2 keeps OpenVPN's default list (node alone would allow TLS 1.3 only).
  const only13 = tlsCipherSetup(undefined, 'TLS_CHACHA20_POLY1305_SHA256');
  assert.ok(only13.ok);
  assert.deepEqual(splitNodeCiphers(only13.ciphers), { tls13: 'TLS_CHACHA20_POLY1305_SHA256', tls12: OPENVPN_DEFAULT_TLS_CIPHER });
});

test('tlsCipherSetup refuses lists that leave OpenSSL nothing, naming the directive', () => {
  const r12 = tlsCipherSetup('TLS_AES_256_GCM_SHA384', undefined);
  assert.equal(r12.ok, false);
  assert.equal(!r12.ok && r12.directive, 'tls-cipher');
  assert.match(!r12.ok ? r12.message : '', /no TLS 1.2 cipher is left in 'TLS_AES_256_GCM_SHA384' \(.*tls-ciphersuites/);
  const r13 = tlsCipherSetup(undefined, 'ECDHE-RSA-AES256-GCM-SHA384');
  assert.equal(!r13.ok && r13.directive, 'tls-ciphersuites');
});
