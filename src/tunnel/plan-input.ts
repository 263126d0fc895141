/**
 * Pure helpers of the TUN tunnel: the options as the route planner (routing/plan.ts) and the MSS
 * clamp (dataplane/mss.ts) take them, and the redirect-gateway flags as OpenVPN reads them.
 */
import type { ClientOptions, ConnectionEntry } from '../config/index.ts';
import type { mssForFrame } from '../dataplane/mss.ts';
import type { Endpoint } from '../link/link.ts';
import type { NetOp, PlanInput, RedirectGateway } from '../routing/plan.ts';
import type { Gateways } from './gateways.ts';
import type { OpenInfo } from './tunnel.ts';

/** The planner's input for this connection, with the gateways read before any change of ours. */
export function planInputOf(p: ClientOptions, remote: Endpoint, dev: string, ce: ConnectionEntry, gw: Gateways): PlanInput {
  const rg = redirectOf(p);
  return {
    dev,
    mtu: ce.tunMtu,
    topology: p.topology ?? 'net30',
    ...(p.ifconfig === undefined ? {} : { ifconfig: { local: p.ifconfig.local, remoteNetmask: p.ifconfig.remoteOrNetmask } }),
    ...(p.ifconfigIpv6 === undefined ? {} : { ifconfigIpv6: { local: `${p.ifconfigIpv6.address}/${p.ifconfigIpv6.prefixLength}`, remote: p.ifconfigIpv6.remote } }),
    routes: p.routes.map((r) => ({ network: r.network, netmask: r.netmask, ...(r.gateway === undefined ? {} : { gateway: r.gateway }), ...(r.metric === undefined ? {} : { metric: r.metric }) })),
    routesIpv6: p.routesIpv6.map((r) => ({ network: `${r.network}/${r.prefixLength}`, ...(r.gateway === undefined ? {} : { gateway: r.gateway }), ...(r.metric === undefined ? {} : { metric: r.metric }) })),
    ...(p.routeGateway === undefined ? {} : { routeGateway: p.routeGateway }),
    ...(p.routeIpv6Gateway === undefined ? {} : { routeIpv6Gateway: p.routeIpv6Gateway }),
    ...(p.routeMetric === undefined ? {} : { routeMetric: p.routeMetric }),
    ...(rg === undefined ? {} : { redirectGateway: rg }),
    remoteHosts: [remote.address],
    ...(gw.netGateway === undefined ? {} : { netGateway: gw.netGateway }),
    ...(gw.netGateway6 === undefined ? {} : { netGateway6: gw.netGateway6 }),
  };
}

/** route.c route_did_redirect_default_gateway, as the scripts' redirect_gateway sees it. */
export function redirected(p: ClientOptions): boolean {
  return redirectOf(p)?.ipv4 === true && !p.routeNoexec;
}

/** route-noexec / ifconfig-noexec leave the routes / the link and addresses to a script. */
export function keepOp(op: NetOp, p: ClientOptions): boolean {
  if (op.op === 'route-add' || op.op === 'route-del') return !p.routeNoexec;
  return !p.ifconfigNoexec;
}

export function sameOps(a: readonly NetOp[], b: readonly NetOp[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * `redirect-gateway` and `redirect-private` flags -> the planner's view (options.c: both set
 * RG_ENABLE and share their flags; only redirect-gateway sets RG_REROUTE_GW; `ipv6` in either
 * reroutes IPv6; `!ipv4` clears the IPv4 part).
 */
export function redirectOf(p: ClientOptions): RedirectGateway | undefined {
  if (p.redirectGateway === undefined && p.redirectPrivate === undefined) return undefined;
  const flags = [...(p.redirectGateway ?? []), ...(p.redirectPrivate ?? [])];
  const has = (f: string): boolean => flags.includes(f);
  const ipv4 = !has('!ipv4');
  return {
    def1: has('def1'),
    bypassDhcp: has('bypass-dhcp'),
    local: has('local'),
    autolocal: has('autolocal'),
    blockLocal: has('block-local'),
    ipv4,
    reroute: ipv4 && p.redirectGateway !== undefined,
    ipv6: has('ipv6'),
  };
}

const HMAC_SIZES: Readonly<Record<string, number>> = { MD5: 16, SHA1: 20, SHA224: 28, SHA256: 32, SHA384: 48, SHA512: 64, NONE: 0 };

/** The frame the MSS clamp is sized for: the negotiated data channel (the configured one before that). */
export function frameOf(p: ClientOptions, ce: ConnectionEntry, remote: Endpoint, dc: OpenInfo['dataChannel']): Parameters<typeof mssForFrame>[0] {
  const cipher = (dc?.cipher ?? p.cipher ?? p.dataCiphers[0] ?? 'AES-256-GCM').toUpperCase();
  const aead = /GCM|CHACHA20-POLY1305/.test(cipher);
  const auth = (dc === undefined ? p.auth : (dc.auth ?? 'NONE')).toUpperCase().replace('-', '');
  const algo = p.compress?.algo;
  return {
    mssfix: ce.mssfix,
    tunMtu: ce.tunMtu,
    proto: ce.proto,
    family: remote.family,
    aead,
    ivSize: 16,
    blockSize: 16,
    hmacSize: HMAC_SIZES[auth] ?? 32,
    tagSize: 16,
    peerId: p.peerId !== undefined,
    compressByte: algo === 'stub' || algo === 'lzo' || algo === 'lz4' || algo === 'lzo-adaptive' || algo === 'lzo-no',
    fragment: ce.fragment,
  };
}

