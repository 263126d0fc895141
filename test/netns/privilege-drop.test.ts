/**
 * Tier 4: `user nobody` + `group nogroup` against the real OpenVPN 2.6 server, with the kill switch
 * (real nft), pushed DNS (the file backend on the lab's private resolv.conf), pushed routes and
 * redirect-gateway. Once connected the process is nobody/nogroup with exactly CAP_NET_ADMIN; the
 * server is restarted, the client reconnects and the tunnel carries traffic again; after SIGTERM the
 * namespace's addresses, links, routes, nft ruleset and resolv.conf are what they were, the
 * journals are gone and so is the privileged helper. Scripts after the drop run as nobody (up: root,
 * down: nobody, as in 2.6). Without persist-tun the device is reopened when nobody may open
 * /dev/net/tun (a 0666 node bound over it in the client's private mount namespace, the usual udev
 * mode), and the process exits as 2.6 does when it may not (0600). After SIGKILL the next start,
 * as root, repairs everything. Needs root; lab namespaces and private mount namespaces only.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { clientExited, INIT_COMPLETE, isAlive, labResolvConf, networkSettled, networkSnapshot, ping, startClient, startServer, waitForLog, withLab, type LabClient, type LabServer, type NetnsPair } from '../lab/index.ts';
import { eventually } from './helpers/probes.ts';

const EXIT_TIMEOUT_MS = 15_000;
/** The lab pushes keepalive 2 10: a vanished server is noticed by ping-restart within ~10 s. */
const RESTART_TIMEOUT_MS = 45_000;
const RECONNECT_TIMEOUT_MS = 60_000;
const NOBODY = 65534;
/** CAP_NET_ADMIN (12) alone, as /proc/PID/status prints a capability set. */
const NET_ADMIN_ONLY = '0000000000001000';
const OWNER_DIR = '/run/ovpn-ts';

interface State {
  readonly net: Record<string, unknown>;
  readonly ruleset: unknown;
  readonly resolvConf: string;
}

async function state(lab: NetnsPair): Promise<State> {
  return {
    net: await networkSnapshot(lab),
    ruleset: JSON.parse((await lab.client.exec('nft', ['-j', 'list', 'ruleset'])).stdout) as unknown,
    resolvConf: readFileSync(labResolvConf(lab), 'utf8'),
  };
}

function status(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

function assertDropped(pid: number, tag: string): void {
  const s = status(pid);
  assert.equal(s['Uid'], `${NOBODY}\t${NOBODY}\t${NOBODY}\t${NOBODY}`, `${tag}: uid nobody (real, effective, saved, fs)`);
  assert.equal(s['Gid'], `${NOBODY}\t${NOBODY}\t${NOBODY}\t${NOBODY}`, `${tag}: gid nogroup`);
  assert.equal(s['Groups'], '', `${tag}: no supplementary groups`);
  assert.equal(s['CapEff'], NET_ADMIN_ONLY, `${tag}: effective capabilities`);
  assert.equal(s['CapPrm'], NET_ADMIN_ONLY, `${tag}: permitted capabilities`);
  assert.equal(s['CapInh'], '0000000000000000', `${tag}: nothing inheritable`);
  assert.equal(s['CapAmb'], '0000000000000000', `${tag}: nothing ambient`);
}

/** The privileged helper: the client's child process (it stays root). */
function helperPid(pid: number): number {
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((x) => x !== '').map(Number);
  const helper = kids.find((k) => /(privsep|bin)\/helper\.js/.test(readFileSync(`/proc/${k}/cmdline`, 'utf8')));
  assert.ok(helper !== undefined, `the privileged helper runs beside ${pid}`);
  return helper;
}

async function netnsInode(lab: NetnsPair): Promise<string> {
  return /\d+/.exec((await lab.client.exec('readlink', ['/proc/self/ns/net'])).stdout)?.[0] ?? 'none';
}

/** Journal files of the client namespace under /run/ovpn-ts (route, dns/, firewall/). */
function journals(inode: string): string[] {
  const out: string[] = [];
  for (const dir of [OWNER_DIR, join(OWNER_DIR, 'dns'), join(OWNER_DIR, 'firewall')]) {
    if (!existsSync(dir)) continue;
    out.push(...readdirSync(dir).filter((f) => f.startsWith(`${inode}-`)).map((f) => join(dir, f)));
  }
  return out;
}

const count = (text: string, re: RegExp): number => text.split('\n').filter((l) => re.test(l)).length;

/**
 * The lab's private mount namespace (resolv.conf bound to the lab file), plus a tun node of the
 * given mode bound over /dev/net/tun there: a fresh node on a private tmpfs, never the host's.
 */
function wrapper(lab: NetnsPair, tunMode: '666' | '600'): string[] {
  const dir = join(lab.dir, `devtun-${tunMode}`);
  const script = 'mount --bind "$0" /etc/resolv.conf && mkdir -p "$1" && mount -t tmpfs -o mode=755 tmpfs "$1" && mknod -m "$2" "$1/tun" c 10 200 && mount --bind "$1/tun" /dev/net/tun && shift 2 && exec "$@"';
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, labResolvConf(lab), dir, tunMode];
}

async function restartServer(lab: NetnsPair, server: LabServer, client: LabClient, n: number): Promise<() => Promise<void>> {
  await server.stop();
  await waitForLog(client.process, /restarting/, { timeoutMs: RESTART_TIMEOUT_MS });
  const again = lab.server.spawn('openvpn', ['--config', server.configFile], { name: `openvpn-server-again-${n}`, logFile: `${server.logFile}.again${n}` });
  await waitForLog(again, INIT_COMPLETE, { timeoutMs: 15_000 });
  assert.ok(await eventually(() => count(client.log(), INIT_COMPLETE) >= 2, RECONNECT_TIMEOUT_MS), `reconnected:\n${client.log()}`);
  return () => again.stop();
}

async function setUp(lab: NetnsPair): Promise<{ server: LabServer; before: State }> {
  // A default route as on a real host: redirect-gateway adds a bypass route outside the tun.
  await lab.client.exec('ip', ['route', 'add', 'default', 'via', lab.serverAddr4]);
  const server = await startServer(lab, 'udp-gcm-tlscrypt', { extraServerLines: ['push "redirect-gateway def1"'] });
  await networkSettled(lab);
  return { server, before: await state(lab) };
}

test('privilege drop: as nobody with CAP_NET_ADMIN only, reconnects after a server restart; SIGTERM restores the namespace', async () => {
  await withLab(async (lab) => {
    const { server, before } = await setUp(lab);
    const inode = await netnsInode(lab);
    // Scripts where nobody can run them and write what `id -u` says.
    const scripts = mkdtempSync(join(tmpdir(), 'ovts-priv-'));
    try {
      chmodSync(scripts, 0o777);
      const script = join(scripts, 'whoami.sh');
      writeFileSync(script, `#!/bin/sh\nid -u > "${scripts}/$script_type.uid"\n`, { mode: 0o755 });
      const extra = ['user nobody', 'group nogroup', 'persist-tun', 'persist-key', 'script-security 2', `up ${script}`, `down ${script}`, 'dns-updown force'];
      const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra }), { args: ['--kill-switch'] });
      await waitForLog(client.process, /Capabilities retained: CAP_NET_ADMIN/, { timeoutMs: 5_000 });
      const log = client.log();
      assert.ok(log.indexOf('UID set to nobody') > log.indexOf('Initialization Sequence Completed'), 'the drop follows the first connection');
      assert.match(log, /GID set to nogroup/);
      assertDropped(client.pid, 'connected');
      const helper = helperPid(client.pid);
      assert.equal(status(helper)['Uid']?.split('\t')[0], '0', 'the helper stays root');
      assert.match(readFileSync(labResolvConf(lab), 'utf8'), /nameserver 10\.8\.0\.1/, 'the pushed DNS is in resolv.conf');
      assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3, 'the tunnel works');
      assert.ok(journals(inode).length >= 3, 'route, DNS and kill switch journals are written (by the helper)');

      const stopAgain = await restartServer(lab, server, client, 1);
      try {
        assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3, 'the tunnel works after the reconnect');
        assertDropped(client.pid, 'reconnected');
        assert.match(client.log(), /Preserving previous TUN\/TAP instance/);
        process.kill(client.pid, 'SIGTERM');
        await clientExited(client, EXIT_TIMEOUT_MS);
      } finally {
        await stopAgain();
      }
      const end = client.log();
      assert.match(end, /kill switch: rules removed/);
      assert.match(end, /DNS on tun\d+ reverted/);
      assert.doesNotMatch(end, /cannot undo|ERROR|cannot remove/, 'a clean teardown');
      assert.deepEqual(await state(lab), before, 'addresses, links, routes, nft ruleset and resolv.conf as before');
      assert.deepEqual(journals(inode), [], 'no journal left');
      assert.ok(await eventually(() => !isAlive(helper), 5_000), 'the helper exited with the client');
      assert.equal(readFileSync(join(scripts, 'up.uid'), 'utf8').trim(), '0', 'up runs before the drop, as root');
      assert.equal(readFileSync(join(scripts, 'down.uid'), 'utf8').trim(), String(NOBODY), 'down runs as nobody, as in 2.6');
    } finally {
      rmSync(scripts, { recursive: true, force: true });
    }
  });
});

test('privilege drop without persist-tun: the device is reopened when nobody may open /dev/net/tun, and the process exits as 2.6 when not', async () => {
  await withLab(async (lab) => {
    const { server, before } = await setUp(lab);
    const extra = ['user nobody', 'group nogroup'];
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra }), { wrapper: [...wrapper(lab, '666')], args: ['--dns-backend', 'file', '--kill-switch'] });
    await waitForLog(client.process, /Capabilities retained: CAP_NET_ADMIN/, { timeoutMs: 5_000 });
    assertDropped(client.pid, 'connected');
    const stopAgain = await restartServer(lab, server, client, 1);
    try {
      assert.match(client.log(), /Closing TUN\/TAP interface/);
      assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3, 'the tunnel works on the reopened device');
      process.kill(client.pid, 'SIGTERM');
      await clientExited(client, EXIT_TIMEOUT_MS);
      assert.deepEqual(await state(lab), before, 'restored after SIGTERM');

      // /dev/net/tun 0600: nobody cannot reopen it; 2.6 says "Cannot open TUN/TAP dev" and exits.
      const denied = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra }), { wrapper: [...wrapper(lab, '600')], args: ['--dns-backend', 'file'] });
      await waitForLog(denied.process, /Capabilities retained/, { timeoutMs: 5_000 });
      await stopAgain();
      await waitForLog(denied.process, /restarting/, { timeoutMs: RESTART_TIMEOUT_MS });
      const third = await restartServerOnly(lab, server, 2);
      try {
        await clientExited(denied, RECONNECT_TIMEOUT_MS);
        assert.match(denied.log(), /ERROR: Cannot open TUN\/TAP dev \/dev\/net\/tun: EACCES: Permission denied/);
        assert.notEqual(denied.process.exitStatus(), 'exit 0');
        assert.deepEqual(await state(lab), before, 'restored after the fatal error');
      } finally {
        await third();
      }
    } finally {
      await stopAgain();
    }
  });
});

async function restartServerOnly(lab: NetnsPair, server: LabServer, n: number): Promise<() => Promise<void>> {
  const again = lab.server.spawn('openvpn', ['--config', server.configFile], { name: `openvpn-server-again-${n}`, logFile: `${server.logFile}.again${n}` });
  await waitForLog(again, INIT_COMPLETE, { timeoutMs: 15_000 });
  return () => again.stop();
}

test('privilege drop: after SIGKILL the next start, as root, repairs routes, DNS and the kill switch', async () => {
  await withLab(async (lab) => {
    const { server, before } = await setUp(lab);
    const inode = await netnsInode(lab);
    const config = server.clientConfig({ inline: true, extra: ['user nobody', 'group nogroup', 'persist-tun'] });
    const killed = await startClient(lab, 'ovpn-ts', config, { args: ['--kill-switch'] });
    await waitForLog(killed.process, /Capabilities retained/, { timeoutMs: 5_000 });
    const helper = helperPid(killed.pid);
    process.kill(killed.pid, 'SIGKILL');
    await clientExited(killed, EXIT_TIMEOUT_MS);
    assert.ok(await eventually(() => !isAlive(helper), 5_000), 'the helper exits when the client dies');
    assert.ok(journals(inode).length >= 3, `the journals stay for the repair: ${journals(inode).join(', ')}`);

    const next = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true }));
    const log = next.log();
    assert.match(log, /repaired \d+ leftover network change\(s\)/);
    assert.match(log, /DNS repair: \/etc\/resolv\.conf restored/);
    assert.match(log, /kill switch: removed the rules left by ovpn-ts pid \d+/);
    process.kill(next.pid, 'SIGTERM');
    await clientExited(next, EXIT_TIMEOUT_MS);
    assert.deepEqual(await state(lab), before);
    const left = journals(inode);
    // what is left, and the run that should have removed it, so a failure says why
    const detail = left.map((f) => `${f}: ${readFileSync(f, 'utf8')}`).join('\n');
    assert.deepEqual(left, [], `journals left after a clean exit:\n${detail}\n--- client log ---\n${next.log()}`);
  });
});
