/**
 * In-memory NetBackend: a model of the kernel's links, addresses and main routing table, for
 * tests of apply.ts and the shell. It refuses what the kernel refuses (EEXIST on a duplicate
 * address or route, ESRCH / EADDRNOTAVAIL on deleting what is not there, ENODEV for unknown
 * links, ENETUNREACH for a gateway not on any connected route) and can be told to fail on the
 * Nth mutating call.
 * Never: touch the OS.
 */
import type { OsCode } from '../base/errors.ts';
import {
  IP6_RT_PRIO_USER,
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
import { canonicalAddr, inPrefix, networkOf, type Family } from '../base/ip.ts';
import type { NetChangeKind } from './watch.ts';

export interface MemoryBackendOptions {
  /** Links that exist at start (like `lo`, `eth0`, `tun0`). */
  readonly links?: readonly { readonly name: string; readonly mtu?: number; readonly up?: boolean }[];
  readonly addresses?: readonly AddrSpec[];
  readonly routes?: readonly RouteSpec[];
}

export class MemoryNetBackend implements NetBackend {
  readonly #links = new Map<string, LinkInfo>();
  #addrs: AddrSpec[] = [];
  #routes: RouteSpec[] = [];
  #calls = 0;
  #failAt: { readonly n: number; readonly errno: string } | undefined;
  /** Every mutating call, in order, e.g. `route-add 0.0.0.0/1 via 10.8.0.1`. */
  readonly log: string[] = [];
  /** Change listeners (the in-memory twin of rtnetlink notifications, see watch.ts). */
  readonly #listeners = new Set<(kind: NetChangeKind) => void>();

  constructor(opts: MemoryBackendOptions = {}) {
    for (const l of opts.links ?? []) {
      this.#links.set(l.name, { name: l.name, index: this.#links.size + 1, up: l.up ?? true, mtu: l.mtu ?? 1500 });
    }
    this.#addrs = (opts.addresses ?? []).map(normAddr);
    this.#routes = (opts.routes ?? []).map(normRoute);
  }

  /** Make the nth (1-based) mutating call from now on fail with `errno`. */
  failOn(n: number, errno = 'EPERM'): void {
    this.#failAt = { n: this.#calls + n, errno };
  }

  addLink(name: string, mtu = 1500): void {
    this.#links.set(name, { name, index: this.#links.size + 1, up: false, mtu });
    this.#changed('link');
  }

  /** A device disappears (unplugged, deleted): its addresses and routes go with it, as in the kernel. */
  removeLink(name: string): void {
    this.#links.delete(name);
    this.#addrs = this.#addrs.filter((a) => a.dev !== name);
    this.#routes = this.#routes.filter((r) => r.dev !== name);
    this.#changed('link');
  }

  /** Calls `fn` after every change to links, addresses or routes; returns the unsubscribe. */
  watch(fn: (kind: NetChangeKind) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #changed(kind: NetChangeKind): void {
    for (const fn of [...this.#listeners]) fn(kind);
  }

  async getLink(dev: string): Promise<LinkInfo> {
    return this.#link(dev, 'OS', `link ${dev}`);
  }

  async setLink(dev: string, state: { readonly up: boolean; readonly mtu: number }): Promise<void> {
    this.#mutate('OS', `link ${dev} up=${state.up} mtu ${state.mtu}`);
    const l = this.#link(dev, 'OS', `link ${dev}`);
    this.#links.set(dev, { ...l, up: state.up, mtu: state.mtu });
    this.#changed('link');
  }

  async addAddress(addr: AddrSpec): Promise<void> {
    const a = normAddr(addr);
    this.#mutate('ADDR_APPLY', `addr-add ${describeAddr(a)}`);
    this.#link(a.dev, 'ADDR_APPLY', describeAddr(a));
    if (this.#addrs.some((x) => sameAddr(x, a))) throw netError('ADDR_APPLY', describeAddr(a), 'EEXIST');
    this.#addrs.push(a);
    this.#changed('address');
  }

  async delAddress(addr: AddrSpec): Promise<void> {
    const a = normAddr(addr);
    this.#mutate('ADDR_APPLY', `addr-del ${describeAddr(a)}`);
    const i = this.#addrs.findIndex((x) => sameAddr(x, a));
    if (i < 0) throw netError('ADDR_APPLY', describeAddr(a), 'EADDRNOTAVAIL');
    this.#addrs.splice(i, 1);
    this.#changed('address');
  }

  async listAddresses(dev: string): Promise<AddrSpec[]> {
    return this.#addrs.filter((a) => a.dev === dev);
  }

  async addRoute(route: RouteSpec): Promise<void> {
    const r = normRoute(route);
    this.#mutate('ROUTE_APPLY', `route-add ${describeRoute(r)}`);
    if (r.dev !== undefined) this.#link(r.dev, 'ROUTE_APPLY', describeRoute(r));
    if (this.#routes.some((x) => sameRouteKey(x, r))) throw netError('ROUTE_APPLY', describeRoute(r), 'EEXIST');
    if (r.gateway !== undefined && !this.#onLink(r.gateway)) {
      throw netError('ROUTE_APPLY', describeRoute(r), 'ENETUNREACH');
    }
    const dev = r.dev ?? (r.gateway === undefined ? undefined : this.#lookup(r.gateway)?.dev);
    this.#routes.push(dev === undefined ? r : { ...r, dev });
    this.#changed('route');
  }

  async delRoute(route: RouteSpec): Promise<void> {
    const r = normRoute(route);
    this.#mutate('ROUTE_APPLY', `route-del ${describeRoute(r)}`);
    const i = this.#routes.findIndex(
      (x) => sameRouteKey(x, r) && (r.gateway === undefined || x.gateway === r.gateway),
    );
    if (i < 0) throw netError('ROUTE_APPLY', describeRoute(r), 'ESRCH');
    this.#routes.splice(i, 1);
    this.#changed('route');
  }

  async listRoutes(filter: { readonly dev?: string; readonly family?: Family } = {}): Promise<RouteSpec[]> {
    return this.#routes.filter(
      (r) => (filter.dev === undefined || r.dev === filter.dev) && (filter.family === undefined || r.family === filter.family),
    );
  }

  async bestRoute(dst: string): Promise<BestRoute> {
    const r = this.#lookup(dst);
    if (r === undefined || r.dev === undefined) throw netError('ROUTE_APPLY', `route lookup for ${dst}`, 'ENETUNREACH');
    return r.gateway === undefined ? { dev: r.dev } : { dev: r.dev, gateway: r.gateway };
  }

  close(): void {}

  /** Longest prefix match, then lowest metric: what the kernel's FIB lookup returns. */
  #lookup(dst: string): RouteSpec | undefined {
    let best: RouteSpec | undefined;
    for (const r of this.#routes) {
      if (!inPrefix(dst, r.dst, r.prefixLen)) continue;
      if (
        best === undefined ||
        r.prefixLen > best.prefixLen ||
        (r.prefixLen === best.prefixLen && (r.metric ?? 0) < (best.metric ?? 0))
      ) {
        best = r;
      }
    }
    return best;
  }

  /** A gateway must be reachable through a connected (gateway-less) route or a peer address. */
  #onLink(gw: string): boolean {
    return (
      this.#routes.some((r) => r.gateway === undefined && inPrefix(gw, r.dst, r.prefixLen)) ||
      this.#addrs.some((a) => a.peer === gw || inPrefix(gw, a.local, a.prefixLen))
    );
  }

  #link(dev: string, code: OsCode, what: string): LinkInfo {
    const l = this.#links.get(dev);
    if (l === undefined) throw netError(code, what, 'ENODEV');
    return l;
  }

  #mutate(code: OsCode, what: string): void {
    this.#calls++;
    this.log.push(what);
    if (this.#failAt !== undefined && this.#calls === this.#failAt.n) {
      const errno = this.#failAt.errno;
      this.#failAt = undefined;
      throw netError(code, what.replace(/^[a-z-]+ /, ''), errno);
    }
  }
}

function normAddr(a: AddrSpec): AddrSpec {
  const local = canonicalAddr(a.local) ?? a.local;
  const peer = a.peer === undefined ? undefined : (canonicalAddr(a.peer) ?? a.peer);
  return peer === undefined ? { ...a, local } : { ...a, local, peer };
}

function normRoute(r: RouteSpec): RouteSpec {
  const dst = networkOf(r.dst, r.prefixLen) ?? r.dst;
  const metric = r.metric ?? (r.family === 6 ? IP6_RT_PRIO_USER : undefined);
  const out: RouteSpec = { ...r, dst, table: r.table ?? RT_TABLE_MAIN, ...(metric === undefined ? {} : { metric }) };
  return r.gateway === undefined ? out : { ...out, gateway: canonicalAddr(r.gateway) ?? r.gateway };
}

function sameAddr(x: AddrSpec, y: AddrSpec): boolean {
  return x.dev === y.dev && x.local === y.local && x.prefixLen === y.prefixLen;
}

/** The kernel's duplicate test with NLM_F_EXCL: same destination, length, metric and table. */
function sameRouteKey(x: RouteSpec, y: RouteSpec): boolean {
  return (
    x.family === y.family &&
    x.dst === y.dst &&
    x.prefixLen === y.prefixLen &&
    (x.metric ?? 0) === (y.metric ?? 0) &&
    (x.table ?? RT_TABLE_MAIN) === (y.table ?? RT_TABLE_MAIN)
  );
}
