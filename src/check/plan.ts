/**
 * The system changes a connection would make, for `--check`: TUN device, addresses, routes (with
 * the bypass route to the server), DNS, scripts, files written. Whatever the server's PUSH_REPLY
 * decides is marked `[push]`.
 *
 * Pure: options in, lines out. Never reads a file or touches the system.
 */
import type { ClientOptions } from '../config/index.ts';
import type { DnsFacts } from '../dns/choose.ts';
import { dnsPlanLines } from './plan-dns.ts';
import { leakLines } from './plan-leak.ts';

export const PUSH = '[push]';

export function section(title: string, lines: readonly string[]): string[] {
  return lines.length === 0 ? [] : [``, `${title}:`, ...lines.map((l) => `  ${l}`)];
}

function deviceLines(o: ClientOptions): string[] {
  if (o.dev === 'null') return ['none (dev null: no TUN device; the tunnel is negotiated but carries no traffic)'];
  const name = o.dev === 'tun' ? 'tunN (the kernel picks the first free tunN)' : o.dev;
  const mtu = o.connections[0]?.tunMtu ?? 1500;
  return [`create TUN device ${name} (IFF_TUN | IFF_NO_PI), set MTU ${mtu} and bring it up; removed on exit${o.persistTun ? ' (persist-tun: kept across reconnects)' : ''}`];
}

function addressLines(o: ClientOptions): string[] {
  if (o.dev === 'null') return [];
  if (o.ifconfigNoexec) return ['none (ifconfig-noexec)'];
  const out: string[] = [];
  out.push(o.ifconfig === undefined ? `IPv4 address from the server's ifconfig ${PUSH}` : `IPv4 address ${o.ifconfig.local} (${o.topology ?? 'net30'}: ${o.ifconfig.remoteOrNetmask})`);
  out.push(
    o.ifconfigIpv6 === undefined
      ? `IPv6 address from the server's ifconfig-ipv6, if it sends one ${PUSH}`
      : `IPv6 address ${o.ifconfigIpv6.address}/${o.ifconfigIpv6.prefixLength}`,
  );
  return out;
}

function routeLines(o: ClientOptions): string[] {
  if (o.dev === 'null') return [];
  if (o.routeNoexec) return ['none (route-noexec)'];
  const out: string[] = [];
  for (const r of o.routes) out.push(`route ${r.network}/${r.netmask} via ${r.gateway ?? 'vpn_gateway'}${r.metric === undefined ? '' : ` metric ${r.metric}`}`);
  for (const r of o.routesIpv6) out.push(`route ${r.network}/${r.prefixLength} via ${r.gateway ?? 'the tunnel'}${r.metric === undefined ? '' : ` metric ${r.metric}`}`);
  const rg = o.redirectGateway;
  if (rg !== undefined) {
    const flags = new Set(rg);
    const remotes = [...new Set(o.connections.map((c) => c.remote))].join(', ');
    if (!flags.has('local')) out.push(`bypass route: host route to the server (${remotes}) via the current default gateway`);
    if (!flags.has('!ipv4')) out.push(flags.has('def1') ? 'default route over the tunnel as 0.0.0.0/1 + 128.0.0.0/1 (def1)' : 'replace the default route with one over the tunnel');
    if (flags.has('ipv6')) out.push('IPv6 default route over the tunnel (::/3, 2000::/4, 3000::/4, fc00::/7)');
  }
  if (o.routeNopull) out.push('routes and DNS pushed by the server are ignored (route-nopull)');
  else out.push(`routes and redirect-gateway pushed by the server ${PUSH}`);
  return out;
}

/** init.c: when each script runs (src/scripts/hooks.ts). */
const SCRIPT_WHEN: Readonly<Record<string, string>> = {
  up: 'after the device is configured, before routes; a failure ends the process',
  'route-up': 'after the routes are added (and route-delay)',
  'route-pre-down': 'before the routes are removed',
  down: 'after the device is closed',
  ipchange: 'NOT run (ipchange is not implemented)',
  'tls-verify': 'NOT run (tls-verify is refused when connecting)',
};

function scriptLines(o: ClientOptions): string[] {
  const entries = Object.entries(o.scripts);
  if (entries.length === 0) return [];
  const allowed = o.scriptSecurity >= 2;
  const out = entries.map(([hook, cmd]) => {
    const when = hook === 'down' && o.downPre ? 'before the device is closed (down-pre)' : (SCRIPT_WHEN[hook] ?? 'NOT run');
    return `${hook}: ${cmd} (${when})`;
  });
  if (o.upRestart) out.push('up-restart: up and down also run on reconnects that keep the device (persist-tun)');
  out.push(
    allowed
      ? `script-security ${o.scriptSecurity}: these commands are run (no shell; environment as OpenVPN 2.6's)`
      : `script-security ${o.scriptSecurity}: these commands are NOT allowed to run; up/down then end the process as OpenVPN does (set script-security 2)`,
  );
  return out;
}

function fileLines(o: ClientOptions): string[] {
  const out: string[] = [];
  if (o.log !== undefined) out.push(`${o.log.path} (log${o.log.append ? ', appended' : ', truncated'})`);
  if (o.status !== undefined) out.push(`${o.status.path} (status, rewritten every ${o.status.seconds} s)`);
  if (o.writepid !== undefined) out.push(`${o.writepid} (pid file)`);
  if (o.dev !== 'null') out.push('/run/ovpn-ts/<netns>-<device>.json (undo journal, so a later start repairs what a killed run left)');
  if (o.killSwitch !== undefined) out.push('/run/ovpn-ts/firewall/<netns>.json (who owns the kill switch rules)');
  const m = o.management;
  if (m?.port === 'unix') out.push(`${m.address} (management interface, unix socket${o.managementClientUser === undefined && o.managementClientGroup === undefined ? '' : ', peers checked by uid/gid'})`);
  else if (m !== undefined) out.push(`management interface listens on ${m.address}:${m.port} (TCP${m.pwFile === undefined ? ', no password: anyone who can connect controls the VPN' : ', password from the pw-file'})`);
  return out;
}

/** Every section of the plan, in the order a connection makes the changes; `dnsFacts` as probed (src/dns/detect.ts). */
export function planLines(o: ClientOptions, dnsFacts?: DnsFacts): string[] {
  return [
    ...section('TUN device', deviceLines(o)),
    ...section('Addresses', addressLines(o)),
    ...section('Routes', routeLines(o)),
    ...section('DNS', dnsPlanLines(o, dnsFacts)),
    ...section('Leak protection', leakLines(o)),
    ...section('Scripts', scriptLines(o)),
    ...section('Files written', fileLines(o)),
  ];
}
