/**
 * What material.ts reads before connecting: certificate expiry warnings, credentials from an
 * auth-user-pass file or inline block, PKCS#12 (modern through Node, legacy through forge),
 * and clear errors for unreadable files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo.ts';
import { loadConfig } from '../../src/config/index.ts';
import { nodeConfigFs } from '../../src/config/node-fs.ts';
import { certificateWarnings, loadCredentials, loadMaterial } from '../../src/material.ts';
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
