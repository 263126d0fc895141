/**
 * The TLS set-up checked before connecting (tls-engine.ts tlsSetupProblem, called by
 * material.ts loadMaterial): OpenSSL's verdict on the translated tls-cipher, tls-ciphersuites
 * and tls-groups, each blamed on its directive; and a real TLS 1.2 handshake between the two
 * in-memory engines with a tls-cipher written in OpenVPN's names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../helpers/repo.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { nodeConfigFs } from '../../../src/config/node-fs.ts';
import { ConfigError, type TlsError } from '../../../src/base/errors.ts';
import { loadMaterial } from '../../../src/material/load.ts';
import { tlsCipherSetup } from '../../../src/tls/cipher-names.ts';
import { createClientTlsEngine, createServerTlsEngine, tlsSetupProblem, type TlsCredentials, type TlsEngine } from '../../../src/tls/tls-engine.ts';

const pkiPath = (name: string): string => join(repoRoot(), 'test', 'fixtures', 'pki', name);
const pem = (name: string): string => readFileSync(pkiPath(name), 'utf8');
const clientCreds: TlsCredentials = { ca: pem('ca.crt'), cert: pem('client.crt'), key: pem('client.key') };
const serverCreds: TlsCredentials = { ca: pem('ca.crt'), cert: pem('server.crt'), key: pem('server.key') };

function ciphers(tlsCipher: string | undefined, tlsCiphersuites?: string): string {
  const r = tlsCipherSetup(tlsCipher, tlsCiphersuites);
  assert.ok(r.ok, JSON.stringify(r));
  return r.ciphers;
}

test('OpenSSL accepts the translated lists of real configs', () => {
  for (const list of [
    'TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256',
    'TLS-DHE-RSA-WITH-AES-256-CBC-SHA:TLS-DHE-DSS-WITH-AES-256-CBC-SHA:TLS-RSA-WITH-AES-256-CBC-SHA',
    'TLS-DHE-RSA-WITH-AES-256-GCM-SHA384:TLS-DHE-RSA-WITH-AES-256-CBC-SHA256:HIGH:!aNULL',
  ]) {
    assert.equal(tlsSetupProblem({ ...clientCreds, ciphers: ciphers(list) }), undefined, list);
  }
  assert.equal(tlsSetupProblem({ ...clientCreds, ciphers: ciphers(undefined, 'TLS-AES-256-GCM-SHA384') }), undefined);
});

test('what OpenSSL refuses is blamed on its directive', () => {
  const bad12 = tlsSetupProblem({ ...clientCreds, ciphers: ciphers('TLS-NOT-A-REAL-CIPHER:!aNULL') });
  assert.equal(bad12?.directive, 'tls-cipher');
  assert.match(bad12?.message ?? '', /OpenSSL refuses 'TLS-NOT-A-REAL-CIPHER:!aNULL': no cipher match/);
  const bad13 = tlsSetupProblem({ ...clientCreds, ciphers: ciphers(undefined, 'TLS_NOT_A_SUITE') });
  assert.equal(bad13?.directive, 'tls-ciphersuites');
  const badGroup = tlsSetupProblem({ ...clientCreds, ciphers: ciphers(undefined), groups: 'not-a-group' });
  assert.equal(badGroup?.directive, 'tls-groups');
  const mismatch = tlsSetupProblem({ ...clientCreds, key: pem('server.key') });
  assert.equal(mismatch?.directive, undefined);
  assert.match(mismatch?.message ?? '', /cannot set up TLS: .*mismatch/i);
});

function options(lines: string): ReturnType<typeof loadConfig>['options'] {
  const cwd = repoRoot();
  const text = `client\ndev null\nremote 198.18.0.1 1194\nca ${pkiPath('ca.crt')}\ncert ${pkiPath('client.crt')}\nkey ${pkiPath('client.key')}\n${lines}\n`;
  const virtual = join(cwd, 'virtual.ovpn');
  return loadConfig(['--config', virtual], { cwd: () => cwd, readFile: (p: string) => (p === virtual ? new TextEncoder().encode(text) : nodeConfigFs.readFile(p)) }).options;
}

test('loadMaterial: a tls-cipher OpenSSL cannot use is a configuration error naming tls-cipher, before any connection', async () => {
  await assert.rejects(loadMaterial(options('tls-cipher TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384-TYPO'), 0), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.directive, 'tls-cipher');
    assert.match(e.message, /tls-cipher: OpenSSL refuses 'TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384-TYPO': no cipher match \(no OpenSSL name is known for 'TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384-TYPO'/);
    return true;
  });
});

test('loadMaterial: OpenVPN names reach OpenSSL translated; OpenSSL names and modifiers come with warnings', async () => {
  const m = await loadMaterial(options('tls-cipher TLS-DHE-RSA-WITH-AES-256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:!TLS-RSA-WITH-AES-256-CBC-SHA'), 0);
  assert.equal(m.tls.ciphers, 'DHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:!TLS-RSA-WITH-AES-256-CBC-SHA');
  assert.match(m.warnings.join('\n'), /deprecated TLS cipher name 'ECDHE-RSA-AES256-GCM-SHA384'/);
  assert.match(m.warnings.join('\n'), /write '!AES256-SHA'/);
});

/** Runs a handshake between the two engines; resolves with the client's view, or its error. */
function handshake(client: TlsCredentials): Promise<{ protocol: string | null; cipher: string } | TlsError> {
  return new Promise((resolve) => {
    let c: TlsEngine | undefined;
    let s: TlsEngine | undefined;
    const end = (r: { protocol: string | null; cipher: string } | TlsError): void => {
      c?.destroy();
      s?.destroy();
      resolve(r);
    };
    s = createServerTlsEngine(serverCreds, {
      ciphertext: (b) => c?.feedCiphertext(b),
      plaintext: () => {},
      secure: () => {},
      error: end,
    });
    c = createClientTlsEngine(client, {
      ciphertext: (b) => s?.feedCiphertext(b),
      plaintext: () => {},
      secure: (_peer, protocol, cipher) => end({ protocol, cipher }),
      error: end,
    });
  });
}

test('a TLS 1.2 handshake with tls-cipher in OpenVPN names negotiates that suite (node alone refuses the name)', async () => {
  const r = await handshake({ ...clientCreds, maxVersion: 'TLSv1.2', ciphers: ciphers('TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256') });
  assert.deepEqual(r, { protocol: 'TLSv1.2', cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' });
  const other = await handshake({ ...clientCreds, maxVersion: 'TLSv1.2', ciphers: ciphers('TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256:HIGH') });
  assert.deepEqual(other, { protocol: 'TLSv1.2', cipher: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256' });
  assert.throws(() => createClientTlsEngine({ ...clientCreds, ciphers: 'TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256' }, { ciphertext() {}, plaintext() {}, secure() {}, error() {} }), /no cipher match/);
});
