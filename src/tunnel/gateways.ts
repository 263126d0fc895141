/**
 * The host's gateways as OpenVPN 2.6 reads them on Linux (route.c get_default_gateway and
 * get_default_gateway_ipv6), through the NetBackend: the IPv4 default route, the route toward
 * the server for IPv6, and the on-link prefix of a gateway for block-local.
 */
import { familyOf, inPrefix, networkOf } from '../base/ip.ts';
import type { ClientOptions } from '../config/index.ts';
import type { Endpoint } from '../link/link.ts';
import type { Logger } from '../log/logger.ts';
import type { AddrSpec, NetBackend } from '../routing/backend.ts';
import type { NetGateway } from '../routing/plan.ts';
import type { ServerPath } from '../core/path-monitor.ts';
import { redirectOf } from './plan-input.ts';

/** The gateways before our changes (persist-tun keeps them: our routes may hide the real ones). */
export interface Gateways {
  readonly netGateway: NetGateway | undefined;
  readonly netGateway6: NetGateway | undefined;
}

export class GatewayLookup {
  readonly #net: NetBackend;
  readonly #log: Logger;

  constructor(net: NetBackend, log: Logger) {
    this.#net = net;
    this.#log = log;
  }

  /** The gateways this configuration needs (none are read when nothing uses them). */
  async forOptions(p: ClientOptions, remote: Endpoint): Promise<Gateways> {
    const rg = redirectOf(p);
    const needGw = rg !== undefined || p.routes.some((r) => r.gateway === 'net_gateway' || r.network === 'net_gateway');
    const needGw6 = (rg?.ipv6 === true && remote.family === 6) || p.routesIpv6.some((r) => r.gateway === 'net_gateway');
    return {
      netGateway: needGw ? await this.defaultGateway4(rg?.blockLocal === true || rg?.autolocal === true) : undefined,
      netGateway6: needGw6 ? await this.toward(remote.family === 6 ? remote.address : '2000::', false) : undefined,
    };
  }

  /** The IPv4 default route (net_route_v4_best_gw with no destination), lowest metric first. */
  async defaultGateway4(wantPrefix: boolean): Promise<NetGateway | undefined> {
    try {
      const routes = await this.#net.listRoutes({ family: 4 });
      const defaults = routes.filter((r) => r.prefixLen === 0 && r.dev !== undefined).sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
      const d = defaults[0];
      if (d?.dev === undefined) return undefined;
      return await this.#withPrefix({ dev: d.dev, ...(d.gateway === undefined ? {} : { gateway: d.gateway }), ...(d.metric === undefined ? {} : { metric: d.metric }) }, wantPrefix);
    } catch (e) {
      this.#log.warn(`cannot read the IPv4 default route: ${(e as Error).message}`);
      return undefined;
    }
  }

  /**
   * Roaming: the uplink the server is reached through now, our own routes left out: the
   * lowest-metric default route of `family` not through `tunDev`, on a link that is up, and
   * the link's first address of the family as the source (what the server will see). The
   * kernel's own answer (RTM_GETROUTE) cannot say it: redirect-gateway routes it into the tunnel.
   */
  async underlay(family: 4 | 6, tunDev: string): Promise<ServerPath | undefined> {
    const routes = await this.#net.listRoutes({ family });
    const defaults = routes.filter((r) => r.prefixLen === 0 && r.dev !== undefined && r.dev !== tunDev).sort((a, b) => (a.metric ?? 0) - (b.metric ?? 0));
    for (const d of defaults) {
      if (d.dev === undefined) continue;
      const link = await this.#net.getLink(d.dev).catch(() => undefined);
      if (link?.up !== true) continue;
      const source = (await this.#net.listAddresses(d.dev)).find((a) => a.family === family)?.local;
      if (source === undefined) continue;
      return { dev: d.dev, ...(d.gateway === undefined ? {} : { gateway: d.gateway }), source };
    }
    return undefined;
  }

  /** RTM_GETROUTE toward `dst` (the server). */
  async toward(dst: string, wantPrefix: boolean): Promise<NetGateway | undefined> {
    try {
      return await this.#withPrefix(await this.#net.bestRoute(dst), wantPrefix);
    } catch (e) {
      this.#log.warn(`cannot read the current route to ${dst}: ${(e as Error).message}`);
      return undefined;
    }
  }

  async #withPrefix(best: NetGateway, wantPrefix: boolean): Promise<NetGateway> {
    if (!wantPrefix || best.gateway === undefined) return best;
    const len = gatewayPrefixLen(best.gateway, await this.#net.listAddresses(best.dev));
    return len === undefined ? best : { ...best, prefixLen: len };
  }
}

/**
 * The gateway's subnet length as OpenVPN 2.6 reads it on Linux (route.c get_default_gateway): for
 * each IPv4 address of the interface, SIOCGIFNETMASK on the interface *name* answers the mask of its
 * first (primary) address, and the gateway must lie within that mask of the address. So with a
 * secondary address, the primary address's mask is used (a gateway on a /24 secondary of an
 * interface whose primary is a /30 gives /30): block-local then blocks what the stock client blocks.
 * `addrs` in kernel order (primary first). IPv6 gateways: the subnet that contains them.
 */
export function gatewayPrefixLen(gw: string, addrs: readonly AddrSpec[]): number | undefined {
  if (familyOf(gw) === 6) return addrs.find((x) => x.family === 6 && inPrefix(gw, networkOf(x.local, x.prefixLen) ?? x.local, x.prefixLen))?.prefixLen;
  const v4 = addrs.filter((x) => x.family === 4);
  const mask = v4[0]?.prefixLen;
  if (mask === undefined) return undefined;
  return v4.some((x) => inPrefix(gw, networkOf(x.local, mask) ?? x.local, mask)) ? mask : undefined;
}
