/**
 * The NetBackend port: what ovpn-ts asks of the kernel's routing layer (links, addresses, routes),
 * shaped after OpenVPN's backend-neutral networking.h (net_iface_mtu_set, net_addr_v4_add,
 * net_route_v4_add, net_route_v4_best_gw, ...).
 *
 *   plan.ts (pure) --NetOp[]--> apply.ts --calls--> NetBackend
 *                                                   |-- netlink-backend.ts (rtnetlink, real)
 *                                                   '-- memory-backend.ts  (in-memory twin)
 *
 * Both adapters fail the same way: OsError('ADDR_APPLY' | 'ROUTE_APPLY' | 'OS') with a message
 * naming the change and the reason, and an `ErrnoError` cause carrying the errno name (EEXIST ...).
 * Never: shell out to `ip`, log, or replace an existing route silently.
 */
import { OsError, type OsCode } from '../base/errors.ts';
import type { Family } from '../base/ip.ts';

/** RT_TABLE_MAIN (linux/rtnetlink.h). */
export const RT_TABLE_MAIN = 254;
/** IP6_RT_PRIO_USER (linux/ipv6_route.h): the metric the kernel gives an IPv6 route added without one. */
export const IP6_RT_PRIO_USER = 1024;

export interface LinkInfo {
  readonly name: string;
  readonly index: number;
  readonly up: boolean;
  readonly mtu: number;
}

/** An interface address. `peer` makes it point-to-point (`ip addr add LOCAL peer PEER`). */
export interface AddrSpec {
  readonly dev: string;
  readonly family: Family;
  readonly local: string;
  readonly prefixLen: number;
  readonly peer?: string;
}

/** A unicast route in the main table unless `table` says otherwise. `dst` is the network address. */
export interface RouteSpec {
  readonly family: Family;
  readonly dst: string;
  readonly prefixLen: number;
  readonly gateway?: string;
  readonly dev?: string;
  readonly metric?: number;
  readonly table?: number;
}

/** The kernel's answer to "how would you reach X" (RTM_GETROUTE). */
export interface BestRoute {
  readonly gateway?: string;
  readonly dev: string;
  readonly prefsrc?: string;
}

export interface NetBackend {
  getLink(dev: string): Promise<LinkInfo>;
  /** Sets the link administratively up or down and its MTU. */
  setLink(dev: string, state: { readonly up: boolean; readonly mtu: number }): Promise<void>;
  addAddress(addr: AddrSpec): Promise<void>;
  delAddress(addr: AddrSpec): Promise<void>;
  listAddresses(dev: string): Promise<AddrSpec[]>;
  /** Adds a route; a route with the same destination, metric and table fails with EEXIST. */
  addRoute(route: RouteSpec): Promise<void>;
  delRoute(route: RouteSpec): Promise<void>;
  /** Unicast routes of the main table, optionally only those through `dev`. */
  listRoutes(filter?: { readonly dev?: string; readonly family?: Family }): Promise<RouteSpec[]>;
  bestRoute(dst: string): Promise<BestRoute>;
  close(): void;
}

/** The cause attached to backend OsErrors: the kernel's errno, by name. */
export class ErrnoError extends Error {
  readonly code: string;
  constructor(code: string, detail?: string) {
    super(detail === undefined ? code : `${code}: ${detail}`);
    this.code = code;
    this.name = 'ErrnoError';
  }
}

/** The errno name behind a backend error (its cause), if any. */
export function errnoOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++, e = e.cause) {
    if (e instanceof ErrnoError) return e.code;
  }
  return undefined;
}

const REASONS: Readonly<Record<string, string>> = {
  EEXIST: 'already exists',
  ESRCH: 'does not exist',
  ENOENT: 'does not exist',
  EADDRNOTAVAIL: 'does not exist',
  ENODEV: 'device not found',
  ENETUNREACH: 'failed: network is unreachable (ENETUNREACH)',
  EPERM: 'permission denied (needs CAP_NET_ADMIN: run as root)',
  EACCES: 'permission denied (needs CAP_NET_ADMIN: run as root)',
  EINVAL: 'rejected as invalid by the kernel',
};

export function describeRoute(r: RouteSpec): string {
  let s = `route ${r.dst}/${r.prefixLen}`;
  if (r.gateway !== undefined) s += ` via ${r.gateway}`;
  if (r.dev !== undefined) s += ` dev ${r.dev}`;
  if (r.metric !== undefined) s += ` metric ${r.metric}`;
  if (r.table !== undefined && r.table !== RT_TABLE_MAIN) s += ` table ${r.table}`;
  return s;
}

export function describeAddr(a: AddrSpec): string {
  const peer = a.peer === undefined ? '' : ` peer ${a.peer}`;
  return `address ${a.local}/${a.prefixLen}${peer} on ${a.dev}`;
}

/** The one way both adapters report a refused change: "route 10.9.0.0/16 via 10.8.0.1 already exists". */
export function netError(code: OsCode, what: string, errno: string, detail?: string): OsError {
  const reason = REASONS[errno] ?? `failed (${errno})`;
  return new OsError(code, `${what} ${reason}`, { cause: new ErrnoError(errno, detail) });
}
