/**
 * Tier 4: ovpn-ts's TUN data path against the real OpenVPN 2.6 server, in the lab namespaces.
 * For each data-channel flavour (AES-GCM + tls-crypt, ChaCha20-Poly1305, AES-CBC + HMAC + tls-auth,
 * TCP): IPv4 and IPv6 ping through the tunnel, the pushed routes on the tun device, iperf3 both
 * ways (> 0; the GCM case prints the stock client's figure beside ours). Then redirect-gateway
 * def1: 0/1 + 128/1 into the tunnel and the /32 bypass to the server via the original gateway.
 * Needs root; never touches the root namespace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientRoutes, iperf3, labResolvConf, ping, privateResolvConfWrapper, startClient, startServer, withLab, type NetnsPair, type LabServer, type ProfileName } from '../lab/index.ts';

const PINGS = 3;
const IPERF_SECONDS = 2;

const routes = clientRoutes;

async function tunDev(lab: NetnsPair): Promise<string> {
  const r = await lab.client.exec('ip', ['-j', 'link', 'show', 'type', 'tun']);
  const links = JSON.parse(r.stdout) as { ifname: string }[];
  assert.equal(links.length, 1, `one tun device in the client namespace: ${r.stdout}`);
  return links[0]!.ifname;
}

async function assertPings(lab: NetnsPair, server: LabServer): Promise<void> {
  const v4 = await ping(lab.client, server.tunAddr4, PINGS);
  assert.equal(v4.received, PINGS, `IPv4 ping ${server.tunAddr4}:\n${v4.output}`);
  const v6 = await ping(lab.client, server.tunAddr6, PINGS);
  assert.equal(v6.received, PINGS, `IPv6 ping ${server.tunAddr6}:\n${v6.output}`);
}

interface Case {
  readonly name: string;
  readonly profile: ProfileName;
  readonly serverLines?: readonly string[];
  readonly cipherLog: RegExp;
  readonly compareStock?: boolean;
}

const CASES: readonly Case[] = [
  { name: 'AES-256-GCM over UDP (tls-crypt)', profile: 'udp-gcm-tlscrypt', cipherLog: /Data Channel: cipher 'AES-256-GCM'/, compareStock: true },
  { name: 'CHACHA20-POLY1305 over UDP', profile: 'udp-gcm-tlscrypt', serverLines: ['data-ciphers CHACHA20-POLY1305'], cipherLog: /Data Channel: cipher 'CHACHA20-POLY1305'/ },
  { name: 'AES-256-CBC + HMAC-SHA256 over UDP (tls-auth)', profile: 'udp-cbc-tlsauth', cipherLog: /Data Channel: cipher 'AES-256-CBC', auth 'SHA256'/ },
  { name: 'AES-256-GCM over TCP', profile: 'tcp', cipherLog: /Data Channel: cipher 'AES-256-GCM'/ },
];

for (const c of CASES) {
  test(`ovpn-ts tunnel: ${c.name}: ping v4/v6, pushed routes, iperf3 both ways`, async () => {
    await withLab(async (lab) => {
      const pushes = c.profile === 'udp-gcm-tlscrypt' ? [] : ['push "route 10.99.0.0 255.255.0.0"', 'push "route-ipv6 fd00:99::/64"'];
      const server = await startServer(lab, c.profile, { extraServerLines: [...(c.serverLines ?? []), ...pushes] });
      let stock: { up: number; down: number } | undefined;
      if (c.compareStock === true) {
        const s = await startClient(lab, 'stock', server.clientConfig({ inline: true }));
        stock = { up: (await iperf3(lab, server.tunAddr4, { seconds: IPERF_SECONDS })).mbps, down: (await iperf3(lab, server.tunAddr4, { seconds: IPERF_SECONDS, reverse: true })).mbps };
        await s.stop();
      }
      const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true }));
      assert.match(client.log(), c.cipherLog);
      // UDP and TCP move their packets in the data-plane worker
      assert.match(client.log(), /data plane: worker thread/);
      await assertPings(lab, server);
      const dev = await tunDev(lab);
      const v4 = await routes(lab, 4);
      assert.ok(v4.some((r) => r.dst === '10.99.0.0/16' && r.dev === dev), `10.99.0.0/16 via ${dev}: ${JSON.stringify(v4)}`);
      const v6 = await routes(lab, 6);
      assert.ok(v6.some((r) => r.dst === 'fd00:99::/64' && r.dev === dev), `fd00:99::/64 via ${dev}: ${JSON.stringify(v6)}`);
      const up = await iperf3(lab, server.tunAddr4, { seconds: IPERF_SECONDS });
      const down = await iperf3(lab, server.tunAddr4, { seconds: IPERF_SECONDS, reverse: true });
      assert.ok(up.mbps > 0 && down.mbps > 0, `iperf3 ${up.mbps} / ${down.mbps}`);
      const side = stock === undefined ? '' : `   stock openvpn: up ${stock.up.toFixed(0)} down ${stock.down.toFixed(0)} Mbit/s`;
      console.log(`# ${c.name}: ovpn-ts up ${up.mbps.toFixed(0)} down ${down.mbps.toFixed(0)} Mbit/s${side}`);
      await client.stop();
      // the upload's full-size datagrams left in GSO runs (UDP), the download's segments reached the TUN joined
      const offloads = /data plane: (?:(\d+) of \d+ datagrams left in UDP GSO sends; )?(\d+) of \d+ packets reached the TUN in coalesced TCP writes/.exec(client.log());
      const gsoOk = c.profile === 'tcp' ? offloads?.[1] === undefined : Number(offloads?.[1]) > 0;
      assert.ok(offloads !== null && gsoOk && Number(offloads[2]) > 0, `GSO and coalescing at work: ${offloads?.[0] ?? client.log()}`);
      console.log(`# ${c.name}: ${offloads[0]}`);
    });
  });
}

test('ovpn-ts tunnel: the main-thread data path (OVPN_TS_DATA_PLANE=main, the fallback) and the worker with float carry the same traffic', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const runs = [
      { name: 'main thread', env: ['OVPN_TS_DATA_PLANE=main'], extra: [], log: /data plane: main thread/ },
      { name: 'worker, float', env: [], extra: ['float'], log: /data plane: worker thread/ },
    ];
    for (const run of runs) {
      // `env` runs inside the private mount namespace wrapper and execs ovpn-ts (same pid)
      const wrapper = [...privateResolvConfWrapper(labResolvConf(lab)), 'env', ...run.env];
      const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: run.extra }), { wrapper });
      assert.match(client.log(), run.log, run.name);
      await assertPings(lab, server);
      const up = await iperf3(lab, server.tunAddr4, { seconds: IPERF_SECONDS });
      const down = await iperf3(lab, server.tunAddr4, { seconds: IPERF_SECONDS, reverse: true });
      assert.ok(up.mbps > 0 && down.mbps > 0, `${run.name}: iperf3 ${up.mbps} / ${down.mbps}`);
      console.log(`# ${run.name}: ovpn-ts up ${up.mbps.toFixed(0)} down ${down.mbps.toFixed(0)} Mbit/s`);
      await client.stop();
    }
  });
});

test('ovpn-ts tunnel: the main-thread data path over TCP (OVPN_TS_DATA_PLANE=main, the fallback) carries traffic', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'tcp');
    const wrapper = [...privateResolvConfWrapper(labResolvConf(lab)), 'env', 'OVPN_TS_DATA_PLANE=main'];
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true }), { wrapper });
    assert.match(client.log(), /data plane: main thread/);
    await assertPings(lab, server);
    const up = await iperf3(lab, server.tunAddr4, { seconds: IPERF_SECONDS });
    const down = await iperf3(lab, server.tunAddr4, { seconds: IPERF_SECONDS, reverse: true });
    assert.ok(up.mbps > 0 && down.mbps > 0, `iperf3 ${up.mbps} / ${down.mbps}`);
    console.log(`# main thread, TCP: ovpn-ts up ${up.mbps.toFixed(0)} down ${down.mbps.toFixed(0)} Mbit/s`);
    await client.stop();
  });
});

test('ovpn-ts tunnel: redirect-gateway def1 adds 0/1 + 128/1 via the tun and a bypass /32 to the server', async () => {
  await withLab(async (lab) => {
    // A default route in the client namespace, as a real host has one (the bypass copies it).
    await lab.client.exec('ip', ['route', 'add', 'default', 'via', lab.serverAddr4]);
    const server = await startServer(lab, 'udp-gcm-tlscrypt', { extraServerLines: ['push "redirect-gateway def1"'] });
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true }));
    const dev = await tunDev(lab);
    const v4 = await routes(lab, 4);
    for (const dst of ['0.0.0.0/1', '128.0.0.0/1']) {
      assert.ok(v4.some((r) => r.dst === dst && r.dev === dev), `${dst} via ${dev}: ${JSON.stringify(v4)}`);
    }
    const bypass = v4.find((r) => r.dst === lab.serverAddr4);
    assert.ok(bypass !== undefined && bypass.dev === 'veth-c' && bypass.gateway === lab.serverAddr4, `bypass route to ${lab.serverAddr4}: ${JSON.stringify(v4)}`);
    await assertPings(lab, server);
    await client.stop();
    const after = await routes(lab, 4);
    assert.ok(!after.some((r) => r.dst === lab.serverAddr4 || r.dst === '0.0.0.0/1'), `routes removed at exit: ${JSON.stringify(after)}`);
  });
});
