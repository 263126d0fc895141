/**
 * What material.ts reads before connecting: certificate expiry warnings, credentials from an
 * auth-user-pass file or inline block, PKCS#12 (modern through Node, legacy through forge),
 * and clear errors for unreadable files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo.ts';
import { loadConfig } from '../../src/config/index.ts';
import { nodeConfigFs } from '../../src/config/node-fs.ts';
import { askpassLine, certificateWarnings, loadCredentials, loadMaterial, passphraseNeed, readAuthFile } from '../../src/material/load.ts';
import { ConfigError } from '../../src/base/errors.ts';

const pkiPath = (name: string): string => join(repoRoot(), 'test', 'fixtures', 'pki', name);
const clientPem = readFileSync(pkiPath('client.crt'), 'utf8');
const validTo = new Date(new X509Certificate(clientPem).validTo);

test('certificate warnings: none when valid, a count of days near the end, a clear one when expired', () => {
  assert.deepEqual(certificateWarnings(clientPem, new Date('2030-01-01T00:00:00Z')), []);
  const soon = certificateWarnings(clientPem, new Date(validTo.getTime() - 10 * 86_400_000 - 1000));
  assert.equal(soon.length, 1);
  assert.match(soon[0] ?? '', /expires in 10 day\(s\)/);
  const expired = certificateWarnings(clientPem, new Date(validTo.getTime() + 86_400_000));
  assert.match(expired[0] ?? '', /expired on .* the server will refuse it/);
  assert.match(certificateWarnings(clientPem, new Date('2000-01-01T00:00:00Z'))[0] ?? '', /not valid before .*clock/);
  assert.deepEqual(certificateWarnings(undefined, new Date()), []);
});

function options(lines: string): ReturnType<typeof loadConfig>['options'] {
  const cwd = repoRoot();
  const fs = { readFile: (p: string) => nodeConfigFs.readFile(p), cwd: () => cwd };
  const text = `client\ndev null\nremote 198.18.0.1 1194\nca ${pkiPath('ca.crt')}\n${lines}\n`;
  const virtual = join(cwd, 'virtual.ovpn');
  return loadConfig(['--config', virtual], { ...fs, readFile: (p: string) => (p === virtual ? new TextEncoder().encode(text) : fs.readFile(p)) }).options;
}

test('auth-user-pass from a file and from an inline block: first line user, second password', async () => {
  const [user, pass] = readFileSync(pkiPath('creds.txt'), 'utf8').split('\n');
  assert.deepEqual(await loadCredentials(options(`cert ${pkiPath('client.crt')}\nkey ${pkiPath('client.key')}\nauth-user-pass ${pkiPath('creds.txt')}`)), { username: user, password: pass });
  const inline = options(`cert ${pkiPath('client.crt')}\nkey ${pkiPath('client.key')}\n<auth-user-pass>\nalice\ns3cret\n</auth-user-pass>`);
  assert.deepEqual(await loadCredentials(inline), { username: 'alice', password: 's3cret' });
  assert.equal(await loadCredentials(options(`cert ${pkiPath('client.crt')}\nkey ${pkiPath('client.key')}`)), undefined);
});

test('PKCS#12: the modern bundle goes to Node as pfx; the legacy one is converted to PEM', async () => {
  const modern = await loadMaterial(options(`pkcs12 ${pkiPath('client.p12')}`), 0);
  assert.ok(modern.tls.pfx !== undefined || modern.tls.cert !== undefined);
  const legacy = await loadMaterial(options(`pkcs12 ${pkiPath('client-legacy.p12')}`), 0);
  assert.ok(legacy.tls.pfx === undefined, 'OpenSSL 3 cannot read RC2/3DES bundles: forge converts them');
  assert.match(legacy.tls.cert ?? '', /BEGIN CERTIFICATE/);
  assert.match(legacy.tls.key ?? '', /BEGIN PRIVATE KEY/);
  assert.equal(new X509Certificate(legacy.tls.cert ?? '').subject.includes('CN='), true);
});

test('an encrypted key with a wrong askpass password fails with a clear, secret-free error', async () => {
  const o = options(`cert ${pkiPath('client-enc.crt')}\nkey ${pkiPath('client-enc.key')}\naskpass ${pkiPath('creds.txt')}`);
  await assert.rejects(loadMaterial(o, 0), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /key: cannot decrypt .*client-enc\.key: wrong password\?/);
    const wrong = readFileSync(pkiPath('creds.txt'), 'utf8').split('\n')[0] ?? '';
    assert.ok(!e.message.includes(wrong), 'the password tried is not in the message');
    return true;
  });
});

test('loading fails at the directive or inline block concerned, with what OpenVPN says and the fix', async () => {
  const cfg = options(`cert ${pkiPath('client.crt')}\nkey ${pkiPath('revoked.key')}`);
  await assert.rejects(loadMaterial(cfg, 0), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.file, join(repoRoot(), 'virtual.ovpn'));
    assert.equal(e.line, 6);
    assert.equal(e.directive, 'key');
    assert.match(e.detail, /revoked\.key does not belong to the certificate of .*client\.crt \(OpenVPN: "Private key does not match the certificate"\)/);
    return true;
  });
  const emptyCa = options(`<ca>\n</ca>\ncert ${pkiPath('client.crt')}\nkey ${pkiPath('client.key')}`);
  await assert.rejects(loadMaterial(emptyCa, 0), /virtual\.ovpn:5: ca: the inline <ca> block holds no PEM certificate.*no entries were read/);
});

test('a short static key is "Insufficient key material" at its block; a good one loads', async () => {
  const ta = readFileSync(pkiPath('ta.key'), 'utf8');
  const short = ta.split('\n').slice(0, 8).join('\n') + '\n-----END OpenVPN Static key V1-----\n';
  const base = `cert ${pkiPath('client.crt')}\nkey ${pkiPath('client.key')}\nkey-direction 1\n`;
  await assert.rejects(loadMaterial(options(`${base}<tls-auth>\n${short}</tls-auth>`), 0), /virtual\.ovpn:8: tls-auth: the inline <tls-auth> block: static key too short: \d+ bytes found, 256 needed \(OpenVPN: "Insufficient key material/);
  const ok = await loadMaterial(options(`${base}<tls-auth>\n${ta}</tls-auth>`), 0);
  assert.equal(ok.control.mode, 'tls-auth');
});

test('auth-user-pass file: no second line means the password is asked for; an empty file is an error', () => {
  const creds = (text: string): ReturnType<typeof readAuthFile> => readAuthFile(options(`cert ${pkiPath('client.crt')}\nkey ${pkiPath('client.key')}\n<auth-user-pass>\n${text}</auth-user-pass>`));
  assert.deepEqual(creds('alice\n'), { username: 'alice', password: undefined });
  assert.deepEqual(creds('alice\n\n'), { username: 'alice', password: '' });
  assert.deepEqual(creds('alice\ns3cret\n'), { username: 'alice', password: 's3cret' });
  const bare = options(`cert ${pkiPath('client.crt')}\nkey ${pkiPath('client.key')}\nauth-user-pass`);
  assert.equal(readAuthFile(bare), 'stdin');
  const dir = mkdtempSync(join(tmpdir(), 'ovts-material-'));
  try {
    writeFileSync(join(dir, 'empty.txt'), '');
    const empty = options(`cert ${pkiPath('client.crt')}\nkey ${pkiPath('client.key')}\nauth-user-pass ${join(dir, 'empty.txt')}`);
    assert.throws(() => readAuthFile(empty), /virtual\.ovpn:7: auth-user-pass: .*empty\.txt is empty \(OpenVPN: "Error reading username from Auth authfile"\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the passphrase is needed only for an encrypted key or a locked PKCS#12 bundle, and read from askpass', () => {
  assert.equal(passphraseNeed(options(`cert ${pkiPath('client.crt')}\nkey ${pkiPath('client.key')}`)), undefined);
  assert.equal(passphraseNeed(options(`pkcs12 ${pkiPath('client.p12')}`)), undefined);
  const enc = options(`cert ${pkiPath('client-enc.crt')}\nkey ${pkiPath('client-enc.key')}\naskpass ${pkiPath('client-enc.pass')}`);
  assert.equal(passphraseNeed(enc), 'key');
  assert.equal(askpassLine(enc), readFileSync(pkiPath('client-enc.pass'), 'utf8').split('\n')[0]);
  assert.equal(askpassLine(options(`cert ${pkiPath('client-enc.crt')}\nkey ${pkiPath('client-enc.key')}`)), undefined);
});
