import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DIRECTIVES, TOPICS } from '../../../src/config/directives.ts';
import { renderDirectivesDoc } from '../../../src/config/doc.ts';
import { describeOptions } from '../../../src/config/redact.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { PKI, memFs } from './memfs.ts';

test('every directive has a topic, a summary, a status, and a reason unless supported', () => {
  assert.ok(DIRECTIVES.size > 300, `only ${DIRECTIVES.size} rows`);
  for (const d of DIRECTIVES.values()) {
    assert.ok((TOPICS as readonly string[]).includes(d.topic), `${d.name}: topic ${d.topic}`);
    assert.ok(d.summary.length > 3, `${d.name}: summary`);
    assert.ok(d.where.length > 0, `${d.name}: where`);
    assert.ok(d.minArgs <= d.maxArgs && d.maxArgs <= 15, `${d.name}: arity`);
    if (d.status === 'supported') assert.equal(typeof d.apply, 'function', `${d.name}: apply`);
    else assert.ok((d.reason ?? '').length > 3, `${d.name}: reason`);
    if (d.pushable) assert.ok(d.where.includes('push'), `${d.name}: pushable but not allowed in push`);
  }
});

test('the table covers the OpenVPN 2.6 client essentials with the right decisions', () => {
  const status = (n: string) => DIRECTIVES.get(n)?.status;
  for (const n of ['client', 'remote', 'ca', 'cert', 'key', 'tls-auth', 'tls-crypt', 'tls-crypt-v2', 'auth-user-pass', 'route', 'redirect-gateway', 'pull-filter', 'up', 'down', 'route-up', 'route-pre-down', 'fragment', 'http-proxy', 'socks-proxy', 'sndbuf', 'mark', 'bind-dev', 'dns', 'dhcp-option', 'dns-updown', 'dns-backend', 'management', 'management-hold', 'management-query-passwords', 'daemon', 'syslog']) {
    assert.equal(status(n), 'supported', n);
  }
  // checked and kept, with a warning that ovpn-ts does not act on them yet
  for (const n of ['ipchange']) assert.equal(status(n), 'parsed', n);
  for (const n of ['user', 'group']) assert.equal(status(n), 'supported', n);
  for (const n of ['block-outside-dns', 'register-dns']) assert.equal(status(n), 'ignored', n);
  for (const n of ['server', 'push', 'client-config-dir', 'secret']) assert.equal(status(n), 'rejected', n);
  for (const n of ['ca', 'cert', 'key', 'extra-certs', 'tls-auth', 'tls-crypt', 'tls-crypt-v2', 'pkcs12', 'crl-verify', 'auth-user-pass', 'http-proxy-user-pass', 'dh']) {
    assert.equal(DIRECTIVES.get(n)?.inline, true, `${n} inline`);
  }
});

test('docs/directives.md is exactly what scripts/gen-directives.ts produces (run npm run docs:directives)', () => {
  const committed = readFileSync('docs/directives.md', 'utf8');
  assert.equal(committed, renderDirectivesDoc());
});

test('describeOptions prints OpenVPN syntax and redacts secrets', () => {
  const text = 'client\ndev tun\nremote h 443 tcp\nca ca.crt\n<cert>\nPUBLIC\n</cert>\n<key>\nPRIVATE-KEY-BYTES\n</key>\n<tls-crypt>\nSTATIC-KEY-BYTES\n</tls-crypt>\n<auth-user-pass>\nuser\nhunter2\n</auth-user-pass>\n';
  const lines = describeOptions(loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': text, ...PKI })).options);
  const all = lines.join('\n');
  for (const secret of ['PRIVATE-KEY-BYTES', 'STATIC-KEY-BYTES', 'hunter2']) assert.ok(!all.includes(secret), secret);
  assert.ok(lines.includes('key [redacted]'));
  assert.ok(lines.includes('tls-crypt [redacted]'));
  assert.ok(lines.includes('auth-user-pass [redacted]'));
  assert.ok(lines.includes('ca /work/ca.crt'));
  assert.ok(lines.includes('remote h 443 tcp'));
});
