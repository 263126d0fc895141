/**
 * The kill switch's lifecycle over the in-memory firewall and journal: install resolves every
 * remote first, a live owner is refused, a dead run's rules are taken over or removed, endpoints
 * and device names replace the rules only when new, remove is idempotent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, type ClientOptions } from '../../../src/config/index.ts';
import { KillSwitch, endpointsOf, removeLeftoverKillSwitch } from '../../../src/firewall/kill-switch.ts';
import { MemoryFirewall } from '../../../src/firewall/nft.ts';
import { MemoryFirewallJournal } from '../../../src/firewall/journal.ts';
import { MemoryLogger } from '../../../src/log/logger.ts';
import { memFs, PKI } from '../config/memfs.ts';

function options(lines: string[]): ClientOptions {
  const fs = memFs({ '/work/c.ovpn': ['client', 'dev tun', 'ca ca.crt', 'cert c.crt', 'key c.key', ...lines].join('\n'), ...PKI });
  return loadConfig(['--config', 'c.ovpn'], fs).options;
}

const lookups: string[] = [];
const lookupAll = async (host: string): Promise<{ address: string; family: 4 | 6 }[]> => {
  lookups.push(host);
  if (host === 'vpn.example.com') return [{ address: '203.0.113.10', family: 4 }, { address: '2001:db8::10', family: 6 }];
  throw new Error('ENOTFOUND');
};

test('kill switch: every remote is resolved before the rules go in, and pinned for reconnects', async () => {
  const firewall = new MemoryFirewall();
  const journal = new MemoryFirewallJournal();
  const log = new MemoryLogger();
  const o = options(['remote 198.51.100.1 1194 udp', 'remote vpn.example.com 443 tcp', 'kill-switch']);
  const ks = await KillSwitch.install(o, 'tun0', { firewall, journal, log, lookupAll });
  assert.equal(firewall.applied.length, 1);
  assert.equal(firewall.table, true);
  assert.equal(journal.recorded?.alive, true);
  assert.deepEqual(ks.state.endpoints, [
    { address: '198.51.100.1', family: 4, proto: 'udp', port: 1194 },
    { address: '203.0.113.10', family: 4, proto: 'tcp', port: 443 },
    { address: '2001:db8::10', family: 6, proto: 'tcp', port: 443 },
  ]);
  assert.deepEqual(ks.state.tunDevs, ['tun0']);
  lookups.length = 0;
  assert.deepEqual(await ks.resolve('vpn.example.com', 443, 'inet6'), { address: '2001:db8::10', port: 443, family: 6 });
  assert.deepEqual(await ks.resolve('vpn.example.com', 443, 'any'), { address: '203.0.113.10', port: 443, family: 4 });
  assert.deepEqual(lookups, [], 'pinned: no DNS query while the rules are in');
  await ks.remove();
  await ks.remove();
  assert.equal(firewall.table, false);
  assert.equal(journal.recorded, undefined);
  assert.equal(firewall.applied.length, 2, 'remove is idempotent');
});

test('kill switch: allow() and setTunDev() replace the rules only for something new', async () => {
  const firewall = new MemoryFirewall();
  const o = options(['remote 198.51.100.1 1194 udp', 'kill-switch']);
  const ks = await KillSwitch.install(o, 'tun0', { firewall, journal: new MemoryFirewallJournal(), log: new MemoryLogger(), lookupAll });
  const ce = o.connections[0]!;
  await ks.allow(ce, { address: '198.51.100.1', port: 1194, family: 4 }, undefined);
  await ks.setTunDev('tun0');
  assert.equal(firewall.applied.length, 1);
  await ks.allow(ce, { address: '198.51.100.2', port: 1194, family: 4 }, undefined);
  await ks.setTunDev('tun1');
  assert.equal(firewall.applied.length, 3);
  assert.deepEqual(ks.state.tunDevs, ['tun1']);
  assert.ok(ks.state.endpoints.some((e) => e.address === '198.51.100.2'));
  await ks.remove();
  await ks.setTunDev('tun2');
  assert.equal(firewall.table, false, 'nothing is re-installed after remove');
});

test('kill switch: proxies are allowed instead of the server (SOCKS over UDP: every UDP port of the proxy)', () => {
  const o = options(['remote vpn.example.com 1194 udp', 'socks-proxy 192.0.2.5 1080']);
  const ce = o.connections[0]!;
  const proxy = { kind: 'socks' as const, endpoint: { address: '192.0.2.5', port: 1080, family: 4 as const } };
  assert.deepEqual(endpointsOf(ce, { address: '203.0.113.10', port: 1194, family: 4 }, proxy), [
    { address: '192.0.2.5', family: 4, proto: 'tcp', port: 1080 },
    { address: '192.0.2.5', family: 4, proto: 'udp', port: undefined },
  ]);
  const http = { kind: 'http' as const, endpoint: proxy.endpoint };
  assert.deepEqual(endpointsOf(ce, proxy.endpoint, http), [{ address: '192.0.2.5', family: 4, proto: 'tcp', port: 1080 }]);
});

test('kill switch: a live owner in this namespace is refused; a dead one is taken over in one transaction', async () => {
  const o = options(['remote 198.51.100.1 1194 udp', 'kill-switch']);
  const log = new MemoryLogger();
  await assert.rejects(KillSwitch.install(o, 'tun0', { firewall: new MemoryFirewall(), journal: new MemoryFirewallJournal({ pid: 42, alive: true }), log, lookupAll }), /pid 42 already holds the kill switch/);
  const firewall = new MemoryFirewall();
  firewall.table = true;
  await KillSwitch.install(o, 'tun0', { firewall, journal: new MemoryFirewallJournal({ pid: 43, alive: false }), log, lookupAll });
  assert.equal(firewall.applied.length, 1, 'replaced, not removed first');
  assert.ok(log.records.some((r) => /took over the rules left by ovpn-ts pid 43/.test(r.msg)));
});

test('kill switch: an unresolvable remote fails the start before any rule; a failed nft leaves no journal', async () => {
  const firewall = new MemoryFirewall();
  const journal = new MemoryFirewallJournal();
  await assert.rejects(KillSwitch.install(options(['remote nowhere.invalid 1194', 'kill-switch']), 'tun0', { firewall, journal, log: new MemoryLogger(), lookupAll }), /cannot resolve nowhere\.invalid/);
  assert.equal(firewall.applied.length, 0);
  firewall.failNext = new Error('nft: Operation not permitted');
  await assert.rejects(KillSwitch.install(options(['remote 198.51.100.1', 'kill-switch']), 'tun0', { firewall, journal, log: new MemoryLogger(), lookupAll }), /Operation not permitted/);
  assert.equal(journal.recorded, undefined);
});

test('kill switch: without kill-switch, a dead run\'s rules are removed; a live owner\'s are left alone', async () => {
  const firewall = new MemoryFirewall();
  firewall.table = true;
  const log = new MemoryLogger();
  await removeLeftoverKillSwitch({ firewall, journal: new MemoryFirewallJournal({ pid: 7, alive: true }), log });
  assert.equal(firewall.table, true);
  const journal = new MemoryFirewallJournal({ pid: 8, alive: false });
  await removeLeftoverKillSwitch({ firewall, journal, log });
  assert.equal(firewall.table, false);
  assert.equal(journal.recorded, undefined);
});

test('kill-switch directive: no argument or lan; anything else is a config error', () => {
  assert.deepEqual(options(['remote a', 'kill-switch']).killSwitch, { lan: false });
  assert.deepEqual(options(['remote a', 'setenv opt kill-switch lan']).killSwitch, { lan: true });
  assert.equal(options(['remote a']).killSwitch, undefined);
});
