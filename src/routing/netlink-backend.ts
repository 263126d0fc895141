/**
 * NetBackend over rtnetlink, through the `netlink` npm package (createRtNetlink).
 *
 *   setLink      RTM_NEWLINK/SETLINK  ifi_flags IFF_UP (change mask IFF_UP) + IFLA_MTU
 *   add/delAddr  RTM_NEWADDR/DELADDR  IFA_LOCAL (+ IFA_ADDRESS = peer for point-to-point)
 *   add/delRoute RTM_NEWROUTE/DELROUTE main table, proto boot, RTA_DST/GATEWAY/OIF/PRIORITY
 *   bestRoute    RTM_GETROUTE for one address (what `ip route get` does)
 *
 * Gotchas measured here (ARCHITECTURE.md): new address/route need NLM_F_CREATE | NLM_F_EXCL (the
 * default gives ENOENT; EXCL also makes a duplicate an EEXIST instead of a silent replace), and a
 * route delete needs scope NOWHERE (as iproute2; otherwise ESRCH).
 * listRoutes leaves out routes the kernel made itself (proto kernel: connected prefixes, fe80::/64).
 * The package has no errno field: errors arrive as Error('Request rejected: EEXIST') and are parsed.
 * Never: shell out to `ip`, log.
 */
import { FlagsNew, createRtNetlink, type RtNetlinkSocket, type rt } from 'netlink';
import type { OsCode } from '../base/errors.ts';
import {
  RT_TABLE_MAIN,
  describeAddr,
  describeRoute,
  netError,
  type AddrSpec,
  type BestRoute,
  type LinkInfo,
  type NetBackend,
  type RouteSpec,
} from './backend.ts';
import { familyOf, formatIPv4, formatIPv6, parseIPv4, parseIPv6, type Family } from '../base/ip.ts';

// linux/socket.h
const AF_INET = 2;
const AF_INET6 = 10;
// linux/rtnetlink.h
const RTPROT_KERNEL = 2;
const RTPROT_BOOT = 3;
const RTN_UNICAST = 1;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_LINK = 253;
const RT_SCOPE_NOWHERE = 255;

const NEW_FLAGS = FlagsNew.CREATE | FlagsNew.EXCL;
/** Netlink replies come at once; a bound keeps a wedged socket from hanging the shell. */
const REQUEST_TIMEOUT_MS = 5000;

function afOf(f: Family): number {
  return f === 4 ? AF_INET : AF_INET6;
}

function addrBytes(a: string): Buffer {
  const v4 = parseIPv4(a);
  if (v4 !== undefined) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v4);
    return b;
  }
  const v6 = parseIPv6(a);
  if (v6 === undefined) throw new TypeError(`not an IP address: ${a}`);
  return Buffer.from(v6);
}

function addrText(b: Buffer | undefined): string | undefined {
  if (b === undefined) return undefined;
  if (b.length === 4) return formatIPv4(b.readUInt32BE(0));
  if (b.length === 16) return formatIPv6(b);
  return undefined;
}

function errnoName(err: unknown): string {
  const m = err instanceof Error ? /Request rejected: (\w+)/.exec(err.message) : null;
  if (m?.[1] !== undefined) return m[1];
  return err instanceof Error && /Timeout/.test(err.message) ? 'ETIMEDOUT' : 'EIO';
}

export class NetlinkBackend implements NetBackend {
  readonly #sock: RtNetlinkSocket;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(sock: RtNetlinkSocket = createRtNetlink()) {
    this.#sock = sock;
  }

  /**
   * One request at a time on the socket: the kernel runs one dump per netlink socket and refuses
   * a second meanwhile (EBUSY), e.g. a roaming route look-up while a teardown lists the links.
   */
  async #call<T>(code: OsCode, what: string, fn: () => Promise<T>): Promise<T> {
    const turn = this.#queue.then(fn);
    this.#queue = turn.catch(() => undefined);
    try {
      return await turn;
    } catch (err) {
      throw netError(code, what, errnoName(err), err instanceof Error ? err.message : String(err));
    }
  }

  async #links(): Promise<rt.LinkMessage[]> {
    return this.#sock.getLinks(undefined, undefined, { timeout: REQUEST_TIMEOUT_MS });
  }

  async #index(dev: string, code: OsCode, what: string): Promise<number> {
    const links = await this.#call(code, what, () => this.#links());
    const l = links.find((x) => x.attrs.ifname === dev);
    if (l?.data.index === undefined) throw netError(code, what, 'ENODEV');
    return l.data.index;
  }

  async #names(): Promise<Map<number, string>> {
    const links = await this.#call('OS', 'list links', () => this.#links());
    return new Map(links.map((l) => [l.data.index ?? 0, l.attrs.ifname ?? '']));
  }

  async getLink(dev: string): Promise<LinkInfo> {
    const links = await this.#call('OS', `link ${dev}`, () => this.#links());
    const l = links.find((x) => x.attrs.ifname === dev);
    if (l === undefined) throw netError('OS', `link ${dev}`, 'ENODEV');
    return { name: dev, index: l.data.index ?? 0, up: l.data.flags?.up === true, mtu: l.attrs.mtu ?? 0 };
  }

  async setLink(dev: string, state: { readonly up: boolean; readonly mtu: number }): Promise<void> {
    const what = `link ${dev} ${state.up ? 'up' : 'down'} mtu ${state.mtu}`;
    const index = await this.#index(dev, 'OS', what);
    const flags: rt.DeviceFlags = state.up ? { up: true } : {};
    await this.#call('OS', what, () =>
      this.#sock.setLink({ index, flags, change: { up: true } }, { mtu: state.mtu }, { timeout: REQUEST_TIMEOUT_MS }),
    );
  }

  async #addrMsg(a: AddrSpec, what: string): Promise<[rt.Address, rt.AddressAttrs]> {
    const index = await this.#index(a.dev, 'ADDR_APPLY', what);
    const local = addrBytes(a.local);
    const attrs: rt.AddressAttrs = { local, address: a.peer === undefined ? local : addrBytes(a.peer) };
    return [{ family: afOf(a.family), prefixlen: a.prefixLen, index, scope: RT_SCOPE_UNIVERSE }, attrs];
  }

  async addAddress(a: AddrSpec): Promise<void> {
    const what = describeAddr(a);
    const [data, attrs] = await this.#addrMsg(a, what);
    await this.#call('ADDR_APPLY', what, () =>
      this.#sock.newAddress(data, attrs, { flags: NEW_FLAGS, timeout: REQUEST_TIMEOUT_MS }),
    );
  }

  async delAddress(a: AddrSpec): Promise<void> {
    const what = describeAddr(a);
    const [data, attrs] = await this.#addrMsg(a, what);
    await this.#call('ADDR_APPLY', what, () => this.#sock.delAddress(data, attrs, { timeout: REQUEST_TIMEOUT_MS }));
  }

  async listAddresses(dev: string): Promise<AddrSpec[]> {
    const index = await this.#index(dev, 'OS', `addresses of ${dev}`);
    const msgs = await this.#call('OS', `addresses of ${dev}`, () =>
      this.#sock.getAddresses(undefined, undefined, { timeout: REQUEST_TIMEOUT_MS }),
    );
    const out: AddrSpec[] = [];
    for (const m of msgs) {
      if (m.data.index !== index) continue;
      const family: Family = m.data.family === AF_INET ? 4 : 6;
      const local = addrText(m.attrs.local ?? m.attrs.address);
      const addr = addrText(m.attrs.address);
      if (local === undefined || (family === 6 && local.startsWith('fe80:'))) continue;
      const base: AddrSpec = { dev, family, local, prefixLen: m.data.prefixlen ?? 0 };
      out.push(addr !== undefined && addr !== local ? { ...base, peer: addr } : base);
    }
    return out;
  }

  async #routeMsg(r: RouteSpec, what: string, del: boolean): Promise<[rt.Route, rt.RouteAttrs]> {
    const table = r.table ?? RT_TABLE_MAIN;
    const attrs: rt.RouteAttrs = {};
    if (r.prefixLen > 0) attrs.dst = addrBytes(r.dst);
    if (r.gateway !== undefined) attrs.gateway = addrBytes(r.gateway);
    if (r.dev !== undefined) attrs.oif = await this.#index(r.dev, 'ROUTE_APPLY', what);
    if (r.metric !== undefined) attrs.priority = r.metric;
    if (table > 255) attrs.table = table;
    const scope = del ? RT_SCOPE_NOWHERE : r.gateway === undefined && r.family === 4 ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    const data: rt.Route = {
      family: afOf(r.family),
      dstLen: r.prefixLen,
      table: table > 255 ? 0 : table,
      ...(del ? {} : { protocol: RTPROT_BOOT }),
      scope,
      type: RTN_UNICAST,
    };
    return [data, attrs];
  }

  async addRoute(r: RouteSpec): Promise<void> {
    const what = describeRoute(r);
    const [data, attrs] = await this.#routeMsg(r, what, false);
    await this.#call('ROUTE_APPLY', what, () =>
      this.#sock.newRoute(data, attrs, { flags: NEW_FLAGS, timeout: REQUEST_TIMEOUT_MS }),
    );
  }

  async delRoute(r: RouteSpec): Promise<void> {
    const what = describeRoute(r);
    const [data, attrs] = await this.#routeMsg(r, what, true);
    await this.#call('ROUTE_APPLY', what, () => this.#sock.delRoute(data, attrs, { timeout: REQUEST_TIMEOUT_MS }));
  }

  async listRoutes(filter: { readonly dev?: string; readonly family?: Family } = {}): Promise<RouteSpec[]> {
    const names = await this.#names();
    const data: rt.Route = filter.family === undefined ? {} : { family: afOf(filter.family) };
    const msgs = await this.#call('OS', 'list routes', () =>
      this.#sock.getRoutes(data, undefined, { timeout: REQUEST_TIMEOUT_MS }),
    );
    const out: RouteSpec[] = [];
    for (const m of msgs) {
      const table = m.attrs.table ?? m.data.table;
      if (table !== RT_TABLE_MAIN || m.data.type !== 'UNICAST' && m.data.type !== RTN_UNICAST) continue;
      if (m.data.protocol === 'KERNEL' || m.data.protocol === RTPROT_KERNEL) continue;
      const family: Family = m.data.family === AF_INET ? 4 : 6;
      const dev = m.attrs.oif === undefined ? undefined : names.get(m.attrs.oif);
      if (filter.dev !== undefined && dev !== filter.dev) continue;
      const dst = addrText(m.attrs.dst) ?? (family === 4 ? '0.0.0.0' : '::');
      const gateway = addrText(m.attrs.gateway);
      out.push({
        family,
        dst,
        prefixLen: m.data.dstLen ?? 0,
        ...(gateway === undefined ? {} : { gateway }),
        ...(dev === undefined ? {} : { dev }),
        ...(m.attrs.priority === undefined ? {} : { metric: m.attrs.priority }),
        table: RT_TABLE_MAIN,
      });
    }
    return out;
  }

  async bestRoute(dst: string): Promise<BestRoute> {
    const family = familyOf(dst);
    const what = `route lookup for ${dst}`;
    if (family === undefined) throw netError('ROUTE_APPLY', what, 'EINVAL');
    const msgs = await this.#call('ROUTE_APPLY', what, () =>
      this.#sock.getRoute(
        { family: afOf(family), dstLen: family === 4 ? 32 : 128 },
        { dst: addrBytes(dst) },
        { timeout: REQUEST_TIMEOUT_MS },
      ),
    );
    const m = msgs[0];
    const oif = m?.attrs.oif;
    const dev = oif === undefined ? undefined : (await this.#names()).get(oif);
    if (m === undefined || dev === undefined) throw netError('ROUTE_APPLY', what, 'ENETUNREACH');
    const gateway = addrText(m.attrs.gateway);
    const prefsrc = addrText(m.attrs.prefsrc);
    return { dev, ...(gateway === undefined ? {} : { gateway }), ...(prefsrc === undefined ? {} : { prefsrc }) };
  }

  close(): void {
    this.#sock.socket.close();
  }
}
