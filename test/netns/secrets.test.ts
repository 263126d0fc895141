/**
 * No secret reaches a log at any verbosity: ovpn-ts at --verb 11 against the real server with
 * a username/password, inline private key and tls-crypt key, a pushed auth-token (the server
 * runs auth-gen-token) and a renegotiation (which sends the token in a new key-method 2
 * message). The log must contain none of: the password, any line of the private key or of the
 * static key, the auth-token value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startClient, startServer, withLab } from '../lab/index.ts';

test('verb 11 logs no password, private key, static key or auth-token', { timeout: 90_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'userpass', { extraServerLines: ['auth-gen-token 300', 'verb 4'] });
    const config = server.clientConfig({ inline: true, extra: ['dev null', 'verb 11', 'reneg-sec 4'] });
    const client = await startClient(lab, 'ovpn-ts', config);
    // wait for one renegotiation, which authenticates with the pushed token
    const deadline = Date.now() + 20_000;
    while (!/renegotiation complete/.test(readFileSync(client.logFile, 'utf8')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await client.stop();
    const log = readFileSync(client.logFile, 'utf8');
    assert.match(log, /renegotiation complete/, 'the test must cover a renegotiation with the token');
    assert.match(log, /auth-token \[redacted\]/, 'the pushed token is shown redacted');

    const credsFile = /^auth-user-pass (.+)$/m.exec(config)?.[1] ?? '';
    const password = readFileSync(credsFile, 'utf8').split('\n')[1] ?? '';
    assert.ok(password.length >= 4, 'the lab password is known to the test');
    assert.ok(!log.includes(password), 'the password appears in the log');

    const blocks = (tag: string): string[] => {
      const m = new RegExp(`<${tag}>\\n([\\s\\S]*?)</${tag}>`).exec(config);
      return (m?.[1] ?? '').split('\n').filter((l) => l.length >= 16 && !l.startsWith('-----') && !l.startsWith('#'));
    };
    const secretLines = [...blocks('key'), ...blocks('tls-crypt')];
    assert.ok(secretLines.length > 10, 'the config carries inline key material');
    for (const line of secretLines) assert.ok(!log.includes(line), `a line of key material appears in the log: ${line.slice(0, 8)}…`);

    const tokens = [...server.log().matchAll(/auth-token ([A-Za-z0-9+/=_-]{16,})/g)].map((m) => m[1] ?? '');
    for (const t of tokens) assert.ok(!log.includes(t), 'the auth-token value appears in the log');
  });
});
