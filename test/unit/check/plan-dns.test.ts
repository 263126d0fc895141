import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../../src/config/index.ts';
import { dnsPlanLines } from '../../../src/check/plan-dns.ts';
import type { DnsFacts } from '../../../src/dns/choose.ts';
import { BASE, PKI, memFs } from '../config/memfs.ts';

const opts = (extra: string) => loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': BASE + extra, ...PKI })).options;
const PLAIN: DnsFacts = { resolvectl: undefined, resolved: 'absent', resolvConfUsesResolved: false, resolvconf: undefined };
const RESOLVED: DnsFacts = { resolvectl: '/usr/bin/resolvectl', resolved: 'running', resolvConfUsesResolved: true, resolvconf: undefined };

test('--check DNS: backend, the plan for local options with skipped profiles, and how pushed DNS is applied', () => {
  const lines = dnsPlanLines(opts('redirect-gateway def1\ndns server 1 address 10.0.0.1\ndns server 1 transport DoT\ndns server 2 address 10.0.0.2\n'), PLAIN);
  assert.deepEqual(lines.slice(0, 4), [
    'backend: resolv.conf (neither systemd-resolved nor resolvconf is in use); override with dns-backend auto|resolved|resolvconf|file',
    'from the local options: servers 10.0.0.2, default DNS route',
    'note: DNS server 1 skipped: resolv.conf cannot do DNS over TLS',
    'pushed DNS will be applied via resolv.conf [push]',
  ]);
  assert.match(lines[4] ?? '', /restored byte for byte on exit; journal/);
});

test('--check DNS: resolved with split DNS; up script or dns-updown disable: not applied, and why', () => {
  const r = dnsPlanLines(opts('dhcp-option DNS 10.0.0.1\ndhcp-option DOMAIN corp.example\n'), RESOLVED);
  assert.equal(r[1], 'from the local options: servers 10.0.0.1, search corp.example, split DNS');
  assert.match(dnsPlanLines(opts('script-security 2\nup /etc/openvpn/update-resolv-conf\n'), RESOLVED)[0] ?? '', /^not applied by ovpn-ts: the config has its own up script/);
  assert.deepEqual(dnsPlanLines(opts('dns-updown disable\n'), RESOLVED), ['not applied by ovpn-ts: dns-updown disable']);
  assert.deepEqual(dnsPlanLines(opts('dns-backend resolvconf\n'), PLAIN), ['cannot apply DNS: dns-backend resolvconf: resolvconf is not installed (the start fails)']);
  assert.deepEqual(dnsPlanLines(opts('dev null\n'), PLAIN), []);
});
