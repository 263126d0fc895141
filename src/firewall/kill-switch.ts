/**
 * The kill switch over its lifetime (docs/leak-protection.md): installed before the first packet to
 * a server, kept while ovpn-ts runs and reconnects, removed on every exit path; after a crash the
 * rules stay (fail closed) until the next start takes them over or removes them.
 *
 *   start ──▶ leftover of a dead run? ── kill switch wanted ──▶ taken over (replaced in one transaction)
 *        │                          └── not wanted ─────────▶ removed
 *        └─▶ resolve every remote / proxy ─▶ journal claim ─▶ nft: table inet ovpn_ts
 *   attempt: endpoint resolved ─▶ allow() (rules replaced if it is new)
 *   tun device (re)opened     ─▶ setTunDev() (rules replaced if the name changed)
 *   exit (TERM, INT, fatal, uncaught) ─▶ remove(): nft delete, journal released
 *   SIGHUP reload ─▶ kept; the next run replaces them (or removes them if it has no kill switch)
 *
 * Remote names are resolved once, at start, while DNS still works: with the rules in place a DNS
 * query outside the tunnel is dropped, so a reconnect uses the addresses pinned then.
 * Never: open a gap (every change is one nft transaction), log at more than info per change.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { AddressFamily, ClientOptions, ConnectionEntry } from '../config/index.ts';
import { OsError } from '../base/errors.ts';
import { networkOf } from '../base/ip.ts';
import type { Endpoint } from '../link/link.ts';
import type { Logger } from '../log/logger.ts';
import type { NetBackend } from '../routing/backend.ts';
import type { Firewall } from './nft.ts';
import type { FirewallJournal } from './journal.ts';
import { buildKillSwitch, describeKillSwitch, removeKillSwitch, type AllowedEndpoint, type KillSwitchState, type Subnet } from './ruleset.ts';

export interface KillSwitchDeps {
  readonly firewall: Firewall;
  readonly journal: FirewallJournal;
  readonly log: Logger;
  /** All addresses of a name (default: getaddrinfo through node:dns). */
  readonly lookupAll?: (host: string, family: 0 | 4 | 6) => Promise<{ address: string; family: 4 | 6 }[]>;
  /** For the LAN exception: the routes and addresses of the uplinks (rtnetlink). */
  readonly net?: NetBackend;
}

/** What a proxy in front of the server looks like to the kill switch. */
export interface ViaProxy {
  readonly kind: 'http' | 'socks';
  readonly endpoint: Endpoint;
}

async function systemLookupAll(host: string, family: 0 | 4 | 6): Promise<{ address: string; family: 4 | 6 }[]> {
  const r = await lookup(host, { all: true, family });
  return r.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

const familyNumber = (af: AddressFamily): 0 | 4 | 6 => (af === 'inet6' ? 6 : af === 'inet' ? 4 : 0);

/**
 * After a crash, when this run has no kill switch: removes the rules a dead ovpn-ts left in this
 * namespace. Does nothing (and runs no nft) when no run left any.
 */
export async function removeLeftoverKillSwitch(deps: KillSwitchDeps): Promise<void> {
  const owner = deps.journal.owner();
  if (owner === undefined || owner.alive) return;
  await deps.firewall.apply(removeKillSwitch());
  deps.journal.release();
  deps.log.info(owner.self === true ? 'kill switch: rules removed (the reloaded configuration has none)' : `kill switch: removed the rules left by ovpn-ts pid ${owner.pid} (killed before it could remove them); this run has no kill switch`);
}

export class KillSwitch {
  readonly #d: KillSwitchDeps;
  readonly #pinned = new Map<string, { address: string; family: 4 | 6 }[]>();
  #state: KillSwitchState = { tunDevs: [], endpoints: [], lan: [] };
  /** nft runs one after another, in call order. */
  #queue: Promise<void> = Promise.resolve();
  #removed = false;

  private constructor(deps: KillSwitchDeps) {
    this.#d = deps;
  }

  /**
   * Resolves every remote (and proxy) of the configuration, then installs the rules. A leftover of
   * a dead run is replaced in the same transaction; a live owner in this namespace is an error.
   */
  static async install(o: ClientOptions, tunDev: string | undefined, deps: KillSwitchDeps): Promise<KillSwitch> {
    const lan = o.killSwitch?.lan === true;
    const ks = new KillSwitch(deps);
    const owner = deps.journal.owner();
    if (owner?.alive === true) {
      throw new OsError('FIREWALL', `kill switch: ovpn-ts pid ${owner.pid} already holds the kill switch of this network namespace; one kill switch per namespace`);
    }
    const endpoints: AllowedEndpoint[] = [];
    for (const ce of o.connections) endpoints.push(...(await ks.#resolveEntry(ce)));
    const state: KillSwitchState = { tunDevs: tunDev === undefined ? [] : [tunDev], endpoints, lan: lan ? await ks.#uplinkSubnets(endpoints) : [] };
    deps.journal.claim();
    try {
      await deps.firewall.apply(buildKillSwitch(state));
    } catch (e) {
      if (!(await deps.firewall.hasTable().catch(() => true))) deps.journal.release();
      throw e;
    }
    ks.#state = state;
    if (owner?.self === true) deps.log.info('kill switch: rules kept across the reload, now replaced');
    else if (owner !== undefined) deps.log.info(`kill switch: took over the rules left by ovpn-ts pid ${owner.pid} (killed before it could remove them)`);
    for (const line of describeKillSwitch(state)) deps.log.info(`kill switch: ${line}`);
    return ks;
  }

  get state(): KillSwitchState {
    return this.#state;
  }

  /**
   * The address a name resolved to at start (a reconnect cannot ask DNS outside the tunnel), or a
   * fresh lookup for names that were not known then (allow() adds the result before connecting).
   */
  async resolve(host: string, port: number, af: AddressFamily): Promise<Endpoint> {
    const fam = familyNumber(af);
    if (isIP(host) !== 0) return { address: host, port, family: isIP(host) === 6 ? 6 : 4 };
    const known = (this.#pinned.get(host) ?? []).filter((a) => fam === 0 || a.family === fam);
    const first = known[0] ?? (await (this.#d.lookupAll ?? systemLookupAll)(host, fam))[0];
    if (first === undefined) throw new Error(`no address for ${host}`);
    return { address: first.address, port, family: first.family };
  }

  /** Before an attempt connects: the endpoint it will use is allowed (rules replaced if it is new). */
  allow(ce: ConnectionEntry, remote: Endpoint, proxy: ViaProxy | undefined): Promise<void> {
    const add = endpointsOf(ce, remote, proxy).filter((e) => !this.#state.endpoints.some((k) => sameEndpoint(k, e)));
    if (add.length === 0) return this.#queue;
    for (const e of add) this.#d.log.info(`kill switch: allowing ${e.proto} to ${e.address}:${e.port ?? '*'}`);
    return this.#replace({ ...this.#state, endpoints: [...this.#state.endpoints, ...add] });
  }

  /** The tunnel device was (re)opened under this name. */
  setTunDev(name: string): Promise<void> {
    if (this.#state.tunDevs.length === 1 && this.#state.tunDevs[0] === name) return this.#queue;
    return this.#replace({ ...this.#state, tunDevs: [name] });
  }

  /** Removes the rules and releases the journal; idempotent. Waits for pending changes first. */
  async remove(): Promise<void> {
    if (this.#removed) return;
    this.#removed = true;
    await this.#queue.catch(() => undefined);
    await this.#d.firewall.apply(removeKillSwitch());
    this.#d.journal.release();
    this.#d.log.info('kill switch: rules removed');
  }

  #replace(state: KillSwitchState): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.#removed) return;
      await this.#d.firewall.apply(buildKillSwitch(state));
      this.#state = state;
    };
    const p = this.#queue.then(run, run);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  async #resolveEntry(ce: ConnectionEntry): Promise<AllowedEndpoint[]> {
    const proxy = ce.httpProxy ?? ce.socksProxy;
    if (proxy !== undefined) {
      const out: AllowedEndpoint[] = [];
      for (const a of await this.#pin(proxy.host, ce.af)) {
        const ep = { address: a.address, port: proxy.port, family: a.family };
        out.push(...endpointsOf(ce, ep, { kind: ce.httpProxy === undefined ? 'socks' : 'http', endpoint: ep }));
      }
      return out;
    }
    return (await this.#pin(ce.remote, ce.af)).map((a) => ({ address: a.address, family: a.family, proto: ce.proto, port: ce.remotePort }));
  }

  async #pin(host: string, af: AddressFamily): Promise<{ address: string; family: 4 | 6 }[]> {
    if (isIP(host) !== 0) return [{ address: host, family: isIP(host) === 6 ? 6 : 4 }];
    const known = this.#pinned.get(host);
    if (known !== undefined) return known;
    try {
      const found = await (this.#d.lookupAll ?? systemLookupAll)(host, familyNumber(af));
      this.#pinned.set(host, found);
      return found;
    } catch (e) {
      throw new OsError('FIREWALL', `kill switch: cannot resolve ${host} before the rules go in: ${(e as Error).message}`, { cause: e });
    }
  }

  /** The subnets of the interfaces that carry the traffic to the servers, and IPv6 link-local. */
  async #uplinkSubnets(endpoints: readonly AllowedEndpoint[]): Promise<Subnet[]> {
    const net = this.#d.net;
    if (net === undefined) return [];
    const devs = new Set<string>();
    for (const e of endpoints) {
      try {
        devs.add((await net.bestRoute(e.address)).dev);
      } catch (err) {
        this.#d.log.warn(`kill switch: no route to ${e.address} (${(err as Error).message}): its uplink is not in the LAN exception`);
      }
    }
    const out: Subnet[] = [{ address: 'fe80::', family: 6, prefixLen: 10 }];
    for (const dev of devs) {
      for (const a of await net.listAddresses(dev)) {
        if (a.prefixLen === (a.family === 4 ? 32 : 128)) continue;
        out.push({ address: networkOf(a.local, a.prefixLen) ?? a.local, family: a.family, prefixLen: a.prefixLen });
      }
    }
    return out;
  }
}

function sameEndpoint(a: AllowedEndpoint, b: AllowedEndpoint): boolean {
  return a.address === b.address && a.proto === b.proto && (a.port === undefined || a.port === b.port);
}

/**
 * Where an attempt's packets go: the server itself; through an HTTP proxy or SOCKS over TCP, the
 * proxy's TCP port; through SOCKS over UDP also every UDP port of the proxy (the relay port is
 * chosen by the proxy at run time).
 */
export function endpointsOf(ce: ConnectionEntry, remote: Endpoint, proxy: ViaProxy | undefined): AllowedEndpoint[] {
  if (proxy === undefined) return [{ address: remote.address, family: remote.family, proto: ce.proto, port: remote.port }];
  const p = proxy.endpoint;
  const tcp: AllowedEndpoint = { address: p.address, family: p.family, proto: 'tcp', port: p.port };
  if (proxy.kind === 'socks' && ce.proto === 'udp') return [tcp, { address: p.address, family: p.family, proto: 'udp', port: undefined }];
  return [tcp];
}
