/**
 * Server-certificate checks after the chain verified, as OpenVPN 2.6 verify_peer_cert():
 * remote-cert-tls (KU present + EKU), remote-cert-ku bit matching, remote-cert-eku by long
 * name or OID, verify-x509-name subject | name | name-prefix, ns-cert-type. The keyUsage bits
 * are read with the DER walker in src/tls/der.ts; checked here against certificates made by
 * the openssl CLI (test/fixtures/pki/make.sh).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/repo.ts';
import { bitStringExtension } from '../../../src/tls/der.ts';
import { checkPeerCertificate, commonName, KU_REQUIRED, openvpnSubject, remoteCertTlsPolicy } from '../../../src/tls/verify.ts';

const cert = (name: string): X509Certificate => new X509Certificate(readFileSync(join(repoRoot(), 'test', 'fixtures', 'pki', name)));
const server = cert('server.crt');
const client = cert('client.crt');
const ca = cert('ca.crt');

test('keyUsage bits from DER match what openssl printed (digitalSignature 0x80, keyEncipherment 0x20, keyCertSign 0x04, cRLSign 0x02)', () => {
  assert.equal(bitStringExtension(server.raw, '2.5.29.15'), 0x80 | 0x20);
  assert.equal(bitStringExtension(client.raw, '2.5.29.15'), 0x80);
  assert.equal(bitStringExtension(ca.raw, '2.5.29.15'), 0x04 | 0x02);
  assert.equal(bitStringExtension(server.raw, '2.16.840.1.113730.1.1'), undefined, 'no nsCertType extension');
});

test('the DER walker returns undefined on truncated or garbage input instead of throwing', () => {
  for (let n = 0; n < server.raw.byteLength; n += 97) assert.doesNotThrow(() => bitStringExtension(server.raw.subarray(0, n), '2.5.29.15'));
  assert.equal(bitStringExtension(Uint8Array.of(0x30, 0x84, 0xff, 0xff, 0xff, 0xff), '2.5.29.15'), undefined);
  assert.equal(bitStringExtension(new Uint8Array(0), '2.5.29.15'), undefined);
});

test('remote-cert-tls server accepts a server certificate and refuses a client one', () => {
  assert.equal(checkPeerCertificate(server, remoteCertTlsPolicy('server')), undefined);
  assert.match(checkPeerCertificate(client, remoteCertTlsPolicy('server')) ?? '', /VERIFY EKU ERROR: .*TLS Web Client Authentication, expected TLS Web Server Authentication/);
  assert.deepEqual(remoteCertTlsPolicy('server').remoteCertKu, [KU_REQUIRED]);
});

test('remote-cert-ku: every bit of one expected value must be set', () => {
  assert.equal(checkPeerCertificate(server, { remoteCertKu: [0xa0] }), undefined);
  assert.equal(checkPeerCertificate(server, { remoteCertKu: [0x88, 0x80] }), undefined, 'one of the values matching is enough');
  assert.match(checkPeerCertificate(client, { remoteCertKu: [0xa0] }) ?? '', /VERIFY KU ERROR: .*key usage 80, expected one of a0/);
});

test('remote-cert-eku by OpenSSL long name or dotted OID', () => {
  assert.equal(checkPeerCertificate(server, { remoteCertEku: 'TLS Web Server Authentication' }), undefined);
  assert.equal(checkPeerCertificate(server, { remoteCertEku: '1.3.6.1.5.5.7.3.1' }), undefined);
  assert.ok(checkPeerCertificate(server, { remoteCertEku: 'serverAuth' }) !== undefined, 'OpenVPN compares long names and OIDs, not short names');
});

test('verify-x509-name: subject (OpenVPN rendering), name (CN), name-prefix', () => {
  assert.equal(openvpnSubject(server), 'C=US, ST=California, L=Springfield, O=Example VPN, CN=server_9f3a2b');
  assert.equal(commonName(server), 'server_9f3a2b');
  assert.equal(checkPeerCertificate(server, { verifyX509Name: { name: openvpnSubject(server), type: 'subject' } }), undefined);
  assert.equal(checkPeerCertificate(server, { verifyX509Name: { name: 'server_9f3a2b', type: 'name' } }), undefined);
  assert.equal(checkPeerCertificate(server, { verifyX509Name: { name: 'server_', type: 'name-prefix' } }), undefined);
  assert.match(checkPeerCertificate(server, { verifyX509Name: { name: 'server', type: 'name' } }) ?? '', /VERIFY X509NAME ERROR: .*, must be name server$/);
});

test('ns-cert-type server: satisfied by the serverAuth EKU, refused for a client certificate', () => {
  assert.equal(checkPeerCertificate(server, { nsCertType: 'server' }), undefined);
  assert.match(checkPeerCertificate(client, { nsCertType: 'server' }) ?? '', /nsCertType/);
});
