/**
 * Tier 4: the up / route-up / route-pre-down / down scripts see what the stock OpenVPN 2.6 client
 * gives them. Both clients run against the same server with a dump script (it appends `$@` and
 * `env` to a file in the lab dir, nothing else); the argument lists and environments must match
 * except for an explicit list of keys that legitimately differ. Also: script-security 1 refuses
 * to run `up` and ends the process as OpenVPN does; an `up` that exits 1 ends ovpn-ts non-zero
 * and leaves the client namespace as it was. Needs root; lab namespaces only.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientExited, networkSettled, networkSnapshot, startClient, startServer, withLab, type LabServer, type NetnsPair } from '../lab/index.ts';

const HOOKS = ['up', 'route-up', 'route-pre-down', 'down'] as const;
/** Keys whose values differ between two runs by nature (process ids, start times, the config file path). */
const DIFFERING = new Set(['daemon_pid', 'daemon_start_time', 'config', 'PWD', 'SHLVL', '_']);
const EXIT_TIMEOUT_MS = 15_000;

interface Dump {
  readonly argv: string;
  readonly env: Record<string, string>;
}

function dumpScript(lab: NetnsPair, kind: string): string {
  const path = join(lab.dir, `dump-${kind}.sh`);
  writeFileSync(path, `#!/bin/sh\n{ echo "ARGV $*"; env; echo END; } > "${lab.dir}/dump-${kind}-$script_type.txt"\n`);
  chmodSync(path, 0o755);
  return path;
}

function readDump(lab: NetnsPair, kind: string, hook: string): Dump {
  const file = join(lab.dir, `dump-${kind}-${hook}.txt`);
  assert.ok(existsSync(file), `${kind}: the ${hook} script did not run`);
  const lines = readFileSync(file, 'utf8').split('\n');
  const env: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    if (l === 'END') break;
    const eq = l.indexOf('=');
    if (eq > 0) env[l.slice(0, eq)] = l.slice(eq + 1);
  }
  return { argv: (lines[0] ?? '').replace(/^ARGV /, ''), env };
}


async function runWithDump(lab: NetnsPair, server: LabServer, kind: 'stock' | 'ovpn-ts'): Promise<Record<string, Dump>> {
  const script = dumpScript(lab, kind);
  const extra = ['script-security 2', `up "${script} first arg"`, `route-up ${script}`, `route-pre-down ${script}`, `down ${script}`, 'setenv LAB_VAR lab-value', 'setenv-safe SAFE yes'];
  const client = await startClient(lab, kind, server.clientConfig({ inline: true, extra }));
  await client.stop();
  await clientExited(client, EXIT_TIMEOUT_MS);
  return Object.fromEntries(HOOKS.map((h) => [h, readDump(lab, kind, h)]));
}

function comparable(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !DIFFERING.has(k)).sort(([a], [b]) => a.localeCompare(b)));
}

/** Both clients' dumps against one server; the argv and env of every hook must match. */
async function compareWithStock(lab: NetnsPair): Promise<Record<string, Dump>> {
  const server = await startServer(lab, 'udp-gcm-tlscrypt');
  const stock = await runWithDump(lab, server, 'stock');
  const ours = await runWithDump(lab, server, 'ovpn-ts');
  for (const hook of HOOKS) {
    const s = stock[hook];
    const o = ours[hook];
    assert.ok(s !== undefined && o !== undefined);
    assert.equal(o.argv.replace(/dump-ovpn-ts/, 'dump-stock'), s.argv, `${hook} argv`);
    assert.deepEqual(comparable(o.env), comparable(s.env), `${hook} env`);
    for (const k of ['daemon_pid', 'daemon_start_time', 'config']) assert.ok(o.env[k] !== undefined && o.env[k] !== '', `${hook}: ${k} set`);
  }
  return ours;
}

test('scripts: ovpn-ts gives up/route-up/route-pre-down/down the argv and env the stock client gives', async () => {
  await withLab(async (lab) => {
    // Default routes as on a real host, so route_net_gateway and net_gateway_ipv6 are real gateways for both.
    await lab.client.exec('ip', ['route', 'add', 'default', 'via', lab.serverAddr4]);
    await lab.client.exec('ip', ['-6', 'route', 'add', 'default', 'via', lab.serverAddr6]);
    const ours = await compareWithStock(lab);
    // what update-resolv-conf reads, and the positional arguments
    const up = ours['up'];
    assert.match(up?.env['foreign_option_2'] ?? '', /^dhcp-option DNS 10\.8\.\d+\.1$/);
    assert.match(up?.argv ?? '', /^first arg tun\d+ 1500 0 10\.8\.\d+\.\d+ 255\.255\.255\.0 init$/);
    assert.equal(up?.env['route_net_gateway'], lab.serverAddr4);
    assert.equal(up?.env['net_gateway_ipv6'], lab.serverAddr6);
    assert.equal(ours['down']?.env['signal'], 'sigterm');
  });
});

test('scripts: without a default route the env is still the stock client\'s (route_net_gateway as 2.6 exports it)', async () => {
  await withLab(async (lab) => {
    const routes = (await lab.client.exec('ip', ['-4', 'route', 'show', 'default'])).stdout.trim();
    assert.equal(routes, '', 'the lab namespace has no IPv4 default route');
    const ours = await compareWithStock(lab);
    // 2.6 on Linux: the rtnetlink lookup succeeds with no gateway, and 0.0.0.0 is exported.
    assert.equal(ours['up']?.env['route_net_gateway'], '0.0.0.0');
    assert.equal(ours['up']?.env['net_gateway_ipv6'], undefined, 'no IPv6 gateway: not set');
  });
});

test('scripts: script-security 1 does not run up and ends the process as OpenVPN does', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const script = dumpScript(lab, 'ss1');
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: ['script-security 1', `up ${script}`] }), { waitFor: null });
    await clientExited(client, EXIT_TIMEOUT_MS);
    const log = client.log();
    assert.match(log, /NOTE: starting with OpenVPN 2\.1, '--script-security 2' or higher is required/);
    assert.match(log, /WARNING: External program may not be called unless '--script-security 2' or higher is enabled/);
    assert.match(log, /WARNING: Failed running command \(--up\/--down\): disallowed by script-security setting/);
    assert.equal(client.process.exitStatus(), 'exit 1', 'OpenVPN exits with 1 when --up fails or is not allowed');
    assert.equal(existsSync(join(lab.dir, 'dump-ss1-up.txt')), false, 'the script did not run');
  });
});



test('scripts: an up script exiting 1 ends ovpn-ts non-zero and leaves the namespace clean', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt', { extraServerLines: ['push "redirect-gateway def1"'] });
    await lab.client.exec('ip', ['route', 'add', 'default', 'via', lab.serverAddr4]);
    const fail = join(lab.dir, 'fail.sh');
    writeFileSync(fail, '#!/bin/sh\necho "up script says no"\nexit 1\n');
    chmodSync(fail, 0o755);
    const down = dumpScript(lab, 'fail');
    await networkSettled(lab);
    const before = await networkSnapshot(lab);
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: ['script-security 2', `up ${fail}`, `down ${down}`] }), { waitFor: null });
    await clientExited(client, EXIT_TIMEOUT_MS);
    const log = client.log();
    assert.match(log, /up script says no/);
    assert.match(log, /WARNING: Failed running command \(--up\/--down\): external program exited with error status: 1/);
    assert.equal(client.process.exitStatus(), 'exit 1', 'OpenVPN exits with 1 when --up fails or is not allowed');
    assert.equal(existsSync(join(lab.dir, 'dump-fail-down.txt')), false, 'down does not run after a failed up (OpenVPN exits at once)');
    assert.deepEqual(await networkSnapshot(lab), before);
  });
});
