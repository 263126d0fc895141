/**
 * Tier 4: redirect-private, block-local and block-ipv6 side by side with the stock OpenVPN 2.6
 * client, in the same lab and with the same options (pushed or local): the same IPv4 and IPv6
 * routes (destination, gateway, device, metric) while connected, and for block-ipv6 the same ping6
 * result toward an address outside the tunnel (ICMPv6 "no route" from the same source).
 *
 * Topology: the client's default gateway is 10.77.0.1 (a second address of the server namespace),
 * so the VPN server (198.18.X.1) is not on the gateway's subnet and block-local has something to
 * block; one case keeps the server as the gateway (block-local then blocks nothing). 2001:db8:77::1
 * on the server namespace's loopback stands for "IPv6 outside the tunnel".
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientExited, networkSettled, networkSnapshot, startClient, startServer, withLab, type LabClient, type NetnsPair } from '../lab/index.ts';

const OUTSIDE6 = '2001:db8:77::1';
const EXIT_TIMEOUT_MS = 15_000;

interface Route {
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly metric?: number;
}

async function routes(lab: NetnsPair, family: 4 | 6): Promise<string[]> {
  const r = await lab.client.exec('ip', ['-j', `-${family}`, 'route', 'show']);
  return (JSON.parse(r.stdout) as Route[])
    .map((x) => `${x.dst}${x.gateway === undefined ? '' : ` via ${x.gateway}`}${x.dev === undefined ? '' : ` dev ${x.dev}`}${x.metric === undefined ? '' : ` metric ${x.metric}`}`)
    .sort();
}

/** ping6 outcome without timings and sequence numbers: received count and the error lines. */
async function ping6(lab: NetnsPair): Promise<{ received: number; errors: string[] }> {
  const r = await lab.client.exec('ping', ['-6', '-n', '-c', '2', '-i', '0.2', '-W', '2', '-w', '5', OUTSIDE6], { allowFail: true, timeoutMs: 10_000 });
  const received = Number(/(\d+) received/.exec(r.stdout)?.[1] ?? -1);
  const errors = [...new Set(r.stdout.split('\n').filter((l) => l.startsWith('From ')).map((l) => l.replace(/icmp_seq=\d+ /, '')))];
  return { received, errors };
}

interface Observed {
  readonly v4: string[];
  readonly v6: string[];
  readonly ping6: { received: number; errors: string[] };
}

async function observe(lab: NetnsPair, kind: 'stock' | 'ovpn-ts', config: string, before: Record<string, unknown>): Promise<Observed> {
  // Not CLIENT_FATAL: a pushed option a client cannot use is an "Options error" line, not fatal.
  const client: LabClient = await startClient(lab, kind, config, { failOn: [/AUTH_FAILED/, /Exiting due to fatal error/, /process exiting/] });
  const seen = { v4: await routes(lab, 4), v6: await routes(lab, 6), ping6: await ping6(lab) };
  process.kill(client.pid, 'SIGTERM');
  await clientExited(client, EXIT_TIMEOUT_MS);
  assert.deepEqual(await networkSnapshot(lab), before, `${kind}: the namespace is as before after exit`);
  return seen;
}

interface Case {
  readonly name: string;
  readonly serverLines: readonly string[];
  readonly clientLines: readonly string[];
  /** The default gateway is the VPN server itself (block-local finds the server on the LAN). */
  readonly serverIsGateway?: boolean;
  readonly expect?: (o: Observed) => void;
}

const CASES: readonly Case[] = [
  {
    name: 'redirect-private (local option): bypass route only',
    serverLines: [],
    clientLines: ['redirect-private'],
    expect: (o) => assert.ok(!o.v4.some((r) => r.startsWith('0.0.0.0/1') || r.startsWith('default dev tun')), o.v4.join('\n')),
  },
  {
    name: 'redirect-private block-local (local option): the LAN halves into the tunnel',
    serverLines: [],
    clientLines: ['redirect-private block-local'],
    // Halves of the primary address's mask (/30 -> two /31), as the stock client reads it (gateways.ts).
    expect: (o) => assert.ok(o.v4.some((r) => r.startsWith('10.77.0.2/31') && r.includes('dev tun')), o.v4.join('\n')),
  },
  {
    name: 'pushed redirect-gateway def1 block-local',
    serverLines: ['push "redirect-gateway def1 block-local"'],
    clientLines: [],
  },
  {
    name: 'pushed redirect-gateway def1 block-local with the server as the gateway: nothing blocked',
    serverLines: ['push "redirect-gateway def1 block-local"'],
    clientLines: [],
    serverIsGateway: true,
  },
  {
    name: 'block-ipv6 with pushed redirect-gateway ipv6: IPv6 outside the tunnel answered with ICMPv6 no-route',
    serverLines: ['push "redirect-gateway def1 ipv6"'],
    clientLines: ['block-ipv6'],
    expect: (o) => {
      assert.equal(o.ping6.received, 0);
      assert.ok(o.ping6.errors.some((l) => /Destination unreachable: No route/.test(l)), o.ping6.errors.join('\n'));
    },
  },
  {
    name: 'block-ipv6 + redirect-gateway ipv6 with no IPv6 on the tunnel (ifconfig-ipv6 filtered): answers from fe80::7',
    serverLines: ['push "redirect-gateway def1 ipv6"'],
    clientLines: ['pull-filter ignore "ifconfig-ipv6"', 'pull-filter ignore "route-ipv6"', 'block-ipv6'],
    expect: (o) => {
      assert.equal(o.ping6.received, 0);
      assert.ok(o.ping6.errors.some((l) => l.startsWith('From fe80::7')), o.ping6.errors.join('\n'));
    },
  },
  {
    name: 'pushed block-ipv6 without IPv6 routes into the tunnel: IPv6 still goes outside (as in OpenVPN 2.6)',
    serverLines: ['push "block-ipv6"'],
    clientLines: [],
    expect: (o) => assert.equal(o.ping6.received, 2),
  },
];

for (const c of CASES) {
  test(`leak protection vs stock: ${c.name}`, async () => {
    await withLab(async (lab) => {
      await lab.client.exec('ip', ['-6', 'route', 'add', 'default', 'via', lab.serverAddr6]);
      await lab.server.exec('ip', ['addr', 'add', `${OUTSIDE6}/128`, 'dev', 'lo']);
      if (c.serverIsGateway === true) {
        await lab.client.exec('ip', ['route', 'add', 'default', 'via', lab.serverAddr4]);
      } else {
        await lab.server.exec('ip', ['addr', 'add', '10.77.0.1/24', 'dev', 'veth-s']);
        await lab.client.exec('ip', ['addr', 'add', '10.77.0.2/24', 'dev', 'veth-c']);
        await lab.client.exec('ip', ['route', 'add', 'default', 'via', '10.77.0.1']);
      }
      const server = await startServer(lab, 'udp-gcm-tlscrypt', { extraServerLines: c.serverLines });
      await networkSettled(lab);
      const before = await networkSnapshot(lab);
      const config = server.clientConfig({ inline: true, extra: c.clientLines });
      const stock = await observe(lab, 'stock', config, before);
      const ours = await observe(lab, 'ovpn-ts', config, before);
      console.log(`# ${c.name}\n#   stock   v4: ${stock.v4.join(' | ')}\n#   ovpn-ts v4: ${ours.v4.join(' | ')}\n#   ping6: stock ${JSON.stringify(stock.ping6)} ovpn-ts ${JSON.stringify(ours.ping6)}`);
      assert.deepEqual(ours.v4, stock.v4, 'IPv4 routes as the stock client');
      assert.deepEqual(ours.v6, stock.v6, 'IPv6 routes as the stock client');
      assert.deepEqual(ours.ping6, stock.ping6, 'ping6 outside the tunnel as with the stock client');
      c.expect?.(stock);
    });
  });
}
