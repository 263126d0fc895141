/**
 * Tier 4: the kill switch (`--kill-switch`, real nft, the real OpenVPN 2.6 server, lab namespaces
 * only). A listener in the server namespace on a port that is not the VPN's stands for "the
 * internet outside the tunnel". While connected, while the server is gone and the client
 * reconnects, ping (IPv4, IPv6), UDP and TCP probes to it get nothing through; the tunnel works
 * again once the server is back; after SIGTERM `nft -j list ruleset` is what it was before.
 * After SIGKILL the rules stay (fail closed, docs/leak-protection.md): the next start with the
 * kill switch takes them over, the next start without it removes them. SIGINT and a fatal error
 * (ping-exit, server frozen) remove the rules too; a SIGHUP reload keeps them (no gap) for the next
 * run to replace; through an HTTP proxy only the proxy is allowed; `lan` opens the uplink subnet only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientExited, INIT_COMPLETE, networkSettled, ping, startClient, startServer, waitForLog, withLab, type LabClient, type LabServer, type NetnsPair } from '../lab/index.ts';
import { eventually, PROBE_PORT, startListener, tcpProbe, udpProbe, type Listener } from './helpers/probes.ts';
import { SERVER_NAME, startTinyproxy } from './helpers/proxies.ts';

const EXIT_TIMEOUT_MS = 15_000;
/** The client notices a vanished server through ping-restart (the lab pushes keepalive 2 10). */
const RESTART_TIMEOUT_MS = 45_000;
const RECONNECT_TIMEOUT_MS = 60_000;

async function ruleset(lab: NetnsPair): Promise<unknown> {
  return JSON.parse((await lab.client.exec('nft', ['-j', 'list', 'ruleset'])).stdout) as unknown;
}

async function hasTable(lab: NetnsPair): Promise<boolean> {
  const r = await lab.client.exec('nft', ['-j', 'list', 'tables'], { allowFail: true });
  return r.stdout.includes('"name": "ovpn_ts"');
}

function count(text: string, re: RegExp): number {
  return text.split('\n').filter((l) => re.test(l)).length;
}

/** Every way out of the tunnel is closed: IPv4/IPv6 ping, UDP and TCP to the listener. */
async function assertBlocked(lab: NetnsPair, tag: string): Promise<void> {
  assert.equal((await ping(lab.client, lab.serverAddr4, 2)).received, 0, `${tag}: IPv4 ping outside the tunnel`);
  assert.equal((await ping(lab.client, lab.serverAddr6, 2)).received, 0, `${tag}: IPv6 ping outside the tunnel`);
  const udp = await udpProbe(lab.client, lab.serverAddr4, PROBE_PORT, `blocked-${tag}`);
  assert.match(udp, /^error EPERM$/, `${tag}: the UDP probe is refused locally`);
  const tcp = await tcpProbe(lab.client, lab.serverAddr4, PROBE_PORT, `blocked-${tag}`);
  assert.notEqual(tcp, 'connected', `${tag}: TCP probe`);
}

async function assertOpen(lab: NetnsPair, listener: Listener, tag: string): Promise<void> {
  assert.ok((await ping(lab.client, lab.serverAddr4, 1)).received === 1, `${tag}: ping works without the kill switch`);
  await udpProbe(lab.client, lab.serverAddr4, PROBE_PORT, `open-${tag}`);
  assert.equal(await tcpProbe(lab.client, lab.serverAddr4, PROBE_PORT, `open-${tag}`), 'connected');
  assert.ok(await eventually(() => listener.got('udp', `open-${tag}`) && listener.got('tcp', `open-${tag}`), 5_000), `${tag}: the listener hears open probes`);
}

interface Setup {
  readonly server: LabServer;
  readonly listener: Listener;
  readonly before: unknown;
  readonly config: string;
}

async function setUp(lab: NetnsPair): Promise<Setup> {
  const server = await startServer(lab, 'udp-gcm-tlscrypt');
  const listener = await startListener(lab.server);
  await networkSettled(lab);
  await assertOpen(lab, listener, 'before');
  return { server, listener, before: await ruleset(lab), config: server.clientConfig({ inline: true }) };
}

test('kill switch: nothing leaves outside the tunnel while connected and while reconnecting; clean exit restores the ruleset', async () => {
  await withLab(async (lab) => {
    const { server, listener, before, config } = await setUp(lab);
    const client = await startClient(lab, 'ovpn-ts', config, { args: ['--kill-switch'] });
    assert.ok(await hasTable(lab), 'table inet ovpn_ts installed');
    assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3, 'the tunnel works');
    await assertBlocked(lab, 'connected');

    // Forced reconnect: the server process is stopped by PID; the client restarts and retries.
    await server.stop();
    await waitForLog(client.process, /restarting/, { timeoutMs: RESTART_TIMEOUT_MS });
    await assertBlocked(lab, 'reconnecting');
    assert.ok(await hasTable(lab), 'the rules stay while reconnecting');

    // The server comes back on the same port; the client reconnects through the kill switch.
    const again = lab.server.spawn('openvpn', ['--config', server.configFile], { name: 'openvpn-server-again', logFile: `${server.logFile}.again` });
    await waitForLog(again, INIT_COMPLETE, { timeoutMs: 15_000 });
    assert.ok(await eventually(() => count(client.log(), INIT_COMPLETE) >= 2, RECONNECT_TIMEOUT_MS), `reconnected:\n${client.log()}`);
    assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3, 'the tunnel works again');
    await assertBlocked(lab, 'reconnected');

    process.kill(client.pid, 'SIGTERM');
    await clientExited(client, EXIT_TIMEOUT_MS);
    assert.match(client.log(), /kill switch: rules removed/);
    assert.deepEqual(await ruleset(lab), before, 'nft -j list ruleset as before');
    await assertOpen(lab, listener, 'after');
    for (const tag of ['connected', 'reconnecting', 'reconnected']) {
      assert.ok(!listener.got('udp', `blocked-${tag}`) && !listener.got('tcp', `blocked-${tag}`), `no ${tag} probe ever arrived`);
    }
  });
});

test('kill switch: after SIGKILL the rules stay (fail closed); the next start takes them over or removes them', async () => {
  await withLab(async (lab) => {
    const { listener, before, config } = await setUp(lab);
    const kill = async (c: LabClient): Promise<void> => {
      process.kill(c.pid, 'SIGKILL');
      await clientExited(c, EXIT_TIMEOUT_MS);
    };

    await kill(await startClient(lab, 'ovpn-ts', config, { args: ['--kill-switch'] }));
    assert.ok(await hasTable(lab), 'the rules survive the crash');
    await assertBlocked(lab, 'after-crash');

    // Next start with the kill switch: the leftover is replaced in one transaction, then removed at exit.
    const second = await startClient(lab, 'ovpn-ts', config, { args: ['--kill-switch'] });
    assert.match(second.log(), /kill switch: took over the rules left by ovpn-ts pid \d+/);
    process.kill(second.pid, 'SIGTERM');
    await clientExited(second, EXIT_TIMEOUT_MS);
    assert.deepEqual(await ruleset(lab), before);

    // Crash again; the next start has no kill switch: it removes the leftover and connects.
    await kill(await startClient(lab, 'ovpn-ts', config, { args: ['--kill-switch'] }));
    assert.ok(await hasTable(lab));
    const third = await startClient(lab, 'ovpn-ts', config);
    assert.match(third.log(), /kill switch: removed the rules left by ovpn-ts pid \d+/);
    assert.ok(!(await hasTable(lab)));
    await assertOpen(lab, listener, 'after-repair');
    process.kill(third.pid, 'SIGTERM');
    await clientExited(third, EXIT_TIMEOUT_MS);
    assert.deepEqual(await ruleset(lab), before);
  });
});

for (const how of ['SIGINT', 'fatal error'] as const) {
  test(`kill switch: ${how} removes the rules`, async () => {
    await withLab(async (lab) => {
      const { server, before, config } = await setUp(lab);
      const extra = how === 'fatal error' ? ['--ping-exit', '3'] : [];
      const client = await startClient(lab, 'ovpn-ts', config, { args: ['--kill-switch', ...extra] });
      assert.ok(await hasTable(lab));
      // SIGSTOP, not a kill: a frozen server is silent, so ping-exit ends the client with an error.
      if (how === 'SIGINT') process.kill(client.pid, 'SIGINT');
      else process.kill(server.pid, 'SIGSTOP');
      await clientExited(client, EXIT_TIMEOUT_MS);
      if (how === 'fatal error') assert.notEqual(client.process.exitStatus(), '0');
      assert.match(client.log(), /kill switch: rules removed/);
      assert.deepEqual(await ruleset(lab), before);
    });
  });
}

test('kill switch: through an HTTP proxy, only the proxy is allowed (the server\'s name goes to the proxy unresolved)', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'tcp');
    const listener = await startListener(lab.server);
    await networkSettled(lab);
    const before = await ruleset(lab);
    const proxy = await startTinyproxy(lab, { port: 8888, connectPorts: [server.port] });
    const config = server
      .clientConfig({ inline: true, extra: [`http-proxy ${lab.serverAddr4} ${proxy.port}`] })
      .replace(`remote ${server.remoteAddr} ${server.port}`, `remote ${SERVER_NAME} ${server.port}`);
    const client = await startClient(lab, 'ovpn-ts', config, { args: ['--kill-switch'] });
    assert.match(client.log(), new RegExp(`kill switch:\\s+tcp to and from ${lab.serverAddr4.replace(/\./g, '\\.')}:${proxy.port}`));
    assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3, 'the tunnel works through the proxy');
    await assertBlocked(lab, 'proxied');
    // The server's own port on the same address is not the proxy's: refused locally.
    assert.notEqual(await tcpProbe(lab.client, lab.serverAddr4, server.port, 'direct'), 'connected');
    process.kill(client.pid, 'SIGTERM');
    await clientExited(client, EXIT_TIMEOUT_MS);
    assert.deepEqual(await ruleset(lab), before);
    assert.ok(!listener.got('tcp', 'blocked-proxied') && !listener.got('udp', 'blocked-proxied'));
  });
});

test('kill switch: a SIGHUP reload keeps the rules in place and the new run replaces them', async () => {
  await withLab(async (lab) => {
    const { server, before, config } = await setUp(lab);
    const client = await startClient(lab, 'ovpn-ts', config, { args: ['--kill-switch'] });
    process.kill(client.pid, 'SIGHUP');
    assert.ok(await eventually(() => count(client.log(), INIT_COMPLETE) >= 2, RECONNECT_TIMEOUT_MS), `reloaded:\n${client.log()}`);
    assert.match(client.log(), /kill switch: rules kept across the reload, now replaced/);
    assert.doesNotMatch(client.log(), /kill switch: rules removed/, 'never removed between the two runs');
    assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3);
    await assertBlocked(lab, 'reloaded');
    process.kill(client.pid, 'SIGTERM');
    await clientExited(client, EXIT_TIMEOUT_MS);
    assert.deepEqual(await ruleset(lab), before);
  });
});

test('kill switch lan: the uplink subnet stays reachable, anything beyond it does not', async () => {
  await withLab(async (lab) => {
    // 203.0.113.77 lives behind the server namespace (its loopback), reached through the uplink's gateway.
    await lab.server.exec('ip', ['addr', 'add', '203.0.113.77/32', 'dev', 'lo']);
    await lab.client.exec('ip', ['route', 'add', 'default', 'via', lab.serverAddr4]);
    const { server, listener, before, config } = await setUp(lab);
    const client = await startClient(lab, 'ovpn-ts', config, { args: ['--kill-switch', 'lan'] });
    assert.match(client.log(), new RegExp(`kill switch:\\s+LAN ${lab.serverAddr4.replace(/\.1$/, '.0').replace(/\./g, '\\.')}/30`));
    assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3);
    assert.equal(await tcpProbe(lab.client, lab.serverAddr4, PROBE_PORT, 'lan'), 'connected', 'the LAN is allowed');
    assert.ok(await eventually(() => listener.got('tcp', 'lan'), 5_000));
    assert.notEqual(await tcpProbe(lab.client, '203.0.113.77', PROBE_PORT, 'beyond'), 'connected', 'beyond the LAN is blocked');
    assert.equal((await ping(lab.client, '203.0.113.77', 2)).received, 0);
    process.kill(client.pid, 'SIGTERM');
    await clientExited(client, EXIT_TIMEOUT_MS);
    assert.deepEqual(await ruleset(lab), before);
    assert.ok(!listener.got('tcp', 'beyond'));
  });
});
