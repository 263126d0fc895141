/**
 * Directive rows: TLS, PKI and control-channel protection (tls-options.rst, encryption-options.rst).
 */
import * as A from './args.ts';
import { type DirectiveSpec, ign, notYet, rej, SERVER_ONLY, sup } from './spec.ts';

const T = 'TLS' as const;
const inline = { inline: true } as const;
const TLS_VERSIONS = ['1.0', '1.1', '1.2', '1.3'] as const;
const HOUR = 3600;

/** A SHA-256 fingerprint: 32 hex byte pairs separated by colons. */
function fingerprint(v: string): string {
  if (!/^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$/.test(v)) throw new A.ArgError(`"${v}" is not a SHA-256 fingerprint (32 hex bytes separated by colons)`);
  return v.toUpperCase();
}

export const TLS_DIRECTIVES: readonly DirectiveSpec[] = [
  sup('tls-client', T, 'act as the TLS client (implied by client)', [0, 0], (c) => { c.o.tlsClient = true; }),
  rej('tls-server', 'Server only', 'act as the TLS server', SERVER_ONLY),
  sup('ca', T, 'CA certificate(s) that sign the server certificate (PEM)', [1, 1], (c, a) => { c.o.ca = c.fileRef(a[0]); }, inline),
  notYet(sup('capath', T, 'directory of CA certificates and CRLs', [1, 1], (c, a) => { c.o.capath = c.resolve(a[0] ?? ''); }), 'refused when connecting: put the CA certificates in ca'),
  sup('cert', T, 'client certificate (PEM)', [1, 1], (c, a) => { c.o.cert = c.fileRef(a[0]); }, inline),
  sup('key', T, 'client private key (PEM)', [1, 1], (c, a) => { c.o.key = c.fileRef(a[0]); }, inline),
  sup('extra-certs', T, 'extra intermediate certificates to send', [1, 1], (c, a) => { c.o.extraCerts = c.fileRef(a[0]); }, inline),
  sup('pkcs12', T, 'PKCS#12 bundle with key, certificate and CA', [1, 1], (c, a) => { c.o.pkcs12 = c.fileRef(a[0]); }, inline),
  sup('crl-verify', T, 'certificate revocation list [dir]', [1, 2], (c, a) => {
    const dir = a[1] !== undefined && A.oneOf(a[1], 'crl-verify flag', ['dir']) === 'dir';
    c.o.crlVerify = dir ? { ref: { kind: 'file', path: c.resolve(a[0] ?? '') }, dir } : { ref: c.fileRef(a[0]), dir };
  }, inline),
  ign('dh', 'Server only', 'Diffie-Hellman parameters', 'server-only; a client never uses DH parameters', [1, 1], inline),
  sup('askpass', T, 'read the private key passphrase from a file (or stdin)', [0, 1], (c, a) => { c.o.askpass = a[0] === undefined || a[0] === 'stdin' ? 'stdin' : c.fileRef(a[0]); }),
  sup('remote-cert-tls', T, 'require the server certificate to have TLS server usage', [1, 1], (c, a) => {
    c.o.remoteCertTls = A.oneOf(a[0] ?? '', 'remote-cert-tls type', ['server', 'client']);
  }),
  sup('remote-cert-ku', T, 'require key usage values (hex) on the server certificate', [0, 15], (c, a) => {
    c.o.remoteCertKu = a.map((v) => { if (!/^[0-9a-fA-F]{1,4}$/.test(v)) throw new A.ArgError(`key usage "${v}" is not a hex value`); return parseInt(v, 16); });
  }),
  sup('remote-cert-eku', T, 'require an extended key usage (OID or name) on the server certificate', [1, 1], (c, a) => { c.o.remoteCertEku = a[0]; }),
  sup('ns-cert-type', T, 'deprecated: require the server certificate purpose (OpenSSL X509_check_purpose)', [1, 1], (c, a) => {
    c.o.nsCertType = A.oneOf(a[0] ?? '', 'ns-cert-type', ['server', 'client']);
    c.warn('ns-cert-type is deprecated; use "remote-cert-tls server"');
  }),
  sup('verify-x509-name', T, 'require the server certificate name [subject|name|name-prefix]', [1, 2], (c, a) => {
    if ((a[0] ?? '') === '') throw new A.ArgError('the name must not be empty');
    c.o.verifyX509Name = { name: a[0] ?? '', type: a[1] === undefined ? 'subject' : A.oneOf(a[1], 'verify-x509-name type', ['subject', 'name', 'name-prefix']) };
  }),
  notYet(sup('peer-fingerprint', T, 'accept the server by SHA-256 certificate fingerprint(s)', [1, 1], (c, a) => {
    const text = c.entry.inline ?? a[0] ?? '';
    for (const line of text.split('\n')) {
      const t = line.trim();
      if (t !== '' && !t.startsWith('#') && !t.startsWith(';')) c.o.peerFingerprints.push(fingerprint(t));
    }
  }, inline), 'refused when connecting: use ca with the CA certificate of the server'),
  rej('verify-hash', T, 'accept a CA by hash', 'deprecated; use peer-fingerprint', inline),
  sup('tls-version-min', T, 'minimum TLS version [or-highest]', [1, 2], (c, a) => {
    if (a[1] !== undefined) A.oneOf(a[1], 'flag', ['or-highest']);
    c.o.tlsVersionMin = { version: A.oneOf(a[0] ?? '', 'TLS version', TLS_VERSIONS), orHighest: a[1] !== undefined };
  }),
  sup('tls-version-max', T, 'maximum TLS version', [1, 1], (c, a) => { c.o.tlsVersionMax = A.oneOf(a[0] ?? '', 'TLS version', TLS_VERSIONS); }),
  sup('tls-cipher', T, "TLS 1.2 cipher list (OpenVPN's IANA names or OpenSSL's, ':' separated)", [1, 1], (c, a) => { c.o.tlsCipher = a[0]; }),
  sup('tls-ciphersuites', T, "TLS 1.3 cipher suites ('-' read as '_')", [1, 1], (c, a) => { c.o.tlsCiphersuites = a[0]; }),
  sup('tls-groups', T, 'key exchange groups, colon separated', [1, 1], (c, a) => { c.o.tlsGroups = a[0]; }),
  notYet(sup('tls-cert-profile', T, 'certificate strength profile', [1, 1], (c, a) => {
    c.o.tlsCertProfile = A.oneOf(a[0] ?? '', 'tls-cert-profile', ['insecure', 'legacy', 'preferred', 'suiteb']);
  }), 'the default OpenSSL security level applies'),
  ign('ecdh-curve', T, 'ECDH curve', 'deprecated; use tls-groups', [1, 1]),
  sup('hand-window', T, 'seconds allowed for the TLS handshake', [1, 1], (c, a) => { c.o.handWindow = A.int(a[0] ?? '', 'hand-window', 1, HOUR); }, { push: false }),
  sup('tls-timeout', T, 'control packet retransmit timeout (seconds)', [1, 1], (c, a) => { c.o.tlsTimeout = A.int(a[0] ?? '', 'tls-timeout', 1, 600); }),
  sup('reneg-sec', T, 'renegotiate data keys every n seconds [max]', [1, 2], (c, a) => {
    c.o.renegSec = A.int(a[0] ?? '', 'reneg-sec', 0, 30 * 24 * HOUR);
    if (a[1] !== undefined) A.int(a[1], 'reneg-sec max', 0, 30 * 24 * HOUR);
  }),
  sup('reneg-bytes', T, 'renegotiate after n bytes', [1, 1], (c, a) => { c.o.renegBytes = A.int(a[0] ?? '', 'reneg-bytes', 0, Number.MAX_SAFE_INTEGER); }),
  sup('reneg-pkts', T, 'renegotiate after n packets', [1, 1], (c, a) => { c.o.renegPkts = A.int(a[0] ?? '', 'reneg-pkts', 0, Number.MAX_SAFE_INTEGER); }),
  sup('tran-window', T, 'seconds the old key stays valid after renegotiation', [1, 1], (c, a) => { c.o.tranWindow = A.int(a[0] ?? '', 'tran-window', 1, 30 * 24 * HOUR); }),
  sup('tls-exit', T, 'exit on TLS negotiation failure', [0, 0], (c) => { c.o.tlsExit = true; }),
  notYet(sup('x509-track', T, 'export a certificate field to scripts', [1, 1], (c, a) => { c.o.x509Track.push(a[0] ?? ''); }), 'the certificate fields are not exported to scripts yet'),
  sup('key-direction', T, 'direction (0 or 1) for an inline tls-auth key', [1, 1], (c, a) => { c.ce.keyDirection = A.keyDirection(a[0] ?? ''); }, { conn: true }),
  sup('tls-auth', T, 'HMAC-authenticate control packets with a static key [direction]', [1, 2], (c, a) => {
    c.ce.tlsAuth = { key: c.fileRef(a[0]), direction: a[1] === undefined ? undefined : A.keyDirection(a[1]) };
  }, { conn: true, inline: true }),
  sup('tls-crypt', T, 'encrypt and authenticate control packets with a static key', [1, 1], (c, a) => { c.ce.tlsCrypt = c.fileRef(a[0]); }, { conn: true, inline: true }),
  sup('tls-crypt-v2', T, 'per-client tls-crypt key [force-cookie|allow-noncookie]', [1, 2], (c, a) => {
    const mode = a[1] === undefined ? 'allow-noncookie' : A.oneOf(a[1], 'tls-crypt-v2 mode', ['force-cookie', 'allow-noncookie']);
    c.ce.tlsCryptV2 = { key: c.fileRef(a[0]), forceCookie: mode === 'force-cookie' };
  }, { conn: true, inline: true }),
  rej('tls-crypt-v2-verify', 'Server only', 'script to verify tls-crypt-v2 client keys', SERVER_ONLY),
  rej('secret', T, 'static-key (pre-shared key) mode', 'static-key mode is insecure (no forward secrecy) and deprecated in OpenVPN 2.6; use TLS mode (client, ca, cert, key)', inline),
  rej('key-method', T, 'key exchange method', 'removed in OpenVPN 2.5; method 2 is always used'),
  rej('pkcs11-providers', T, 'PKCS#11 provider libraries', 'PKCS#11 tokens are not supported; export the key or use pkcs12'),
  rej('pkcs11-id', T, 'PKCS#11 object id', 'PKCS#11 tokens are not supported; export the key or use pkcs12'),
  rej('pkcs11-id-management', T, 'PKCS#11 id via management', 'PKCS#11 tokens are not supported'),
  rej('pkcs11-pin-cache', T, 'PKCS#11 PIN cache seconds', 'PKCS#11 tokens are not supported'),
  rej('pkcs11-private-mode', T, 'PKCS#11 private mode', 'PKCS#11 tokens are not supported'),
  rej('pkcs11-protected-authentication', T, 'PKCS#11 protected authentication', 'PKCS#11 tokens are not supported'),
  rej('pkcs11-cert-private', T, 'PKCS#11 certificate is private', 'PKCS#11 tokens are not supported'),
  rej('cryptoapicert', T, 'Windows certificate store', 'Windows-only'),
  ign('engine', T, 'OpenSSL engine', 'OpenSSL engines are not used by ovpn-ts', [0, 1]),
  notYet(sup('providers', T, 'OpenSSL 3 providers to load (e.g. legacy)', [1, 15], (c, a) => { c.o.providers = [...a]; }), 'the OpenSSL providers of Node are used as they are'),
  ign('single-session', T, 'allow one session only', 'no effect on a client', [0, 0]),
  ign('tls-export-cert', 'Scripts', 'write peer certificates to a directory for scripts', 'not implemented', [1, 1]),
  rej('x509-username-field', 'Server only', 'certificate field used as username', SERVER_ONLY),
  rej('verify-client-cert', 'Server only', 'require client certificates', SERVER_ONLY),
  rej('client-cert-not-required', 'Server only', 'removed', 'removed in OpenVPN 2.5 (server-only)'),
  rej('compat-names', T, 'old X.509 name formatting', 'removed in OpenVPN 2.5'),
  rej('no-name-remapping', T, 'old X.509 name remapping', 'removed in OpenVPN 2.5'),
];
