/**
 * The DNS planner against vectors: local config text + a PUSH_REPLY through the real config
 * table, then what each backend would apply (OpenVPN 2.7's options.c/dns.c rules and its
 * dns-updown scripts' profile choice; docs/dns.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.ts';
import { parsePushOptions } from '../../../src/config/push.ts';
import { dnsSettings, nativeDnsDecision, planDns, redirectsDefault, resolvConfText, describePlan } from '../../../src/dns/plan.ts';
import { resolvConfCaps } from '../../../src/dns/backend.ts';
import { RESOLVED_CAPS, resolvectlCommands } from '../../../src/dns/resolved.ts';
import { BASE, PKI, memFs } from '../config/memfs.ts';

const FILE = resolvConfCaps('resolv.conf', 6);

function opts(local: string, pushed: readonly string[] = []) {
  const base = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': BASE + local, ...PKI })).options;
  const r = parsePushOptions(pushed, base);
  assert.deepEqual(r.ignored, []);
  return r.options;
}

function plan(o: ReturnType<typeof opts>, caps = RESOLVED_CAPS) {
  return planDns(dnsSettings(o), caps, { redirect: redirectsDefault(o), ipv4: true, ipv6: true });
}

test('dhcp-option only: one profile of priority 0, IPv4 before IPv6, DOMAIN then DOMAIN-SEARCH', () => {
  const o = opts('', ['dhcp-option DNS6 fd00::53', 'dhcp-option DNS 10.8.0.1', 'dhcp-option DOMAIN-SEARCH b.example', 'dhcp-option DOMAIN a.example', 'dhcp-option DNS fd00::54']);
  const s = dnsSettings(o);
  assert.equal(s.source, 'dhcp-option');
  assert.deepEqual(s.profiles.map((p) => [p.priority, p.addresses.map((a) => a.ip)]), [[0, ['10.8.0.1', 'fd00::53', 'fd00::54']]]);
  assert.deepEqual(s.searchDomains, ['a.example', 'b.example']);
});

test('ADAPTER_DOMAIN_SUFFIX is DOMAIN; the last one wins; local and pushed dhcp-options add up', () => {
  const o = opts('dhcp-option DNS 192.0.2.53\ndhcp-option DOMAIN local.example\n', ['dhcp-option DNS 10.8.0.1', 'dhcp-option ADAPTER_DOMAIN_SUFFIX vpn.example']);
  const s = dnsSettings(o);
  assert.deepEqual(s.profiles[0]?.addresses.map((a) => a.ip), ['192.0.2.53', '10.8.0.1']);
  assert.deepEqual(s.searchDomains, ['vpn.example']);
});

test('search domains without a server apply nothing', () => {
  const s = dnsSettings(opts('', ['dhcp-option DOMAIN vpn.example']));
  assert.equal(s.source, 'none');
  assert.equal(plan(opts('', ['dhcp-option DOMAIN vpn.example'])).plan, undefined);
});

test('any dns server wins over every dhcp-option DNS/DOMAIN (2.7)', () => {
  const o = opts('', ['dhcp-option DNS 10.8.0.1', 'dhcp-option DOMAIN old.example', 'dns server 1 address 10.8.0.53', 'dns search-domains new.example']);
  const s = dnsSettings(o);
  assert.equal(s.source, 'dns');
  assert.deepEqual(s.profiles.map((p) => p.addresses.map((a) => a.ip)), [['10.8.0.53']]);
  assert.deepEqual(s.searchDomains, ['new.example']);
});

test('a pushed dns server replaces the local profile of the same priority; others merge by priority', () => {
  const o = opts('dns server 1 address 192.0.2.1\ndns server 1 resolve-domains corp.example\ndns server -5 address 192.0.2.5\ndns server 9 address 192.0.2.9\n',
    ['dns server 1 address 10.8.0.1', 'dns server 1 address 10.8.0.2', 'dns server 3 address 10.8.0.3']);
  const s = dnsSettings(o);
  assert.deepEqual(s.profiles.map((p) => [p.priority, p.addresses.map((a) => a.ip), p.resolveDomains]), [
    [-5, ['192.0.2.5'], []], [1, ['10.8.0.1', '10.8.0.2'], []], [3, ['10.8.0.3'], []], [9, ['192.0.2.9'], []],
  ]);
});

test('a pushed dns server priority must be 0..127', () => {
  const base = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': BASE, ...PKI })).options;
  const r = parsePushOptions(['dns server -1 address 10.8.0.1'], base);
  assert.equal(r.ignored.length, 1);
});

test('resolved: redirect-gateway makes the tun link the default DNS route (~.)', () => {
  const p = plan(opts('redirect-gateway def1\n', ['dhcp-option DNS 10.8.0.1', 'dhcp-option DOMAIN vpn.example'])).plan;
  assert.deepEqual([p?.routingDomains, p?.defaultRoute, p?.searchDomains], [['.'], true, ['vpn.example']]);
  assert.deepEqual(resolvectlCommands('tun0', p!), [
    ['dns', 'tun0', '10.8.0.1'], ['domain', 'tun0', 'vpn.example', '~.'], ['default-route', 'tun0', 'yes'],
  ]);
});

test('resolved: without redirect-gateway the search domains are split DNS; with no domain at all ~.', () => {
  const split = plan(opts('', ['dhcp-option DNS 10.8.0.1', 'dhcp-option DOMAIN vpn.example']));
  assert.deepEqual([split.plan?.routingDomains, split.plan?.defaultRoute], [[], false]);
  assert.match(split.notes.join('\n'), /only names under vpn\.example/);
  const bare = plan(opts('', ['dhcp-option DNS 10.8.0.1'])).plan;
  assert.deepEqual([bare?.routingDomains, bare?.defaultRoute], [['.'], true]);
});

test('resolved: resolve-domains are routing domains (split DNS), even with redirect-gateway', () => {
  const p = plan(opts('redirect-gateway def1\n', ['dns server 0 address 10.8.0.1', 'dns server 0 resolve-domains corp.example lab.example', 'dns search-domains lab.example'])).plan;
  assert.deepEqual(resolvectlCommands('tun1', p!), [
    ['dns', 'tun1', '10.8.0.1'], ['domain', 'tun1', 'lab.example', '~corp.example'], ['default-route', 'tun1', 'no'],
  ]);
});

test('resolved: DoT with SNI and port, DNSSEC optional; DoH is skipped for the next profile', () => {
  const o = opts('redirect-gateway def1\n', [
    'dns server 1 address 10.8.0.1', 'dns server 1 transport DoH',
    'dns server 2 address [fd00::53]:853 10.8.0.2:853', 'dns server 2 transport DoT', 'dns server 2 sni dns.example', 'dns server 2 dnssec optional',
  ]);
  const r = plan(o);
  assert.deepEqual(r.notes, ['DNS server 1 skipped: DNS over HTTPS is not supported by any backend']);
  assert.deepEqual(resolvectlCommands('tun0', r.plan!), [
    ['dns', 'tun0', '[fd00::53]:853#dns.example', '10.8.0.2:853#dns.example'], ['domain', 'tun0', '~.'], ['default-route', 'tun0', 'yes'],
    ['dnssec', 'tun0', 'allow-downgrade'], ['dnsovertls', 'tun0', 'yes'],
  ]);
});

test('resolv.conf: DoT, DNSSEC and other ports are skipped with a reason; no compatible profile says so', () => {
  const o = opts('', ['dns server 1 address 10.8.0.1', 'dns server 1 transport DoT', 'dns server 2 address 10.8.0.2', 'dns server 2 dnssec yes',
    'dns server 3 address 10.8.0.3:5353', 'dns server 4 address 10.8.0.4 10.8.0.5 10.8.0.6 10.8.0.7']);
  const r = plan(o, FILE);
  assert.deepEqual(r.notes, [
    'DNS server 1 skipped: resolv.conf cannot do DNS over TLS',
    'DNS server 2 skipped: resolv.conf cannot enforce DNSSEC yes',
    'DNS server 3 skipped: resolv.conf cannot use a port other than 53',
    'DNS server 4: only the first 3 of 4 addresses are used by resolv.conf',
  ]);
  assert.equal(resolvConfText(r.plan!, 'tun0'), '# Generated by ovpn-ts for tun0\nnameserver 10.8.0.4\nnameserver 10.8.0.5\nnameserver 10.8.0.6\n');
  const none = plan(opts('', ['dns server 1 address 10.8.0.1', 'dns server 1 transport DoT']), FILE);
  assert.equal(none.plan, undefined);
  assert.deepEqual(none.notes.at(-1), 'setting DNS failed, no compatible server profile');
});

test('resolv.conf: split DNS cannot be expressed: the servers answer everything, said once', () => {
  const r = plan(opts('', ['dns server 0 address 10.8.0.1', 'dns server 0 resolve-domains corp.example', 'dns search-domains a.example']), FILE);
  assert.deepEqual([r.plan?.defaultRoute, r.plan?.routingDomains], [true, []]);
  assert.match(r.notes.join('\n'), /resolv\.conf cannot do split DNS/);
  assert.equal(resolvConfText(r.plan!, 'tun0'), '# Generated by ovpn-ts for tun0\nnameserver 10.8.0.1\nsearch a.example\n');
});

test('a server only of a family the tunnel lacks is named unreachable', () => {
  const o = opts('', ['dhcp-option DNS6 fd00::53']);
  const r = planDns(dnsSettings(o), FILE, { redirect: false, ipv4: true, ipv6: false });
  assert.match(r.notes.join('\n'), /only has IPv6 address\(es\) and the tunnel has no IPv6: it will not be reachable/);
});

test('dns-updown: on by default, off with an up script, force / disable / a command', () => {
  const d = (text: string) => nativeDnsDecision(opts(text));
  assert.deepEqual(d(''), { on: true, why: 'default' });
  assert.equal(d('script-security 2\nup /etc/openvpn/update-resolv-conf\n').on, false);
  assert.equal(d('script-security 2\nup /etc/openvpn/update-resolv-conf\ndns-updown force\n').on, true);
  assert.equal(d('dns-updown disable\n').on, false);
  const cmd = d('dns-updown /usr/local/bin/my-dns\n');
  assert.equal(cmd.on, false);
  assert.match(cmd.why, /dns-updown \/usr\/local\/bin\/my-dns: DNS is left to that command/);
  assert.equal(d('dns-updown /usr/local/bin/my-dns\ndns-updown force\n').on, false, 'force does not override a command (options.c)');
  assert.equal(d('dns-updown force\ndns-updown disable\n').on, false);
});

test('dns-updown COMMAND warns that the command is not run', () => {
  const r = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': BASE + 'dns-updown /usr/local/bin/my-dns\n', ...PKI }));
  assert.match(r.warnings.map((w) => w.message).join('\n'), /ovpn-ts does not run dns-updown commands: \/usr\/local\/bin\/my-dns is not run/);
});

test('describePlan says what goes where', () => {
  const p = plan(opts('redirect-gateway def1\n', ['dhcp-option DNS 10.8.0.1', 'dhcp-option DOMAIN vpn.example'])).plan!;
  assert.equal(describePlan(p), 'servers 10.8.0.1, search vpn.example, routing ~., default DNS route');
});
