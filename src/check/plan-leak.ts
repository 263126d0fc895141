/**
 * `--check`: the leak protection a connection would apply: block-ipv6, redirect-private,
 * block-local and the kill switch (its nftables rules, with remote names as they will be resolved
 * at start). Pure: options in, lines out.
 */
import type { ClientOptions } from '../config/index.ts';
import { describeKillSwitch, type AllowedEndpoint } from '../firewall/ruleset.ts';

const PUSH = '[push]';

function killSwitchLines(o: ClientOptions): string[] {
  if (o.killSwitch === undefined) return ['kill switch: off (kill-switch, or --kill-switch, turns it on)'];
  const endpoints: AllowedEndpoint[] = [];
  for (const ce of o.connections) {
    const proxy = ce.httpProxy ?? ce.socksProxy;
    const host = proxy?.host ?? ce.remote;
    const family = host.includes(':') ? 6 : 4;
    if (proxy === undefined) endpoints.push({ address: host, family, proto: ce.proto, port: ce.remotePort });
    else {
      endpoints.push({ address: host, family, proto: 'tcp', port: proxy.port });
      if (ce.socksProxy !== undefined && ce.proto === 'udp') endpoints.push({ address: host, family, proto: 'udp', port: undefined });
    }
  }
  const dev = o.dev === 'null' ? [] : [o.dev === 'tun' ? 'tunN' : o.dev];
  const lines = describeKillSwitch({ tunDevs: dev, endpoints, lan: [] });
  if (o.killSwitch.lan) lines.push('  LAN: the subnets of the interfaces that reach the servers, and fe80::/10 (kill-switch lan)');
  return [
    'kill switch on, installed before the first packet to a server and kept while reconnecting:',
    ...lines.map((l) => `  ${l}`),
    '  remote names are resolved once at start; the rules are removed on exit; after a crash they stay until the next start',
  ];
}

/** The lines of the "Leak protection" section (empty when there is nothing to say beyond "off"). */
export function leakLines(o: ClientOptions): string[] {
  const out: string[] = [];
  if (o.dev !== 'null') {
    out.push(
      o.blockIpv6
        ? 'block-ipv6: IPv6 packets routed into the tunnel are answered with ICMPv6 no-route, never sent to the server (route IPv6 into the tunnel with redirect-gateway ipv6)'
        : `block-ipv6: off ${o.routeNopull ? '' : PUSH}`.trimEnd(),
    );
    const flags = [...(o.redirectGateway ?? []), ...(o.redirectPrivate ?? [])];
    if (o.redirectPrivate !== undefined && o.redirectGateway === undefined) out.push('redirect-private: bypass route to the server via the current gateway; the default route is not changed');
    if (flags.includes('block-local') && !flags.includes('!ipv4')) {
      out.push('block-local: the current gateway\'s subnet is routed into the tunnel in two halves, the gateway itself stays reachable (not when the server is on that subnet)');
    }
  }
  out.push(...killSwitchLines(o));
  return out;
}
