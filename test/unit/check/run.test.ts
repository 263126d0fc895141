/**
 * runCheck in-process (the whole `--check` pass over real files, with an injected clock):
 * warnings are printed together with errors, a CA near its end is a warning at its line,
 * an askpass file is used (never a prompt), and nothing secret is printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { repoRoot } from '../../helpers/repo.ts';
import { nodeConfigFs } from '../../../src/config/node-fs.ts';
import { runCheck } from '../../../src/check/run.ts';

const PKI = join(repoRoot(), 'test', 'fixtures', 'pki');
const caValidTo = new Date(new X509Certificate(readFileSync(join(PKI, 'ca.crt'))).validTo);

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, text: () => text };
}

/** Writes `body` to a temp .ovpn and runs the check on it. */
function check(body: string, now = new Date()): { code: number; out: string; err: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ovts-check-'));
  try {
    const file = join(dir, 'client.ovpn');
    writeFileSync(file, body);
    const out = sink();
    const err = sink();
    const code = runCheck(['--config', file], nodeConfigFs, out.stream, err.stream, now);
    return { code, out: out.text(), err: err.text(), file };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const BASE = ['client', 'dev tun', 'remote 198.18.0.1 1194', 'nobind', `ca ${PKI}/ca.crt`, `cert ${PKI}/client.crt`, `key ${PKI}/client.key`];

test('a valid config: exit 0, the report with the loaded material, nothing on stderr', () => {
  const r = check([...BASE, 'remote-cert-tls server'].join('\n'), new Date('2030-01-01T00:00:00Z'));
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  assert.match(r.out, /^Key material \(loaded as connecting would\):$/m);
  assert.match(r.out, /^ {2}cert: .*CN=client1 \(RSA 2048 bits\), valid until .*; the key matches it$/m);
  assert.match(r.out, /^Configuration OK\.$/m);
});

test('warnings are printed even when there are errors, before them, each at its line', () => {
  const r = check(['client', 'dev tun', 'block-outside-dns', `ca ${PKI}/ca.crt`, `cert ${PKI}/client.crt`, `key ${PKI}/client.key`].join('\n'));
  assert.equal(r.code, 3);
  const lines = r.err.trimEnd().split('\n');
  assert.equal(lines.length, 4, r.err);
  assert.ok(lines[0]?.startsWith(`${r.file}:3: block-outside-dns: warning: ignored: Windows-only`), lines[0]);
  assert.ok(lines[1]?.startsWith(`${r.file}:0: remote-cert-tls: warning: not set`), lines[1]);
  assert.equal(lines[2], `${r.file}:0: no "remote": add the server as "remote HOST [PORT] [udp|tcp]"`);
  assert.equal(lines[3], 'ovpn-ts: 1 configuration error');
  assert.equal(r.out, '', 'no report when there are errors');
});

test('a config error and a key-material error are both reported, in line order', () => {
  const r = check(['client', 'dev tun', 'remote 198.18.0.1 1194', 'verb eleven', '<ca>', '</ca>', `cert ${PKI}/client.crt`, `key ${PKI}/revoked.key`, 'remote-cert-tls server'].join('\n'));
  assert.equal(r.code, 3);
  const errors = r.err.split('\n').filter((l) => l.startsWith(r.file) && !l.includes(': warning: '));
  assert.deepEqual(errors.map((l) => l.slice(r.file.length).split(':').slice(0, 3).join(':')), [':4: verb', ':5: ca', ':8: key']);
});

test('a CA that expires within 30 days, or has expired, is a warning at the ca line', () => {
  const soon = check([...BASE, 'remote-cert-tls server'].join('\n'), new Date(caValidTo.getTime() - 10 * 86_400_000 - 1000));
  assert.equal(soon.code, 0, soon.err);
  assert.match(soon.err, new RegExp(`${soon.file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:5: ca: warning: this CA certificate \\(.*CN=Example VPN Test RSA CA\\) expires in 10 day\\(s\\)`));
  const late = check([...BASE, 'remote-cert-tls server'].join('\n'), new Date(caValidTo.getTime() + 86_400_000));
  assert.match(late.err, /:5: ca: warning: this CA certificate .* expired on .*get the provider's current CA/);
});

test('an encrypted key is opened with the askpass file, never a prompt; a wrong one is an error without the secret', () => {
  const enc = ['client', 'dev tun', 'remote 198.18.0.1 1194', `ca ${PKI}/ca.crt`, `cert ${PKI}/client-enc.crt`, `key ${PKI}/client-enc.key`, 'remote-cert-tls server'];
  const good = check([...enc, `askpass ${PKI}/client-enc.pass`].join('\n'));
  assert.equal(good.code, 0, good.err);
  assert.match(good.out, /cert: .*CN=client-enc .*; the key matches it/);
  const wrong = check([...enc, `askpass ${PKI}/creds.txt`].join('\n'));
  assert.equal(wrong.code, 3);
  assert.match(wrong.err, /:6: key: cannot decrypt .*client-enc\.key: wrong password\?/);
  assert.ok(!wrong.err.includes('testuser'), 'the passphrase tried is not printed');
  const none = check(enc.join('\n'));
  assert.equal(none.code, 0, none.err);
  assert.match(none.out, /key: encrypted: will ask for the passphrase when connecting \(no askpass file\)/);
});

test('PKCS#12 bundles (modern and legacy) load; tls-crypt-v2 and CRL files are read', () => {
  const r = check(['client', 'dev tun', 'remote 198.18.0.1 1194', `pkcs12 ${PKI}/client-legacy.p12`, `tls-crypt-v2 ${PKI}/tc2-client.key`, `crl-verify ${PKI}/crl.pem`, 'remote-cert-tls server'].join('\n'));
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /pkcs12: .*CN=client1/);
  assert.match(r.out, /tls-crypt-v2: 2048-bit static key/);
  const bad = check(['client', 'dev tun', 'remote 198.18.0.1 1194', `ca ${PKI}/ca.crt`, `pkcs12 ${PKI}/client.p12`, '<crl-verify>', 'not a CRL', '</crl-verify>', 'remote-cert-tls server'].join('\n'));
  assert.equal(bad.code, 3);
  assert.match(bad.err, /:6: crl-verify: the inline <crl-verify> block is not a CRL OpenSSL can read/);
});
