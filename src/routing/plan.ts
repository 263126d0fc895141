/**
 * Route planning (pure): from the tunnel's explicit settings (config + push + what the kernel said
 * about the current default route) to the ordered list of network changes OpenVPN 2.6 would make.
 *
 *   link up + mtu -> addresses (v4, v6) -> redirect-gateway (bypass host route to the server via
 *   the original gateway, then 0/1 + 128/1 with def1, or delete + replace the default route)
 *   -> pushed/configured `route`s -> IPv6 redirect (::/3 2000::/4 3000::/4 fc00::/7) + v6 bypass
 *   -> `route-ipv6`s
 *
 * Order and semantics follow route.c (add_routes, redirect_default_route_to_vpn, add_block_local)
 * and init.c (do_init_route_ipv6_list). Problems that OpenVPN reports and skips (an unknown
 * vpn_gateway, an unreadable default gateway) come back as warnings, not errors.
 * Never: I/O, clock, logging.
 */
import { type AddrSpec, type BestRoute, type RouteSpec } from './backend.ts';
import { canonicalAddr, familyOf, netmaskToPrefix, networkOf, parseCidr, parseIPv4, formatIPv4, prefixToMaskV4 } from '../base/ip.ts';

export type Topology = 'subnet' | 'net30' | 'p2p';

/** One network change. `link` sets MTU and brings the device up. */
export type NetOp =
  | { readonly op: 'link'; readonly dev: string; readonly up: boolean; readonly mtu: number }
  | { readonly op: 'addr-add'; readonly addr: AddrSpec }
  | { readonly op: 'addr-del'; readonly addr: AddrSpec }
  | { readonly op: 'route-add'; readonly route: RouteSpec }
  | { readonly op: 'route-del'; readonly route: RouteSpec };

/** `route network [netmask] [gateway] [metric]`; network and gateway may be keywords. */
export interface RouteInput {
  readonly network: string; // address or 'vpn_gateway' | 'net_gateway' | 'remote_host'
  readonly netmask?: string;
  readonly gateway?: string; // address or 'vpn_gateway' | 'net_gateway' | 'remote_host'
  readonly metric?: number;
}

/** `route-ipv6 network/bits [gateway] [metric]`. */
export interface RouteIpv6Input {
  readonly network: string;
  readonly gateway?: string;
  readonly metric?: number;
}

/** options.c RG_* flags of redirect-gateway and redirect-private together. */
export interface RedirectGateway {
  readonly def1: boolean;
  readonly bypassDhcp: boolean;
  readonly local: boolean;
  /** `autolocal`: like `local` when the server is on the default gateway's subnet. */
  readonly autolocal: boolean;
  readonly blockLocal: boolean;
  /** RG_ENABLE: the IPv4 part (bypass, block-local) is on; false with `!ipv4`. */
  readonly ipv4: boolean;
  /** RG_REROUTE_GW: the default route goes into the tunnel (redirect-gateway, not redirect-private). */
  readonly reroute: boolean;
  readonly ipv6: boolean;
}

/** The kernel's current route to the outside (bestRoute of the server), plus its subnet if known. */
export interface NetGateway extends BestRoute {
  readonly prefixLen?: number; // the gateway's on-link subnet length, needed for block-local
  /** The metric of the default route itself, so a replaced default comes back exactly. */
  readonly metric?: number;
}

export interface PlanInput {
  readonly dev: string;
  readonly mtu: number;
  readonly topology: Topology;
  /** `ifconfig local remote-netmask`: the peer for net30/p2p, the netmask for subnet. */
  readonly ifconfig?: { readonly local: string; readonly remoteNetmask: string };
  /** `ifconfig-ipv6 addr/bits remote`. */
  readonly ifconfigIpv6?: { readonly local: string; readonly remote?: string };
  readonly routes?: readonly RouteInput[];
  readonly routesIpv6?: readonly RouteIpv6Input[];
  readonly routeGateway?: string;
  readonly routeIpv6Gateway?: string;
  readonly routeMetric?: number;
  readonly redirectGateway?: RedirectGateway;
  /** The server address(es) in use: one IPv4 and/or one IPv6. */
  readonly remoteHosts?: readonly string[];
  readonly netGateway?: NetGateway;
  readonly netGateway6?: NetGateway;
}

export interface Plan {
  readonly ops: readonly NetOp[];
  readonly warnings: readonly string[];
}

/** init.c do_init_route_ipv6_list: what `redirect-gateway ipv6` routes into the tunnel. */
export const IPV6_REDIRECT_ROUTES = ['::/3', '2000::/4', '3000::/4', 'fc00::/7'] as const;

interface Ctx {
  readonly in: PlanInput;
  readonly ops: NetOp[];
  readonly warnings: string[];
  readonly vpnGateway: string | undefined;
  readonly vpnGateway6: string | undefined;
  readonly remote4: string | undefined;
  readonly remote6: string | undefined;
}

export function planNetwork(input: PlanInput): Plan {
  const remotes = (input.remoteHosts ?? []).map((h) => canonicalAddr(h)).filter((h) => h !== undefined);
  const ctx: Ctx = {
    in: input,
    ops: [{ op: 'link', dev: input.dev, up: true, mtu: input.mtu }],
    warnings: [],
    vpnGateway: vpnGatewayOf(input),
    vpnGateway6: canonicalOpt(input.routeIpv6Gateway ?? input.ifconfigIpv6?.remote),
    remote4: remotes.find((h) => familyOf(h) === 4),
    remote6: remotes.find((h) => familyOf(h) === 6),
  };
  addAddresses(ctx);
  const rg = input.redirectGateway;
  if (rg !== undefined && rg.ipv4) redirectV4(ctx, rg);
  for (const r of input.routes ?? []) addRouteV4(ctx, r);
  if (rg !== undefined && rg.ipv6) redirectV6(ctx, rg);
  for (const r of input.routesIpv6 ?? []) addRouteV6(ctx, r.network, r.gateway, r.metric);
  return { ops: ctx.ops, warnings: ctx.warnings };
}

function canonicalOpt(a: string | undefined): string | undefined {
  return a === undefined ? undefined : canonicalAddr(a);
}

/** route.c init_route_list: --route-gateway, else the ifconfig peer for net30/p2p. */
function vpnGatewayOf(i: PlanInput): string | undefined {
  if (i.routeGateway !== undefined && i.routeGateway !== 'dhcp') return canonicalAddr(i.routeGateway);
  if (i.ifconfig !== undefined && i.topology !== 'subnet') return canonicalAddr(i.ifconfig.remoteNetmask);
  return undefined;
}

function addAddresses(ctx: Ctx): void {
  const { dev, ifconfig, ifconfigIpv6, topology } = ctx.in;
  if (ifconfig !== undefined) {
    const local = canonicalAddr(ifconfig.local);
    if (local === undefined) ctx.warnings.push(`ifconfig: bad local address ${ifconfig.local}`);
    else if (topology === 'subnet') {
      const len = netmaskToPrefix(ifconfig.remoteNetmask);
      if (len === undefined) ctx.warnings.push(`ifconfig: bad netmask ${ifconfig.remoteNetmask}`);
      else ctx.ops.push({ op: 'addr-add', addr: { dev, family: 4, local, prefixLen: len } });
    } else {
      // net30 and p2p both configure a point-to-point pair (tun.c do_ifconfig_ipv4, linux).
      const peer = canonicalAddr(ifconfig.remoteNetmask);
      if (peer === undefined) ctx.warnings.push(`ifconfig: bad remote address ${ifconfig.remoteNetmask}`);
      else ctx.ops.push({ op: 'addr-add', addr: { dev, family: 4, local, prefixLen: 32, peer } });
    }
  }
  if (ifconfigIpv6 !== undefined) {
    const c = parseCidr(ifconfigIpv6.local.includes('/') ? ifconfigIpv6.local : `${ifconfigIpv6.local}/64`);
    if (c === undefined || c.family !== 6) ctx.warnings.push(`ifconfig-ipv6: bad address ${ifconfigIpv6.local}`);
    else ctx.ops.push({ op: 'addr-add', addr: { dev, family: 6, local: c.addr, prefixLen: c.len } });
  }
}

function metricOf(ctx: Ctx, metric: number | undefined): { metric?: number } {
  const m = metric ?? ctx.in.routeMetric;
  return m === undefined ? {} : { metric: m };
}

function pushRoute(ctx: Ctx, r: RouteSpec): void {
  ctx.ops.push({ op: 'route-add', route: r });
}

/** A route through the original default gateway (the bypass and net_gateway routes). */
function viaNetGateway(gw: NetGateway, family: 4 | 6, dst: string, len: number, metric: { metric?: number }): RouteSpec {
  const base: RouteSpec = { family, dst, prefixLen: len, dev: gw.dev, ...metric };
  return gw.gateway === undefined ? base : { ...base, gateway: gw.gateway };
}

function viaVpn(ctx: Ctx, family: 4 | 6, dst: string, len: number, metric: { metric?: number }): RouteSpec {
  const gw = family === 4 ? ctx.vpnGateway : ctx.vpnGateway6;
  const base: RouteSpec = { family, dst, prefixLen: len, dev: ctx.in.dev, ...metric };
  return gw === undefined ? base : { ...base, gateway: gw };
}

/** route.c test_local_addr: is the server on the default gateway's own subnet? */
function remoteIsLocal(ctx: Ctx): boolean {
  const gw = ctx.in.netGateway;
  const router = gw?.gateway === undefined ? undefined : parseIPv4(gw.gateway);
  const remote = ctx.remote4 === undefined ? undefined : parseIPv4(ctx.remote4);
  if (gw?.prefixLen === undefined || router === undefined || remote === undefined) return false;
  const mask = prefixToMaskV4(gw.prefixLen);
  return ((router ^ remote) & mask) >>> 0 === 0;
}

/**
 * route.c redirect_default_route_to_vpn (+ add_block_local from init_route_list). With
 * redirect-private (`reroute` false) the bypass and block-local routes are made, the default
 * route is left alone.
 */
function redirectV4(ctx: Ctx, rg: RedirectGateway): void {
  const gw = ctx.in.netGateway;
  if (rg.reroute && ctx.vpnGateway === undefined) {
    ctx.warnings.push('unable to redirect IPv4 default gateway -- VPN gateway parameter (--route-gateway or --ifconfig) is missing');
    return;
  }
  if (!rg.local && gw === undefined && ctx.remote4 !== undefined) {
    ctx.warnings.push('unable to redirect IPv4 default gateway -- Cannot read current default gateway from system');
    return;
  }
  const serverLocal = remoteIsLocal(ctx);
  const local = rg.local || (rg.autolocal && serverLocal);
  if (!local && gw !== undefined && ctx.remote4 !== undefined) {
    pushRoute(ctx, viaNetGateway(gw, 4, ctx.remote4, 32, {}));
  }
  const blocked = rg.blockLocal ? blockLocal(ctx, gw, serverLocal) : [];
  // bypass-dhcp needs the DHCP server's address, which Linux does not report: nothing to add.
  const m = metricOf(ctx, undefined);
  if (rg.reroute && rg.def1) {
    pushRoute(ctx, viaVpn(ctx, 4, '0.0.0.0', 1, m));
    pushRoute(ctx, viaVpn(ctx, 4, '128.0.0.0', 1, m));
  } else if (rg.reroute) {
    if (gw !== undefined) {
      ctx.ops.push({ op: 'route-del', route: viaNetGateway(gw, 4, '0.0.0.0', 0, gw.metric === undefined ? {} : { metric: gw.metric }) });
    }
    pushRoute(ctx, viaVpn(ctx, 4, '0.0.0.0', 0, m));
  }
  // add_block_local puts its two halves at the head of the route list: after the redirect, before `route`s.
  for (const r of blocked) pushRoute(ctx, r);
}

/**
 * route.c add_block_local: the router stays reachable (a /32 bypass, added now), the gateway's
 * subnet is split in two halves routed into the tunnel (returned, added after the redirect). Not
 * when the server itself is on that subnet, nor without a VPN gateway. OpenVPN gives the halves no
 * metric. On Linux only the gateway's own subnet is blocked (rgi.addrs is never filled there).
 */
function blockLocal(ctx: Ctx, gw: NetGateway | undefined, serverLocal: boolean): RouteSpec[] {
  const len = gw?.prefixLen;
  const router = gw?.gateway === undefined ? undefined : parseIPv4(gw.gateway);
  if (gw === undefined || len === undefined || router === undefined || ctx.vpnGateway === undefined) {
    ctx.warnings.push('block-local: the default gateway subnet is unknown, local network not blocked');
    return [];
  }
  if (serverLocal || len >= 32) return [];
  pushRoute(ctx, viaNetGateway(gw, 4, formatIPv4(router), 32, {}));
  const net = (router & prefixToMaskV4(len)) >>> 0;
  const half = 2 ** (31 - len);
  return [viaVpn(ctx, 4, formatIPv4(net + half), len + 1, {}), viaVpn(ctx, 4, formatIPv4(net), len + 1, {})];
}

function addRouteV4(ctx: Ctx, r: RouteInput): void {
  const text = `route ${r.network} ${r.netmask ?? ''} ${r.gateway ?? ''}`.trim();
  const network = r.network === 'remote_host' ? ctx.remote4 : resolveGw(ctx, r.network);
  const len = netmaskToPrefix(r.netmask ?? '255.255.255.255');
  if (network === undefined || len === undefined) {
    ctx.warnings.push(`${text}: cannot resolve network or netmask, route skipped`);
    return;
  }
  const dst = networkOf(network, len) ?? network;
  const kw = r.gateway ?? 'vpn_gateway';
  const m = metricOf(ctx, r.metric);
  if (kw === 'net_gateway') {
    if (ctx.in.netGateway === undefined) ctx.warnings.push(`${text}: net_gateway unknown, route skipped`);
    else pushRoute(ctx, viaNetGateway(ctx.in.netGateway, 4, dst, len, m));
    return;
  }
  const gw = resolveGw(ctx, kw);
  if (gw === undefined) {
    ctx.warnings.push(`${text}: ${kw === 'vpn_gateway' ? 'vpn_gateway unknown (no --route-gateway or --ifconfig)' : `bad gateway ${kw}`}, route skipped`);
    return;
  }
  pushRoute(ctx, { family: 4, dst, prefixLen: len, gateway: gw, ...(gw === ctx.vpnGateway ? { dev: ctx.in.dev } : {}), ...m });
}

function resolveGw(ctx: Ctx, word: string): string | undefined {
  if (word === 'vpn_gateway') return ctx.vpnGateway;
  if (word === 'net_gateway') return ctx.in.netGateway?.gateway;
  if (word === 'remote_host') return ctx.remote4;
  return parseIPv4(word) === undefined ? undefined : canonicalAddr(word);
}

/** init.c do_init_route_ipv6_list + route.c: IPv6 redirect routes and the server's /128 bypass. */
function redirectV6(ctx: Ctx, rg: RedirectGateway): void {
  const gw6 = ctx.in.netGateway6;
  if (!rg.local && ctx.remote6 !== undefined) {
    if (gw6 === undefined) ctx.warnings.push('unable to add IPv6 bypass route for the server -- no IPv6 default gateway');
    else pushRoute(ctx, viaNetGateway(gw6, 6, ctx.remote6, 128, {}));
  }
  for (const net of IPV6_REDIRECT_ROUTES) addRouteV6(ctx, net, undefined, undefined);
}

function addRouteV6(ctx: Ctx, network: string, gateway: string | undefined, metric: number | undefined): void {
  const c = parseCidr(network);
  if (c === undefined || c.family !== 6) {
    ctx.warnings.push(`route-ipv6 ${network}: bad network, route skipped`);
    return;
  }
  const dst = networkOf(c.addr, c.len) ?? c.addr;
  const m = metricOf(ctx, metric);
  if (gateway === 'net_gateway') {
    if (ctx.in.netGateway6 === undefined) ctx.warnings.push(`route-ipv6 ${network}: net_gateway unknown, route skipped`);
    else pushRoute(ctx, viaNetGateway(ctx.in.netGateway6, 6, dst, c.len, m));
    return;
  }
  const gw = gateway === undefined || gateway === 'vpn_gateway' ? ctx.vpnGateway6 : canonicalAddr(gateway);
  if (gateway !== undefined && gateway !== 'vpn_gateway' && gw === undefined) {
    ctx.warnings.push(`route-ipv6 ${network}: bad gateway ${gateway}, route skipped`);
    return;
  }
  // On a tun device the gateway is only used to pick the device (route.c add_route_ipv6).
  const base: RouteSpec = { family: 6, dst, prefixLen: c.len, dev: ctx.in.dev, ...m };
  pushRoute(ctx, gw === undefined || gw === ctx.vpnGateway6 ? base : { ...base, gateway: gw });
}
