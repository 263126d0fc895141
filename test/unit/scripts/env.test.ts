/**
 * The scripts' env and argv against what OpenVPN 2.6.14 really exported in the lab: the stock
 * client connected to `startServer(lab, 'udp-gcm-tlscrypt')` with `up/route-up/route-pre-down/down`
 * set to a script writing `$*` and `env` (test/netns/scripts.test.ts does the same live). The
 * PUSH_REPLY and the values below are copied from that capture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parsePushOptions, type ClientOptions } from '../../../src/config/index.ts';
import { foreignOptions, hookArgv, scriptEnv, setenvStr, splitCommand, tlsEnv, type TunnelFacts } from '../../../src/scripts/env.ts';
import { ScriptHooks } from '../../../src/scripts/hooks.ts';
import type { ScriptResult } from '../../../src/scripts/run.ts';
import { MemoryLogger } from '../../../src/log/logger.ts';
import { ScriptError } from '../../../src/base/errors.ts';
import { BASE, PKI, memFs } from '../config/memfs.ts';

/** The lab server's PUSH_REPLY (OpenVPN 2.6.14, profile udp-gcm-tlscrypt). */
const REPLY = ['route 10.99.0.0 255.255.0.0', 'route-ipv6 fd00:99::/64', 'dhcp-option DNS 10.8.0.1', 'dhcp-option DOMAIN lab.invalid',
  'dns server 1 address 10.8.0.1', 'dns search-domains lab.invalid', 'route-gateway 10.8.0.1', 'topology subnet', 'ping 2',
  'ping-restart 10', 'ifconfig-ipv6 fd00:8::1000/64 fd00:8::1', 'ifconfig 10.8.0.2 255.255.255.0', 'peer-id 0', 'cipher AES-256-GCM', 'tun-mtu 1500'];

function options(extra = ''): ClientOptions {
  const base = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': BASE + extra, ...PKI })).options;
  return parsePushOptions(REPLY, base).options;
}

function facts(o: ClientOptions): TunnelFacts {
  return { options: o, remote: { address: '198.18.103.1', port: 1194, family: 4 }, peerChain: [], dev: 'tun0', devType: 'tun', tunMtu: 1500, netGateway: '198.18.103.1' };
}

const PROC = { configFile: '/tmp/a.ovpn', pid: 42, startTime: 1_795_625_297 };

test('env of the up script: the variables and values the stock client exported', () => {
  const env = scriptEnv(PROC, facts(options('setenv FOO bar\n')), { scriptType: 'up', context: 'init' });
  const expected: Record<string, string> = {
    route_vpn_gateway: '10.8.0.1', script_type: 'up', ifconfig_ipv6_remote: 'fd00:8::1', proto_1: 'udp', daemon: '0', daemon_log_redirect: '0',
    foreign_option_1: 'dhcp-option DOMAIN lab.invalid', foreign_option_2: 'dhcp-option DNS 10.8.0.1', foreign_option_3: 'dhcp-option DOMAIN-SEARCH lab.invalid',
    dev_type: 'tun', route_network_1: '10.99.0.0', route_netmask_1: '255.255.0.0', route_gateway_1: '10.8.0.1', dev: 'tun0',
    dns_search_domain_1: 'lab.invalid', dns_server_1_address_1: '10.8.0.1', ifconfig_netmask: '255.255.255.0', ifconfig_local: '10.8.0.2',
    script_context: 'init', verb: '1', FOO: 'bar', tun_mtu: '1500', route_ipv6_network_1: 'fd00:99::/64', route_ipv6_gateway_1: 'fd00:8::1',
    trusted_ip: '198.18.103.1', trusted_port: '1194', untrusted_ip: '198.18.103.1', untrusted_port: '1194', route_net_gateway: '198.18.103.1',
    ifconfig_ipv6_local: 'fd00:8::1000', ifconfig_ipv6_netbits: '64', remote_1: 'vpn.example.invalid', remote_port_1: '1194',
    config: '/tmp/a.ovpn', daemon_pid: '42', daemon_start_time: '1795625297',
  };
  assert.deepEqual(Object.fromEntries(Object.entries(env).sort()), Object.fromEntries(Object.entries(expected).sort()));
});

test('down gets signal and redirect_gateway; route-up gets no positional arguments', () => {
  const f = facts(options());
  const down = scriptEnv(PROC, f, { scriptType: 'down', context: 'init', signal: 'sigterm', redirectGateway: false });
  assert.equal(down['signal'], 'sigterm');
  assert.equal(down['redirect_gateway'], '0');
  assert.deepEqual(hookArgv('/x/dump.sh', f, { scriptType: 'down', context: 'init' }), ['/x/dump.sh', 'tun0', '1500', '0', '10.8.0.2', '255.255.255.0', 'init']);
  assert.deepEqual(hookArgv('"/x/dump.sh" a', f, { scriptType: 'up', context: 'restart' }), ['/x/dump.sh', 'a', 'tun0', '1500', '0', '10.8.0.2', '255.255.255.0', 'restart']);
  assert.deepEqual(hookArgv('/x/dump.sh a', f, { scriptType: 'route-up', context: 'init' }), ['/x/dump.sh', 'a']);
});

test('net30 exports ifconfig_remote and uses it as the vpn gateway', () => {
  const o = parsePushOptions(['ifconfig 10.8.0.6 10.8.0.5', 'route 10.1.0.0 255.255.0.0'], loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': BASE, ...PKI })).options).options;
  const env = scriptEnv(PROC, facts(o), { scriptType: 'up', context: 'init' });
  assert.equal(env['ifconfig_remote'], '10.8.0.5');
  assert.equal(env['ifconfig_netmask'], undefined);
  assert.equal(env['route_vpn_gateway'], '10.8.0.5');
  assert.equal(env['route_gateway_1'], '10.8.0.5');
});

test('foreign_option_N: dhcp-options in order; --dns replaces DNS* and DOMAIN-SEARCH entries (options.c foreign_options_copy_dns)', () => {
  const base = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': BASE, ...PKI })).options;
  const only = parsePushOptions(['dhcp-option DNS 1.1.1.1', 'dhcp-option DOMAIN-SEARCH a.test', 'dhcp-option DNS6 2001:db8::1'], base).options;
  assert.deepEqual(foreignOptions(only), ['dhcp-option DNS 1.1.1.1', 'dhcp-option DOMAIN-SEARCH a.test', 'dhcp-option DNS6 2001:db8::1']);
  const both = parsePushOptions(['dhcp-option DNS 1.1.1.1', 'dhcp-option DOMAIN x.test', 'dhcp-option DNS6 2001:db8::1', 'dns server 2 address 9.9.9.9 2001:db8::9', 'dns server 1 address 8.8.8.8'], base).options;
  assert.deepEqual(foreignOptions(both), ['dhcp-option DOMAIN x.test', 'dhcp-option DNS 8.8.8.8', 'dhcp-option DNS 9.9.9.9', 'dhcp-option DNS6 2001:db8::9']);
});

test('tls env: the stock client exported these for the lab CA and server certificate', () => {
  const env = tlsEnv([
    { subject: [['CN', 'server']], sha1: '02:CD:DC:ED:60:49:66:BB:84:9A:9A:3E:6C:FD:70:E5:0A:45:6C:76', sha256: 'EC:35', serialHex: '1000' },
    { subject: [['CN', 'ovts-lab-ca-rsa']], sha1: '1F:85', sha256: 'C7:9F', serialHex: '79DF8CE426FE5D8E4D33318ADBA36C1C1535A5D1' },
  ]);
  assert.equal(env['tls_serial_0'], '4096');
  assert.equal(env['tls_serial_hex_0'], '10:00');
  assert.equal(env['tls_digest_0'], '02:cd:dc:ed:60:49:66:bb:84:9a:9a:3e:6c:fd:70:e5:0a:45:6c:76');
  assert.equal(env['tls_serial_1'], '695773222805198420581552172333052730924451866065');
  assert.equal(env['tls_serial_hex_1'], '79:df:8c:e4:26:fe:5d:8e:4d:33:31:8a:db:a3:6c:1c:15:35:a5:d1');
  assert.equal(env['X509_1_CN'], 'ovts-lab-ca-rsa');
  assert.equal(env['tls_id_0'], 'CN=server');
  assert.equal(env['common_name'], 'server');
});

test('splitCommand: quotes and escapes as a config line, no shell', () => {
  assert.deepEqual(splitCommand(`/etc/openvpn/update-resolv-conf`), ['/etc/openvpn/update-resolv-conf']);
  assert.deepEqual(splitCommand(`'/a b/c' "d e" f\\ g $HOME;x`), ['/a b/c', 'd e', 'f g', '$HOME;x']);
});

function recorder(result: ScriptResult = { ok: true }) {
  const calls: { argv: readonly string[]; env: Readonly<Record<string, string>> }[] = [];
  return { calls, runner: async (argv: readonly string[], env: Readonly<Record<string, string>>) => { calls.push({ argv, env }); return result; } };
}

test('ScriptHooks: script-security 1 does not run up and fails it as OpenVPN does', async () => {
  const o = options('up /x/up.sh\nroute-up /x/ru.sh\n');
  const rec = recorder();
  const log = new MemoryLogger();
  const hooks = new ScriptHooks(o, { log, runner: rec.runner, process: PROC });
  await assert.rejects(hooks.up(facts(o), 'init'), (e: unknown) => e instanceof ScriptError && /disallowed by script-security setting/.test(e.message));
  await hooks.routeUp(facts(o), false);
  assert.equal(rec.calls.length, 0);
  const msgs = log.records.map((r) => r.msg);
  assert.equal(msgs.filter((m) => m.startsWith("WARNING: External program may not be called")).length, 1, 'warned once');
  assert.ok(msgs.includes('WARNING: Failed running command (--route-up): disallowed by script-security setting'));
});

test('ScriptHooks: script-security 2 runs with the env; a failing up throws, a failing route-up warns', async () => {
  const o = options('script-security 2\nup /x/up.sh\nroute-up /x/ru.sh\ndown /x/down.sh\n');
  const ok = recorder();
  const hooks = new ScriptHooks(o, { log: new MemoryLogger(), runner: ok.runner, process: PROC });
  await hooks.up(facts(o), 'init');
  await hooks.down(facts(o), 'init', 'sigterm', false);
  assert.deepEqual(ok.calls.map((c) => [c.argv[0], c.env['script_type']]), [['/x/up.sh', 'up'], ['/x/down.sh', 'down']]);
  assert.equal(ok.calls[0]?.env['foreign_option_2'], 'dhcp-option DNS 10.8.0.1');
  const bad = recorder({ ok: false, why: 'external program exited with error status: 1' });
  const log = new MemoryLogger();
  const failing = new ScriptHooks(o, { log, runner: bad.runner, process: PROC });
  await assert.rejects(failing.up(facts(o), 'init'), /external program exited with error status: 1/);
  await failing.routeUp(facts(o), false);
  assert.ok(log.records.some((r) => r.msg === 'WARNING: Failed running command (--route-up): external program exited with error status: 1'));
});

test('what the server pushed reaches scripts as setenv_str leaves it: values without non-printable characters, names only [A-Za-z0-9_]', () => {
  const base = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': BASE, ...PKI })).options;
  const pushed = parsePushOptions(['dhcp-option DOMAIN ex\u00e4mple.test', 'dhcp-option DOMAIN-SEARCH a\u0007b\u200b.test'], base).options;
  const env = scriptEnv(PROC, facts(pushed), { scriptType: 'up', context: 'init' });
  assert.equal(env['foreign_option_1'], 'dhcp-option DOMAIN exmple.test');
  assert.equal(env['foreign_option_2'], 'dhcp-option DOMAIN-SEARCH ab.test');
  for (const [k, v] of Object.entries(env)) {
    assert.match(k, /^[A-Za-z0-9_]+$/, k);
    assert.match(v, /^[\x20-\x7e]*$/, `${k}=${JSON.stringify(v)}`);
  }
  assert.deepEqual(setenvStr({ 'X509_0_e-mail': 'a\u00e9\nb', 'ok': 'x y' }), { X509_0_email: 'ab', ok: 'x y' });
});
