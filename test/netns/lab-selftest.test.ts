/**
 * The lab proves itself with the stock OpenVPN 2.6 client: for every server profile, connect
 * the real `openvpn` client in the client namespace and ping the server's tunnel addresses
 * through the tunnel; one iperf3 run; and the lab must leave no namespace or process behind,
 * even when the test callback throws. Needs root (creates network namespaces).
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  cleanupStaleNamespaces,
  getPki,
  iperf3,
  isAlive,
  listNamespaces,
  MARKER_DIR,
  ping,
  PROFILE_NAMES,
  startServer,
  startStockClient,
  waitForLog,
  withLab,
  type LabServer,
  type NetnsPair,
} from '../lab/index.ts';

const PINGS = 3;
/** The server's reneg-sec in the `reneg` profile is 10 s; allow for scheduling slack. */
const RENEG_WAIT_MS = 16_000;


async function assertPingThrough(lab: NetnsPair, server: LabServer): Promise<void> {
  const v4 = await ping(lab.client, server.tunAddr4, PINGS);
  assert.equal(v4.received, PINGS, `IPv4 ping to ${server.tunAddr4} through the tunnel:\n${v4.output}`);
  const v6 = await ping(lab.client, server.tunAddr6, PINGS);
  assert.equal(v6.received, PINGS, `IPv6 ping to ${server.tunAddr6} through the tunnel:\n${v6.output}`);
}

test('PKI is generated with the expected files', async () => {
  const pki = await getPki();
  for (const set of [pki.rsa, pki.ec]) {
    for (const f of Object.values(set)) if (f !== set.alg) assert.ok(existsSync(f), f);
  }
  for (const f of [pki.taKey, pki.tlsCryptV2Server, pki.tlsCryptV2Client, pki.keyPassFile]) assert.ok(existsSync(f), f);
});

for (const profile of PROFILE_NAMES) {
  test(`stock client connects to profile ${profile} and pings through the tunnel`, async () => {
    await withLab(async (lab) => {
      const server = await startServer(lab, profile);
      await startStockClient(lab, server.clientConfig({ inline: profile === 'ec' }));
      await assertPingThrough(lab, server);
      if (profile === 'reneg') {
        await waitForLog(server.process, /TLS: soft reset/, { timeoutMs: RENEG_WAIT_MS });
        await assertPingThrough(lab, server);
      }
    });
  });
}

test('udp-gcm-tlscrypt pushes routes and DNS, and iperf3 gives a positive figure', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const client = await startStockClient(lab, server.clientConfig());
    const log = client.log();
    assert.match(log, /PUSH_REPLY.*route 10\.99\.0\.0 255\.255\.0\.0/);
    assert.match(log, /PUSH_REPLY.*dhcp-option DNS 10\.8\.\d+\.1/);
    assert.match(log, /PUSH_REPLY.*dns server 1 address 10\.8\.\d+\.1/);
    assert.match(log, /Data Channel: cipher 'AES-256-GCM'/);
    const r4 = await lab.client.exec('ip', ['route', 'show', '10.99.0.0/16']);
    assert.match(r4.stdout, /dev tun/);
    const r6 = await lab.client.exec('ip', ['-6', 'route', 'show', 'fd00:99::/64']);
    assert.match(r6.stdout, /dev tun/);
    const result = await iperf3(lab, server.tunAddr4, { seconds: 2 });
    assert.ok(result.mbps > 0, `iperf3 through the tunnel: ${result.mbps} Mbit/s`);
  });
});

test('userpass rejects a wrong password (AUTH_FAILED)', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'userpass');
    const client = await startStockClient(lab, server.clientConfig({ credentials: 'bad' }), {
      waitFor: /AUTH_FAILED/,
      failOn: [/Initialization Sequence Completed/],
    });
    await client.stop();
  });
});

test('the lab removes its namespaces, processes and dir when the callback throws', async () => {
  let seen: { names: string[]; pids: number[]; dir: string } | undefined;
  await assert.rejects(
    withLab(
      async (lab) => {
        const server = await startServer(lab, 'udp-gcm-tlscrypt');
        seen = { names: [lab.server.name, lab.client.name], pids: [server.pid], dir: lab.dir };
        assert.ok((await listNamespaces()).includes(lab.server.name));
        assert.ok(isAlive(server.pid));
        throw new Error('deliberate failure');
      },
      { quiet: true },
    ),
    /deliberate failure/,
  );
  assert.ok(seen !== undefined);
  const after = await listNamespaces();
  for (const n of seen.names) assert.ok(!after.includes(n), `${n} still exists`);
  for (const pid of seen.pids) assert.ok(!isAlive(pid), `pid ${pid} still alive`);
  assert.ok(!existsSync(seen.dir), `${seen.dir} still exists`);
});

test('a server that fails to start is reported with its log, and the lab still cleans up', async () => {
  let names: string[] = [];
  await assert.rejects(
    withLab(
      async (lab) => {
        names = [lab.server.name, lab.client.name];
        await startServer(lab, 'udp-gcm-tlscrypt', { extraServerLines: ['no-such-directive 1'] });
      },
      { quiet: true },
    ),
    /Options error|fatal error|process exited/,
  );
  const after = await listNamespaces();
  for (const n of names) assert.ok(!after.includes(n), `${n} still exists`);
});

test('cleanupStaleNamespaces removes only marked namespaces of dead creators', async () => {
  const dead = spawnSync('true').pid;
  assert.ok(dead !== undefined && !isAlive(dead));
  const staleId = `${dead.toString(36)}zz0`;
  const liveId = `${(1).toString(36)}zz1`; // pid 1 is always alive
  const unmarkedId = `${dead.toString(36)}zz2`;
  const names = [`ovts-s-${staleId}`, `ovts-c-${staleId}`, `ovts-s-${liveId}`, `ovts-s-${unmarkedId}`];
  mkdirSync(MARKER_DIR, { recursive: true });
  writeFileSync(join(MARKER_DIR, staleId), `${dead}\n`);
  writeFileSync(join(MARKER_DIR, liveId), '1\n');
  try {
    for (const n of names) assert.equal(spawnSync('ip', ['netns', 'add', n]).status, 0, `ip netns add ${n}`);
    const removed = await cleanupStaleNamespaces();
    assert.deepEqual(removed.filter((n) => names.includes(n)).sort(), [`ovts-c-${staleId}`, `ovts-s-${staleId}`]);
    const after = await listNamespaces();
    assert.ok(after.includes(`ovts-s-${liveId}`));
    assert.ok(after.includes(`ovts-s-${unmarkedId}`));
    assert.ok(!existsSync(join(MARKER_DIR, staleId)));
  } finally {
    for (const n of names) spawnSync('ip', ['netns', 'del', n]);
    rmSync(join(MARKER_DIR, staleId), { force: true });
    rmSync(join(MARKER_DIR, liveId), { force: true });
  }
});
