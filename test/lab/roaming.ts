/**
 * The roaming lab: the client namespace gets two uplinks to the server namespace, which plays
 * the router and "the internet" behind it. The lab pair's direct veth is taken down so the
 * server is reachable only through an uplink.
 *
 *   ovts-c-<id>                                  ovts-s-<id>
 *   up1 10.201.<x>.2/24  ==veth==  rup1 10.201.<x>.1/24   lo: 203.0.113.1 (the server's address)
 *   up2 10.202.<x>.2/24  ==veth==  rup2 10.202.<x>.1/24       192.0.2.1   (an outside host)
 *       (+ fd01:<x>::2/64, fd02:<x>::2/64 with `ipv6`)        fd00:cafe::1, fd00:bad::1
 *   default via the uplink's .1 (and ::1), metric 100 (up1) / 200 (up2)
 *
 * An nftables table in the server namespace counts what arrives on rup1/rup2: `allowed` is the
 * VPN transport to the server (port 1194 on 203.0.113.1 or fd00:cafe::1, and the later fragments
 * of such datagrams, which carry no UDP header); `leaks` is every
 * other IP packet except IPv6 link-local and multicast (neighbour discovery). Everything lives in
 * the lab's two namespaces and goes with them.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetnsPair } from './netns.ts';
import { VETH_CLIENT } from './netns.ts';

export const SERVER_PUBLIC4 = '203.0.113.1';
export const SERVER_PUBLIC6 = 'fd00:cafe::1';
export const OUTSIDE4 = '192.0.2.1';
export const OUTSIDE6 = 'fd00:bad::1';

export interface Uplink {
  readonly dev: 'up1' | 'up2';
  readonly gw4: string;
  readonly addr4: string;
  readonly gw6: string;
  readonly addr6: string;
  readonly metric: number;
}

export interface RoamingLab {
  readonly up1: Uplink;
  readonly up2: Uplink;
  /** The uplink disappears (link down: the kernel flushes its routes). */
  down(u: Uplink): Promise<void>;
  /** The uplink comes (back) up with its default route(s), as DHCP / RA would give it. */
  up(u: Uplink): Promise<void>;
  /** nftables counters on the server side of the uplinks: packets in clear, and the VPN transport. */
  counters(): Promise<{ readonly leaks: number; readonly allowed: number }>;
}

const run = async (ns: NetnsPair['client'], ...args: string[]): Promise<void> => {
  await ns.exec('ip', args);
};

export async function setupRoamingLab(lab: NetnsPair, opts: { readonly ipv6?: boolean } = {}): Promise<RoamingLab> {
  const x = Number.parseInt(lab.id.slice(-2), 36) % 250;
  const v6 = opts.ipv6 === true;
  const mk = (n: 1 | 2): Uplink => ({
    dev: n === 1 ? 'up1' : 'up2',
    gw4: `10.20${n}.${x}.1`,
    addr4: `10.20${n}.${x}.2`,
    gw6: `fd0${n}:${x.toString(16)}::1`,
    addr6: `fd0${n}:${x.toString(16)}::2`,
    metric: n * 100,
  });
  const up1 = mk(1);
  const up2 = mk(2);
  const s = lab.server;
  const c = lab.client;
  await run(c, 'link', 'set', VETH_CLIENT, 'down');
  await run(s, 'addr', 'add', `${SERVER_PUBLIC4}/32`, 'dev', 'lo');
  await run(s, 'addr', 'add', `${OUTSIDE4}/32`, 'dev', 'lo');
  await run(s, 'addr', 'add', `${SERVER_PUBLIC6}/128`, 'dev', 'lo');
  await run(s, 'addr', 'add', `${OUTSIDE6}/128`, 'dev', 'lo');
  for (const u of [up1, up2]) {
    const r = `r${u.dev}`;
    await run(s, 'link', 'add', r, 'type', 'veth', 'peer', 'name', u.dev, 'netns', c.name);
    await run(s, 'addr', 'add', `${u.gw4}/24`, 'dev', r);
    await run(c, 'addr', 'add', `${u.addr4}/24`, 'dev', u.dev);
    if (v6) {
      // a link going down keeps its static IPv6 address (as IPv4 does), so it comes back with the link
      await c.exec('sysctl', ['-q', '-w', `net.ipv6.conf.${u.dev}.keep_addr_on_down=1`]);
      await run(s, 'addr', 'add', `${u.gw6}/64`, 'dev', r, 'nodad');
      await run(c, 'addr', 'add', `${u.addr6}/64`, 'dev', u.dev, 'nodad');
    }
    await run(s, 'link', 'set', r, 'up');
  }
  const nft = [
    'table inet ovtsroam {',
    '  counter leaks { }',
    '  counter allowed { }',
    '  chain pre {',
    '    type filter hook prerouting priority -300; policy accept;',
    `    iifname { "rup1", "rup2" } ip daddr ${SERVER_PUBLIC4} meta l4proto { tcp, udp } th dport 1194 counter name allowed accept`,
    `    iifname { "rup1", "rup2" } ip6 daddr ${SERVER_PUBLIC6} meta l4proto { tcp, udp } th dport 1194 counter name allowed accept`,
    // the later fragments of a large VPN datagram carry no UDP header
    `    iifname { "rup1", "rup2" } ip daddr ${SERVER_PUBLIC4} ip protocol udp ip frag-off & 0x1fff != 0 counter name allowed accept`,
    `    iifname { "rup1", "rup2" } ip6 daddr ${SERVER_PUBLIC6} exthdr frag exists counter name allowed accept`,
    '    iifname { "rup1", "rup2" } ip6 daddr { fe80::/10, ff00::/8 } accept',
    '    iifname { "rup1", "rup2" } ip6 saddr fe80::/10 accept',
    '    iifname { "rup1", "rup2" } meta nfproto { ipv4, ipv6 } counter name leaks',
    '  }',
    '}',
    '',
  ].join('\n');
  const nftFile = join(lab.dir, 'roaming.nft');
  writeFileSync(nftFile, nft);
  await s.exec('nft', ['-f', nftFile]);
  const lab2: RoamingLab = {
    up1,
    up2,
    async down(u) {
      await run(c, 'link', 'set', u.dev, 'down');
    },
    async up(u) {
      await run(c, 'link', 'set', u.dev, 'up');
      await run(c, 'route', 'add', 'default', 'via', u.gw4, 'dev', u.dev, 'metric', String(u.metric));
      if (v6) await run(c, '-6', 'route', 'add', 'default', 'via', u.gw6, 'dev', u.dev, 'metric', String(u.metric));
    },
    async counters() {
      const out = JSON.parse((await s.exec('nft', ['-j', 'list', 'counters', 'table', 'inet', 'ovtsroam'])).stdout) as {
        nftables: { counter?: { name: string; packets: number } }[];
      };
      const get = (name: string): number => out.nftables.find((e) => e.counter?.name === name)?.counter?.packets ?? -1;
      return { leaks: get('leaks'), allowed: get('allowed') };
    },
  };
  // The kernel attaches a default qdisc the first time a link goes up, and keeps it: do that now.
  await run(c, 'link', 'set', up2.dev, 'up');
  await run(c, 'link', 'set', up2.dev, 'down');
  await lab2.up(up1);
  return lab2;
}
