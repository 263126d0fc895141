import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planNetwork, type NetOp, type PlanInput } from '../../../src/routing/plan.ts';
import { describeOp } from '../../../src/routing/apply.ts';
import { canonicalAddr, netmaskToPrefix, networkOf, parseCidr } from '../../../src/base/ip.ts';

const text = (ops: readonly NetOp[]): string[] => ops.map(describeOp);
const base = { dev: 'tun0', mtu: 1500 } as const;
const def1 = { def1: true, bypassDhcp: false, local: false, autolocal: false, blockLocal: false, ipv4: true, reroute: true, ipv6: false } as const;
const netGateway = { gateway: '192.168.1.1', dev: 'eth0', prefixLen: 24 } as const;

test('ip helpers: netmasks, canonical IPv6, networks', () => {
  assert.equal(netmaskToPrefix('255.255.255.0'), 24);
  assert.equal(netmaskToPrefix('255.255.255.252'), 30);
  assert.equal(netmaskToPrefix('0.0.0.0'), 0);
  assert.equal(netmaskToPrefix('255.0.255.0'), undefined);
  assert.equal(canonicalAddr('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalAddr('::ffff:1.2.3.4'), '::ffff:102:304');
  assert.equal(canonicalAddr('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
  assert.equal(canonicalAddr('1::2::3'), undefined);
  assert.equal(networkOf('10.8.0.77', 24), '10.8.0.0');
  assert.equal(networkOf('2001:db8:1:2::9', 33), '2001:db8::');
  assert.deepEqual(parseCidr('fd00::1/64'), { addr: 'fd00::1', len: 64, family: 6 });
  assert.equal(parseCidr('10.0.0.1/33'), undefined);
});

const cases: { name: string; input: PlanInput; ops: string[]; warnings?: RegExp[] }[] = [
  {
    name: 'topology subnet: address with prefix, routes via route-gateway',
    input: {
      ...base,
      topology: 'subnet',
      ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
      routeGateway: '10.8.0.1',
      routes: [{ network: '10.99.0.0', netmask: '255.255.0.0' }],
    },
    ops: ['link tun0 up mtu 1500', 'add address 10.8.0.2/24 on tun0', 'add route 10.99.0.0/16 via 10.8.0.1 dev tun0'],
  },
  {
    name: 'topology net30: point-to-point address, vpn_gateway is the peer',
    input: {
      ...base,
      mtu: 1400,
      topology: 'net30',
      ifconfig: { local: '10.8.0.6', remoteNetmask: '10.8.0.5' },
      routes: [{ network: '10.8.0.1', netmask: '255.255.255.255', gateway: 'vpn_gateway' }],
    },
    ops: ['link tun0 up mtu 1400', 'add address 10.8.0.6/32 peer 10.8.0.5 on tun0', 'add route 10.8.0.1/32 via 10.8.0.5 dev tun0'],
  },
  {
    name: 'topology p2p and per-route metric overriding route-metric',
    input: {
      ...base,
      topology: 'p2p',
      ifconfig: { local: '10.9.0.2', remoteNetmask: '10.9.0.1' },
      routeMetric: 50,
      routes: [
        { network: '172.16.0.0', netmask: '255.240.0.0' },
        { network: '192.0.2.0', netmask: '255.255.255.0', metric: 7 },
      ],
    },
    ops: [
      'link tun0 up mtu 1500',
      'add address 10.9.0.2/32 peer 10.9.0.1 on tun0',
      'add route 172.16.0.0/12 via 10.9.0.1 dev tun0 metric 50',
      'add route 192.0.2.0/24 via 10.9.0.1 dev tun0 metric 7',
    ],
  },
  {
    name: 'redirect-gateway def1: bypass host route to the server, then 0/1 and 128/1',
    input: {
      ...base,
      topology: 'subnet',
      ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
      routeGateway: '10.8.0.1',
      redirectGateway: def1,
      remoteHosts: ['203.0.113.5'],
      netGateway,
    },
    ops: [
      'link tun0 up mtu 1500',
      'add address 10.8.0.2/24 on tun0',
      'add route 203.0.113.5/32 via 192.168.1.1 dev eth0',
      'add route 0.0.0.0/1 via 10.8.0.1 dev tun0',
      'add route 128.0.0.0/1 via 10.8.0.1 dev tun0',
    ],
  },
  {
    name: 'redirect-gateway def1 local: no bypass route',
    input: {
      ...base,
      topology: 'subnet',
      ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
      routeGateway: '10.8.0.1',
      redirectGateway: { ...def1, local: true },
      remoteHosts: ['203.0.113.5'],
      netGateway,
    },
    ops: ['link tun0 up mtu 1500', 'add address 10.8.0.2/24 on tun0', 'add route 0.0.0.0/1 via 10.8.0.1 dev tun0', 'add route 128.0.0.0/1 via 10.8.0.1 dev tun0'],
  },
  {
    name: 'redirect-gateway without def1 replaces the default route',
    input: {
      ...base,
      topology: 'net30',
      ifconfig: { local: '10.8.0.6', remoteNetmask: '10.8.0.5' },
      redirectGateway: { ...def1, def1: false },
      remoteHosts: ['203.0.113.5'],
      netGateway,
      routeMetric: 5,
    },
    ops: [
      'link tun0 up mtu 1500',
      'add address 10.8.0.6/32 peer 10.8.0.5 on tun0',
      'add route 203.0.113.5/32 via 192.168.1.1 dev eth0',
      'delete route 0.0.0.0/0 via 192.168.1.1 dev eth0',
      'add route 0.0.0.0/0 via 10.8.0.5 dev tun0 metric 5',
    ],
  },
  {
    name: 'redirect-gateway without def1: the default route is removed with its own metric, so it comes back exactly',
    input: {
      ...base,
      topology: 'net30',
      ifconfig: { local: '10.8.0.6', remoteNetmask: '10.8.0.5' },
      redirectGateway: { ...def1, def1: false },
      remoteHosts: ['203.0.113.5'],
      netGateway: { ...netGateway, metric: 100 },
    },
    ops: [
      'link tun0 up mtu 1500',
      'add address 10.8.0.6/32 peer 10.8.0.5 on tun0',
      'add route 203.0.113.5/32 via 192.168.1.1 dev eth0',
      'delete route 0.0.0.0/0 via 192.168.1.1 dev eth0 metric 100',
      'add route 0.0.0.0/0 via 10.8.0.5 dev tun0',
    ],
  },
  {
    name: 'redirect-gateway !ipv4 ipv6: IPv6 redirect routes and /128 bypass only',
    input: {
      ...base,
      topology: 'subnet',
      ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
      ifconfigIpv6: { local: 'fd00:8::1000/64', remote: 'fd00:8::1' },
      routeGateway: '10.8.0.1',
      redirectGateway: { ...def1, ipv4: false, reroute: false, ipv6: true },
      remoteHosts: ['203.0.113.5', '2001:db8::5'],
      netGateway,
      netGateway6: { gateway: 'fe80::1', dev: 'eth0' },
    },
    ops: [
      'link tun0 up mtu 1500',
      'add address 10.8.0.2/24 on tun0',
      'add address fd00:8::1000/64 on tun0',
      'add route 2001:db8::5/128 via fe80::1 dev eth0',
      'add route ::/3 dev tun0',
      'add route 2000::/4 dev tun0',
      'add route 3000::/4 dev tun0',
      'add route fc00::/7 dev tun0',
    ],
  },
  {
    name: 'keywords: net_gateway, remote_host, explicit gateway, route-ipv6 with metric',
    input: {
      ...base,
      topology: 'subnet',
      ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
      ifconfigIpv6: { local: 'fd00:8::1000/64', remote: 'fd00:8::1' },
      routeGateway: '10.8.0.1',
      remoteHosts: ['203.0.113.5'],
      netGateway,
      routes: [
        { network: '198.51.100.0', netmask: '255.255.255.0', gateway: 'net_gateway' },
        { network: 'remote_host', netmask: '255.255.255.255', gateway: 'net_gateway', metric: 1 },
        { network: '10.50.0.7', gateway: '10.8.0.9' },
      ],
      routesIpv6: [{ network: '2001:db8:aa::/48', metric: 3 }],
    },
    ops: [
      'link tun0 up mtu 1500',
      'add address 10.8.0.2/24 on tun0',
      'add address fd00:8::1000/64 on tun0',
      'add route 198.51.100.0/24 via 192.168.1.1 dev eth0',
      'add route 203.0.113.5/32 via 192.168.1.1 dev eth0 metric 1',
      'add route 10.50.0.7/32 via 10.8.0.9',
      'add route 2001:db8:aa::/48 dev tun0 metric 3',
    ],
  },
  {
    name: 'block-local: router host route, LAN halves into the tunnel',
    input: {
      ...base,
      topology: 'subnet',
      ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
      routeGateway: '10.8.0.1',
      redirectGateway: { ...def1, blockLocal: true },
      remoteHosts: ['203.0.113.5'],
      netGateway,
    },
    ops: [
      'link tun0 up mtu 1500',
      'add address 10.8.0.2/24 on tun0',
      'add route 203.0.113.5/32 via 192.168.1.1 dev eth0',
      'add route 192.168.1.1/32 via 192.168.1.1 dev eth0',
      'add route 0.0.0.0/1 via 10.8.0.1 dev tun0',
      'add route 128.0.0.0/1 via 10.8.0.1 dev tun0',
      'add route 192.168.1.128/25 via 10.8.0.1 dev tun0',
      'add route 192.168.1.0/25 via 10.8.0.1 dev tun0',
    ],
  },
  {
    name: 'block-local with the server on the LAN (route.c test_local_addr): nothing blocked, no metric on the halves otherwise',
    input: {
      ...base,
      topology: 'subnet',
      ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
      routeGateway: '10.8.0.1',
      routeMetric: 7,
      redirectGateway: { ...def1, blockLocal: true },
      remoteHosts: ['192.168.1.20'],
      netGateway,
    },
    ops: [
      'link tun0 up mtu 1500',
      'add address 10.8.0.2/24 on tun0',
      'add route 192.168.1.20/32 via 192.168.1.1 dev eth0',
      'add route 0.0.0.0/1 via 10.8.0.1 dev tun0 metric 7',
      'add route 128.0.0.0/1 via 10.8.0.1 dev tun0 metric 7',
    ],
  },
  {
    name: 'redirect-private block-local: bypass and LAN halves, the default route untouched',
    input: {
      ...base,
      topology: 'subnet',
      ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
      routeGateway: '10.8.0.1',
      redirectGateway: { ...def1, def1: false, reroute: false, blockLocal: true },
      remoteHosts: ['203.0.113.5'],
      netGateway,
    },
    ops: [
      'link tun0 up mtu 1500',
      'add address 10.8.0.2/24 on tun0',
      'add route 203.0.113.5/32 via 192.168.1.1 dev eth0',
      'add route 192.168.1.1/32 via 192.168.1.1 dev eth0',
      'add route 192.168.1.128/25 via 10.8.0.1 dev tun0',
      'add route 192.168.1.0/25 via 10.8.0.1 dev tun0',
    ],
  },
  {
    name: 'redirect-private autolocal with the server on the LAN: no bypass route at all',
    input: {
      ...base,
      topology: 'subnet',
      ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
      routeGateway: '10.8.0.1',
      redirectGateway: { ...def1, def1: false, reroute: false, autolocal: true },
      remoteHosts: ['192.168.1.20'],
      netGateway,
    },
    ops: ['link tun0 up mtu 1500', 'add address 10.8.0.2/24 on tun0'],
  },
  {
    name: 'missing vpn_gateway and default gateway: warnings, routes skipped',
    input: {
      ...base,
      topology: 'subnet',
      ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
      redirectGateway: def1,
      routes: [{ network: '10.99.0.0', netmask: '255.255.0.0' }],
    },
    ops: ['link tun0 up mtu 1500', 'add address 10.8.0.2/24 on tun0'],
    warnings: [/VPN gateway parameter .* is missing/, /route 10\.99\.0\.0 255\.255\.0\.0: vpn_gateway unknown/],
  },
];

for (const c of cases) {
  test(`plan: ${c.name}`, () => {
    const plan = planNetwork(c.input);
    assert.deepEqual(text(plan.ops), c.ops);
    const expected = c.warnings ?? [];
    assert.equal(plan.warnings.length, expected.length, plan.warnings.join('\n'));
    expected.forEach((re, i) => assert.match(plan.warnings[i] ?? '', re));
  });
}

test('plan: def1 with no readable default gateway warns and does not redirect', () => {
  const plan = planNetwork({
    ...base,
    topology: 'subnet',
    ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
    routeGateway: '10.8.0.1',
    redirectGateway: def1,
    remoteHosts: ['203.0.113.5'],
  });
  assert.deepEqual(text(plan.ops), ['link tun0 up mtu 1500', 'add address 10.8.0.2/24 on tun0']);
  assert.match(plan.warnings[0] ?? '', /Cannot read current default gateway/);
});
