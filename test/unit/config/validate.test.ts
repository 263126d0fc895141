import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigErrors } from '../../../src/base/errors.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { BASE, PKI, memFs } from './memfs.ts';

function errorsOf(text: string, extra: Record<string, string> = {}): string[] {
  try {
    loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': text, ...PKI, ...extra }));
  } catch (e) {
    assert.ok(e instanceof ConfigErrors);
    return e.errors.map((x) => x.message);
  }
  return [];
}

test('a minimal client config is valid and gets OpenVPN 2.6 defaults', () => {
  const { options: o, warnings } = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': `${BASE}remote-cert-tls server\n`, ...PKI }));
  assert.deepEqual(warnings, []);
  assert.equal(o.verb, 1);
  assert.equal(o.handWindow, 60);
  assert.equal(o.tlsTimeout, 2);
  assert.equal(o.renegSec, 3600);
  assert.deepEqual(o.dataCiphers, ['AES-256-GCM', 'AES-128-GCM', 'CHACHA20-POLY1305']);
  assert.equal(o.tlsVersionMin.version, '1.2');
  assert.equal(o.auth, 'SHA1');
  assert.equal(o.allowCompression, 'no');
  assert.deepEqual(o.replayWindow, { size: 64, seconds: 15 });
  const ce = o.connections[0];
  assert.ok(ce);
  assert.deepEqual([ce.remotePort, ce.proto, ce.tunMtu, ce.maxPacketSize, ce.connectRetry, ce.connectRetryMax, ce.connectTimeout], [1194, 'udp', 1500, 1250, 1, 300, 120]);
});

test('client/pull missing: ovpn-ts is a client for pull-mode servers', () => {
  assert.deepEqual(errorsOf(BASE.replace('client\n', '')), ['/work/a.ovpn:0: "client" is missing: ovpn-ts is a client for pull-mode servers: add "client" (or "pull" and "tls-client")']);
});

test('no dev: refused as OpenVPN 2.6 does, at the file as a whole, with the fix', () => {
  assert.deepEqual(errorsOf(BASE.replace('dev tun\n', '')), ['/work/a.ovpn:0: no "dev": OpenVPN refuses to start without one ("You must define TUN/TAP device (--dev)"): add "dev tun"']);
});

test('an empty or comment-only file is one error naming the file, never "<command line>"', () => {
  for (const text of ['', '# only a comment\n; and another\n\n']) {
    assert.deepEqual(errorsOf(text), ['/work/a.ovpn:0: the file holds no directives (it is empty or only comments): a client config needs at least "client", "dev tun", "remote HOST PORT", "ca", and "cert" + "key" (or "auth-user-pass")']);
  }
});

test('no server certificate check: one warning at the file, as OpenVPN warns', () => {
  const warned = (text: string): string[] =>
    loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': text, ...PKI })).warnings.filter((w) => w.directive === 'remote-cert-tls').map((w) => `${w.pos.file}:${w.pos.line}: ${w.message}`);
  const [only, ...rest] = warned(BASE);
  assert.deepEqual(rest, []);
  assert.match(only ?? '', /^\/work\/a\.ovpn:0: not set, nor verify-x509-name or peer-fingerprint: .*add "remote-cert-tls server"$/);
  for (const line of ['remote-cert-tls server', 'verify-x509-name server_9f3a2b name', `peer-fingerprint ${Array(32).fill('AB').join(':')}`, 'remote-cert-eku "TLS Web Server Authentication"']) {
    assert.deepEqual(warned(`${BASE}${line}\n`), [], line);
  }
});

test('cert without key, key without cert', () => {
  assert.deepEqual(errorsOf(BASE.replace('key c.key\n', '')), ['/work/a.ovpn:5: cert: cert needs a matching key (add key, or use pkcs12)']);
  assert.deepEqual(errorsOf(BASE.replace('cert c.crt\n', '')), ['/work/a.ovpn:5: key: key needs a matching cert (add cert, or use pkcs12)']);
});

test('no remote, no CA, no client authentication', () => {
  assert.deepEqual(errorsOf(BASE.replace('remote vpn.example.invalid 1194\n', '')), ['/work/a.ovpn:0: no "remote": add the server as "remote HOST [PORT] [udp|tcp]"']);
  assert.deepEqual(errorsOf(BASE.replace('ca ca.crt\n', '')), ['/work/a.ovpn:0: no CA certificate to verify the server with: add "ca FILE" or an inline <ca> block (or capath, pkcs12, peer-fingerprint)']);
  assert.deepEqual(errorsOf('client\ndev tun\nremote h\nca ca.crt\n'), ['/work/a.ovpn:0: no client authentication: add "cert" and "key", "pkcs12", or "auth-user-pass"']);
});

test('tls-auth and tls-crypt together', () => {
  assert.deepEqual(errorsOf(`${BASE}tls-auth ta.key 1\ntls-crypt tc.key\n`, { '/work/ta.key': 'k', '/work/tc.key': 'k' }), [
    '/work/a.ovpn:8: tls-crypt: tls-auth and tls-crypt cannot be used together: choose one',
  ]);
});

test('empty inline auth-user-pass', () => {
  assert.deepEqual(errorsOf(`${BASE}<auth-user-pass>\n</auth-user-pass>\n`), [
    '/work/a.ovpn:7: auth-user-pass: the inline <auth-user-pass> block is empty (expected a username line, then a password line)',
  ]);
});

test('rejected: secret static-key mode, dev tap, udp-server style protos, mode server, server-only directives', () => {
  assert.match(errorsOf(`${BASE}secret static.key\n`)[0] ?? '', /^\/work\/a\.ovpn:7: secret: not supported: static-key mode is insecure/);
  assert.deepEqual(errorsOf(BASE.replace('dev tun', 'dev tap0')), ['/work/a.ovpn:2: dev: tap (layer 2) devices are not supported: use "dev tun"']);
  assert.deepEqual(errorsOf(`${BASE}proto tcp-server\n`), ['/work/a.ovpn:7: proto: "tcp-server" is a server protocol; ovpn-ts is a client (use tcp or tcp-client)']);
  assert.deepEqual(errorsOf(`${BASE}mode server\n`), ['/work/a.ovpn:7: mode: mode server is not supported: ovpn-ts is a client']);
  assert.deepEqual(errorsOf(`${BASE}client-config-dir ccd\n`), ['/work/a.ovpn:7: client-config-dir: not supported: server-only directive; ovpn-ts is a client']);
});

test('stricter than OpenVPN: ports, numbers, enums, addresses, netmasks', () => {
  const cases: [string, RegExp][] = [
    ['port 70000', /port: port must be between 1 and 65535, got 70000/],
    ['remote h 12x', /remote: remote port must be a number from 1 to 65535, got "12x"/],
    ['verb -1', /verb: verb must be between 0 and 11, got -1/],
    ['proto udpp', /proto: unknown protocol "udpp"/],
    ['dev-type tunn', /dev-type: unknown dev-type "tunn" \(expected tun, tap\)/],
    ['auth-retry sometimes', /auth-retry: unknown auth-retry mode "sometimes"/],
    ['remote-cert-tls servr', /remote-cert-tls: unknown remote-cert-tls type "servr" \(expected server, client\)/],
    ['verify-x509-name vpn.example wrongtype', /verify-x509-name: unknown verify-x509-name type "wrongtype"/],
    ['topology star', /topology: unknown topology "star"/],
    ['key-direction 2', /key-direction: key direction must be 0 or 1, got "2"/],
    ['compress zstd', /compress: unknown compression algorithm "zstd"/],
    ['route 10.0.0.0 255.0.255.0', /route: netmask 255\.0\.255\.0 is not contiguous/],
    ['route 10.0.0.300 255.255.255.0', /route: route network "10\.0\.0\.300" is not a valid dotted-quad IPv4 address/],
    ['route 10.0.0.0 255.255.255.0 gw metric x', /route: expects 1 to 4 arguments, got 5/],
    ['route 10.0.0.0 255.255.255.0 gw', /route: route gateway "gw" is not a valid/],
    ['route 10.0.0.0 255.255.255.0 10.8.0.1 x', /route: route metric must be a whole number, got "x"/],
    ['route-ipv6 2001:db8::/129', /route-ipv6: route-ipv6 network prefix length must be between 0 and 128/],
    ['ifconfig-ipv6 2001:db8:::1/64 2001:db8::1', /ifconfig-ipv6 address "2001:db8:::1" is not a valid IPv6 address/],
    ['cipher AES-256-GXM', /cipher: unknown cipher "AES-256-GXM"/],
    ['data-ciphers AES-256-GCM::AES-128-GCM', /data-ciphers: empty entry in cipher list/],
    ['auth SHA257', /auth: unknown digest "SHA257"/],
    ['nobind yes', /nobind: takes no arguments, got 1/],
    ['tls-auth ta.key 2', /tls-auth: key direction must be 0 or 1, got "2"/],
    ['keepalive 10 5', /keepalive: timeout 5 must be at least twice the interval 10/],
    ['dhcp-option DNS 8.8.8', /dhcp-option: DNS server "8\.8\.8" is not a valid dotted-quad IPv4 address/],
    ['dhcp-option FOO bar', /dhcp-option: unknown dhcp-option type "FOO"/],
    ['dns server 1 transport DoQ', /dns: unknown dns transport "DoQ"/],
    ['redirect-gateway def1 bypass-dhcpp', /redirect-gateway: unknown redirect-gateway flag "bypass-dhcpp"/],
  ];
  for (const [line, re] of cases) {
    const m = errorsOf(`${BASE}${line}\n`, { '/work/ta.key': 'k' });
    assert.equal(m.length, 1, `${line}: ${m.join(' | ')}`);
    assert.match(m[0] ?? '', re, line);
    assert.match(m[0] ?? '', /^\/work\/a\.ovpn:7: /, line);
  }
});

test('warnings: ignored Windows-only directives, setenv opt unknown, ignore-unknown-option', () => {
  const text = `${BASE}block-outside-dns\nsetenv opt frobnicate 1\nignore-unknown-option foo bar\nfoo 1\nremote-cert-tls server\n`;
  const { warnings } = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': text, ...PKI }));
  assert.deepEqual(warnings.map((w) => `${w.pos.line}:${w.directive}: ${w.message}`), [
    '7:block-outside-dns: ignored: Windows-only; no effect on Linux',
    '8:frobnicate: unknown directive ignored (setenv opt / ignore-unknown-option)',
    '10:foo: unknown directive ignored (setenv opt / ignore-unknown-option)',
  ]);
});

test('the typed options: remote list, routes, pull-filter order, scripts, setenv', () => {
  const text = `${BASE}remote b.example 443 tcp\nroute 10.0.0.0 255.0.0.0 net_gateway 5\npull-filter ignore "route "\npull-filter accept "route 10."\nscript-security 2\nup "/etc/openvpn/up.sh arg"\nsetenv FOO "a b"\n`;
  const { options: o } = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': text, ...PKI }));
  assert.deepEqual(o.connections.map((c) => `${c.remote}:${c.remotePort}/${c.proto}`), ['vpn.example.invalid:1194/udp', 'b.example:443/tcp']);
  assert.deepEqual(o.routes, [{ network: '10.0.0.0', netmask: '255.0.0.0', gateway: 'net_gateway', metric: 5 }]);
  assert.deepEqual(o.pullFilters, [{ action: 'ignore', prefix: 'route ' }, { action: 'accept', prefix: 'route 10.' }]);
  assert.equal(o.scripts.up, '/etc/openvpn/up.sh arg');
  assert.deepEqual(o.setenv, [{ name: 'FOO', value: 'a b', safe: false }]);
});

test('setenv opt turns any problem with the wrapped directive into a warning', () => {
  const text = `${BASE}setenv opt verb x\nsetenv opt server 10.8.0.0 255.255.255.0\nsetenv opt tun-mtu 1400\nremote-cert-tls server\n`;
  const { options, warnings } = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': text, ...PKI }));
  assert.equal(options.verb, 1);
  assert.equal(options.connections[0]?.tunMtu, 1400);
  assert.deepEqual(warnings.map((w) => `${w.pos.line}:${w.directive}: ${w.message}`), [
    '7:verb: verb must be a whole number, got "x" (ignored: setenv opt)',
    '8:server: not supported: server-only directive; ovpn-ts is a client (ignored: setenv opt)',
  ]);
});
