/**
 * Tier 4: `fragment 1300` against the real OpenVPN 2.6 server configured the same way. The
 * stock client and ovpn-ts run in turn in the same lab: large pings (-s 1400 and -s 4000, which
 * only pass if the pieces are reassembled on both sides) and iperf3 both ways. ovpn-ts may lose
 * no more pings than the stock client did. nftables counters check that no datagram to or from
 * the server was larger than 1300 bytes of UDP payload, and that pieces close to that size did
 * travel (so the packets really were fragmented). They count where datagrams are on the wire:
 * ovpn-ts sends runs of equal-size pieces as one UDP GSO send, which a NIC (or the kernel, for a
 * NIC without UDP segmentation offload) cuts into datagrams on the way out. A veth would hand the
 * unsegmented buffer across, so the client's veth gets gso_max_segs 1 (segmented before it, as
 * for such a NIC), and what goes to the server is counted on the server's input hook.
 * Needs root; never touches the root namespace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { iperf3, startClient, startServer, withLab, type LabServer, type Netns } from '../lab/index.ts';

const FRAGMENT = 1300;
/** IPv4 + UDP headers around a 1300-byte UDP payload (nft `meta length` counts the IP packet). */
const MAX_IP_LEN = FRAGMENT + 28;
const PINGS = 5;
const IPERF_SECONDS = 2;

/** Counted in the server namespace: datagrams from the client, after the client's veth. */
const NFT_SERVER = (port: number): string => `
table inet ovts_frag {
  counter big_out { }
  counter near_out { }
  chain in {
    type filter hook input priority 0; policy accept;
    udp dport ${port} meta length > ${MAX_IP_LEN} counter name big_out
    udp dport ${port} meta length > 1200 counter name near_out
  }
}
`;

/** Counted in the client namespace: datagrams from the server (the stock server sends one by one). */
const NFT_CLIENT = (port: number): string => `
table inet ovts_frag {
  counter big_in { }
  counter near_in { }
  chain in {
    type filter hook input priority 0; policy accept;
    udp sport ${port} meta length > ${MAX_IP_LEN} counter name big_in
    udp sport ${port} meta length > 1200 counter name near_in
  }
}
`;

/** The client namespace's device with `addr`. */
async function deviceOf(ns: Netns, addr: string): Promise<string> {
  const links = JSON.parse((await ns.exec('ip', ['-j', '-4', 'addr', 'show'])).stdout) as { ifname: string; addr_info: { local: string }[] }[];
  const dev = links.find((l) => l.addr_info.some((a) => a.local === addr))?.ifname;
  assert.ok(dev !== undefined, `a device with ${addr}`);
  return dev;
}

async function counters(ns: Netns): Promise<Record<string, number>> {
  const r = await ns.exec('nft', ['-j', 'list', 'counters', 'table', 'inet', 'ovts_frag']);
  const j = JSON.parse(r.stdout) as { nftables: { counter?: { name: string; packets: number } }[] };
  const out: Record<string, number> = {};
  for (const item of j.nftables) if (item.counter !== undefined) out[item.counter.name] = item.counter.packets;
  return out;
}

interface Run {
  readonly small: number;
  readonly big: number;
  readonly up: number;
  readonly down: number;
}

async function exercise(ns: Netns, server: LabServer, lab: Parameters<typeof iperf3>[0]): Promise<Run> {
  const p1400 = await ns.exec('ping', ['-n', '-c', String(PINGS), '-i', '0.2', '-W', '2', '-w', String(PINGS + 4), '-s', '1400', server.tunAddr4], { allowFail: true, timeoutMs: 20_000 });
  const p4000 = await ns.exec('ping', ['-n', '-c', String(PINGS), '-i', '0.2', '-W', '2', '-w', String(PINGS + 4), '-s', '4000', server.tunAddr4], { allowFail: true, timeoutMs: 20_000 });
  const up = await iperf3(lab, server.tunAddr4, { seconds: IPERF_SECONDS });
  const down = await iperf3(lab, server.tunAddr4, { seconds: IPERF_SECONDS, reverse: true });
  return { small: received(p1400.stdout), big: received(p4000.stdout), up: up.mbps, down: down.mbps };
}

function received(out: string): number {
  return Number(/(\d+) received/.exec(out)?.[1] ?? 0);
}

test('fragment 1300: large pings and iperf3 both ways through the real server, no datagram above 1300 bytes', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt', { extraServerLines: ['fragment 1300', 'verb 4'] });
    const config = server.clientConfig({ inline: true, extra: [`fragment ${FRAGMENT}`] });

    const stockClient = await startClient(lab, 'stock', config);
    const stock = await exercise(lab.client, server, lab);
    await stockClient.stop();

    await lab.client.exec('ip', ['link', 'set', 'dev', await deviceOf(lab.client, lab.clientAddr4), 'gso_max_segs', '1']);
    await lab.server.exec('sh', ['-c', `nft -f - <<'EOF'\n${NFT_SERVER(server.port)}\nEOF`]);
    await lab.client.exec('sh', ['-c', `nft -f - <<'EOF'\n${NFT_CLIENT(server.port)}\nEOF`]);
    const client = await startClient(lab, 'ovpn-ts', config);
    const ours = await exercise(lab.client, server, lab);
    const c = { ...(await counters(lab.server)), ...(await counters(lab.client)) };
    await client.stop();

    console.log(`# fragment ${FRAGMENT}: stock ping -s 1400 ${stock.small}/${PINGS}, -s 4000 ${stock.big}/${PINGS}, iperf3 up ${stock.up.toFixed(0)} down ${stock.down.toFixed(0)} Mbit/s`);
    console.log(`# fragment ${FRAGMENT}: ovpn-ts ping -s 1400 ${ours.small}/${PINGS}, -s 4000 ${ours.big}/${PINGS}, iperf3 up ${ours.up.toFixed(0)} down ${ours.down.toFixed(0)} Mbit/s`);
    assert.ok(stock.small > 0 && stock.big > 0, 'the stock client passes large pings (the lab works)');
    assert.ok(ours.small >= stock.small, `ping -s 1400: ovpn-ts ${ours.small} received, stock ${stock.small}`);
    assert.ok(ours.big >= stock.big, `ping -s 4000: ovpn-ts ${ours.big} received, stock ${stock.big}`);
    assert.ok(ours.up > 0 && ours.down > 0, `iperf3 ${ours.up} / ${ours.down}`);
    assert.equal(c['big_out'], 0, `datagrams to the server above ${FRAGMENT} bytes: ${JSON.stringify(c)}`);
    assert.equal(c['big_in'], 0, `datagrams from the server above ${FRAGMENT} bytes: ${JSON.stringify(c)}`);
    assert.ok((c['near_out'] ?? 0) > 0 && (c['near_in'] ?? 0) > 0, `pieces near the limit in both directions: ${JSON.stringify(c)}`);
    assert.doesNotMatch(server.log(), /FRAG_IN error/, 'the server reassembled every piece ovpn-ts sent');
    assert.match(client.log(), /fragment 1300: data packets above \d+ bytes/);
  });
});
