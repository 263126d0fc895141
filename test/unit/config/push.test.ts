import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.ts';
import { parsePushOptions } from '../../../src/config/push.ts';
import { BASE, PKI, memFs } from './memfs.ts';

function base(extra = '') {
  return loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': BASE + extra, ...PKI })).options;
}

const REPLY = ['route-gateway 10.8.0.1', 'topology subnet', 'ping 10', 'ping-restart 120', 'ifconfig 10.8.0.2 255.255.255.0',
  'peer-id 7', 'cipher AES-256-GCM', 'route 192.168.10.0 255.255.255.0', 'dhcp-option DNS 10.8.0.1', 'key-derivation tls-ekm', 'protocol-flags cc-exit tls-ekm'];

test('pushable options are applied through the same table', () => {
  const r = parsePushOptions(REPLY, base());
  assert.deepEqual(r.ignored, []);
  const o = r.options;
  assert.equal(o.routeGateway, '10.8.0.1');
  assert.equal(o.topology, 'subnet');
  assert.deepEqual([o.ping, o.pingRestart, o.peerId, o.cipher, o.keyDerivation], [10, 120, 7, 'AES-256-GCM', 'tls-ekm']);
  assert.deepEqual(o.ifconfig, { local: '10.8.0.2', remoteOrNetmask: '255.255.255.0' });
  assert.deepEqual(o.routes.map((x) => x.network), ['192.168.10.0']);
  assert.deepEqual(o.dhcpOptions, [{ type: 'DNS', value: '10.8.0.1' }]);
  assert.deepEqual(o.protocolFlags, ['cc-exit', 'tls-ekm']);
});

test('the base options are not modified', () => {
  const b = base();
  parsePushOptions(REPLY, b);
  assert.deepEqual(b.routes, []);
  assert.equal(b.peerId, undefined);
});

test('non-pushable options are ignored with OpenVPN\'s message, invalid ones with the reason', () => {
  const r = parsePushOptions(['user nobody', 'script-security 3', 'up /bin/sh', 'frobnicate 1', 'route 10.0.0.0 255.0.255.0', 'ping 10'], base());
  assert.deepEqual(r.ignored.map((x) => `${x.pos.file}:${x.pos.line} ${x.reason}`), [
    "<push>:1 option 'user' cannot be used in this context",
    "<push>:2 option 'script-security' cannot be used in this context",
    "<push>:3 option 'up' cannot be used in this context",
    "<push>:4 option 'frobnicate' cannot be used in this context",
    '<push>:5 netmask 255.0.255.0 is not contiguous (expected e.g. 255.255.255.0)',
  ]);
  assert.equal(r.options.ping, 10);
});

test('route-nopull drops routes and DNS but keeps ifconfig, route-gateway and timers', () => {
  const r = parsePushOptions(REPLY, base('route-nopull\n'));
  assert.deepEqual(r.options.routes, []);
  assert.deepEqual(r.options.dhcpOptions, []);
  assert.equal(r.options.routeGateway, '10.8.0.1');
  assert.equal(r.options.ping, 10);
  assert.deepEqual(r.ignored.map((x) => x.option), ['route 192.168.10.0 255.255.255.0', 'dhcp-option DNS 10.8.0.1']);
});

test('pull-filter: the first matching rule decides; reject stops with the offending option', () => {
  const o = base('pull-filter accept "route 192.168.10."\npull-filter ignore "route "\npull-filter ignore dhcp-option\npull-filter reject "redirect-gateway"\n');
  const r = parsePushOptions([...REPLY, 'route 172.16.0.0 255.240.0.0'], o);
  assert.deepEqual(r.options.routes.map((x) => x.network), ['192.168.10.0']);
  assert.deepEqual(r.ignored.map((x) => x.reason), ['removed by pull-filter ignore "dhcp-option"', 'removed by pull-filter ignore "route "']);
  const rej = parsePushOptions(['ping 5', 'redirect-gateway def1', 'ping 7'], o);
  assert.equal(rej.rejectedBy?.option, 'redirect-gateway def1');
  assert.equal(rej.rejectedBy?.filter.action, 'reject');
  assert.equal(rej.options.ping, 5);
});

test('pushed host-name routes need allow-pull-fqdn', () => {
  assert.match(parsePushOptions(['route intranet.example 255.255.255.255'], base()).ignored[0]?.reason ?? '', /needs allow-pull-fqdn/);
  assert.deepEqual(parsePushOptions(['route intranet.example'], base('allow-pull-fqdn\n')).options.routes.map((x) => x.network), ['intranet.example']);
});

test('pushed tun-mtu and explicit-exit-notify change the current connection entry', () => {
  const r = parsePushOptions(['tun-mtu 1400', 'explicit-exit-notify 2'], base());
  assert.equal(r.options.connections[0]?.tunMtu, 1400);
  assert.equal(r.options.connections[0]?.explicitExitNotify, 2);
});
