/**
 * The DNS planner: from the effective options (local + pushed), what to tell the system's
 * resolver. Pure: no I/O, no logging (notes are returned for the caller to log).
 *
 *   options --dnsSettings--> profiles by priority + search domains   (options.c dhcp_options_postprocess_dns)
 *           --planDns(caps)--> the first profile the backend can apply (dns-updown's *_compat_profile)
 *                              servers, search domains, routing domains, default route
 *
 * Which of `dns` and `dhcp-option` wins (OpenVPN 2.7): when any `dns server` profile exists (local
 * or pushed) only the `dns` options count; otherwise `dhcp-option DNS/DNS6` become one profile of
 * priority 0 (IPv4 addresses first, at most 8) with DOMAIN (or ADAPTER_DOMAIN_SUFFIX, the last one
 * wins) then DOMAIN-SEARCH as search domains. Without a server nothing is applied. A pushed
 * `dns server N` replaces a local profile N (config/table-network.ts).
 *
 * Routing (resolved only; docs/dns.md): a profile with resolve-domains is split DNS on those
 * (`~domain`); otherwise with redirect-gateway the tun link is the default DNS route (`~.`);
 * otherwise split DNS on the search domains; with no domain at all, `~.` again.
 */
import type { ClientOptions, DnsServer, DnsUpdown } from '../config/options.ts';

export interface DnsAddr {
  readonly ip: string;
  readonly family: 4 | 6;
  /** Undefined: the default port 53. */
  readonly port: number | undefined;
}

export interface DnsProfile {
  readonly priority: number;
  readonly addresses: readonly DnsAddr[];
  readonly resolveDomains: readonly string[];
  readonly dnssec: DnsServer['dnssec'];
  readonly transport: DnsServer['transport'];
  readonly sni: string | undefined;
}

export interface DnsSettings {
  /** Where the servers came from. */
  readonly source: 'dns' | 'dhcp-option' | 'none';
  /** Ordered by priority (lowest number first). */
  readonly profiles: readonly DnsProfile[];
  readonly searchDomains: readonly string[];
}

/** What a backend can express. */
export interface BackendCaps {
  readonly name: string;
  readonly dot: boolean;
  readonly dnssec: boolean;
  readonly ports: boolean;
  readonly splitDns: boolean;
  /** Name servers used per profile (resolv.conf: glibc reads 3). */
  readonly maxServers: number;
  readonly maxSearch: number;
}

export interface DnsPlan {
  readonly backend: string;
  readonly priority: number;
  readonly servers: readonly DnsAddr[];
  readonly searchDomains: readonly string[];
  /** resolved routing-only domains, without the `~`; `.` is the root (default route). */
  readonly routingDomains: readonly string[];
  readonly defaultRoute: boolean;
  readonly dnssec: DnsServer['dnssec'];
  readonly dot: boolean;
  readonly sni: string | undefined;
}

export interface PlanResult {
  readonly plan: DnsPlan | undefined;
  /** Skipped profiles, truncations, unreachable families: one line each, for the log. */
  readonly notes: readonly string[];
}

/** OpenVPN's N_DHCP_ADDR-ish bound on a profile's addresses (dns.h: addr[8]). */
const MAX_PROFILE_ADDRS = 8;
/** tun.h N_SEARCH_LIST_LEN. */
const MAX_DHCP_SEARCH = 10;

/** `[v6]:port`, `v4:port`, or a bare address (the table validated the syntax). */
export function parseDnsAddr(v: string): DnsAddr {
  const b = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (b) return { ip: b[1] ?? '', family: 6, port: b[2] === undefined ? undefined : Number(b[2]) };
  const colons = v.split(':').length - 1;
  if (colons === 1) {
    const [ip, port] = v.split(':');
    return { ip: ip ?? '', family: 4, port: Number(port) };
  }
  return { ip: v, family: colons === 0 ? 4 : 6, port: undefined };
}

export function formatDnsAddr(a: DnsAddr): string {
  if (a.port === undefined) return a.ip;
  return a.family === 6 ? `[${a.ip}]:${a.port}` : `${a.ip}:${a.port}`;
}

/** The settings OpenVPN 2.7 hands its dns-updown command, from the effective options. */
export function dnsSettings(o: ClientOptions): DnsSettings {
  if (o.dns.servers.length > 0) {
    const profiles = [...o.dns.servers]
      .sort((a, b) => a.priority - b.priority)
      .map((s) => ({ priority: s.priority, addresses: s.addresses.map(parseDnsAddr), resolveDomains: s.resolveDomains, dnssec: s.dnssec, transport: s.transport, sni: s.sni }));
    return { source: 'dns', profiles, searchDomains: o.dns.searchDomains };
  }
  const v4: DnsAddr[] = [];
  const v6: DnsAddr[] = [];
  let domain: string | undefined;
  const search: string[] = [];
  for (const d of o.dhcpOptions) {
    const v = d.value;
    if (v === undefined) continue;
    if (d.type === 'DNS' || d.type === 'DNS6') (v.includes(':') ? v6 : v4).push({ ip: v, family: v.includes(':') ? 6 : 4, port: undefined });
    else if (d.type === 'DOMAIN' || d.type === 'ADAPTER_DOMAIN_SUFFIX') domain = v;
    else if (d.type === 'DOMAIN-SEARCH' && search.length < MAX_DHCP_SEARCH) search.push(v);
  }
  const addresses = [...v4, ...v6].slice(0, MAX_PROFILE_ADDRS);
  if (addresses.length === 0) return { source: 'none', profiles: [], searchDomains: [] };
  const profile: DnsProfile = { priority: 0, addresses, resolveDomains: [], dnssec: undefined, transport: undefined, sni: undefined };
  return { source: 'dhcp-option', profiles: [profile], searchDomains: [...(domain === undefined ? [] : [domain]), ...search] };
}

/** Why `caps` cannot apply this profile, or undefined when it can. */
export function unsupportedBy(p: DnsProfile, caps: BackendCaps): string | undefined {
  if (p.addresses.length === 0) return 'it has no address';
  if (p.transport === 'DoH') return 'DNS over HTTPS is not supported by any backend';
  if (p.transport === 'DoT' && !caps.dot) return `${caps.name} cannot do DNS over TLS`;
  if ((p.dnssec === 'yes' || p.dnssec === 'optional') && !caps.dnssec) return `${caps.name} cannot enforce DNSSEC ${p.dnssec}`;
  if (!caps.ports && p.addresses.some((a) => a.port !== undefined && a.port !== 53)) return `${caps.name} cannot use a port other than 53`;
  return undefined;
}

/** Is all IPv4 (or IPv6, with `ipv6`) traffic sent into the tunnel (redirect-gateway)? */
export function redirectsDefault(o: ClientOptions): boolean {
  const f = o.redirectGateway;
  if (f === undefined) return false;
  return !f.includes('!ipv4') || f.includes('ipv6');
}

/** The first profile (by priority) the backend can apply, and how. */
export function planDns(s: DnsSettings, caps: BackendCaps, opts: { readonly redirect: boolean; readonly ipv4?: boolean; readonly ipv6?: boolean }): PlanResult {
  const notes: string[] = [];
  const chosen = s.profiles.find((p) => {
    const why = unsupportedBy(p, caps);
    if (why !== undefined) notes.push(`DNS server ${p.priority} skipped: ${why}`);
    return why === undefined;
  });
  if (chosen === undefined) {
    if (s.profiles.length > 0) notes.push('setting DNS failed, no compatible server profile');
    return { plan: undefined, notes };
  }
  for (const fam of [4, 6] as const) {
    const configured = fam === 4 ? opts.ipv4 : opts.ipv6;
    const bad = chosen.addresses.filter((a) => a.family === fam).length;
    if (configured === false && bad > 0) {
      notes.push(bad === chosen.addresses.length
        ? `DNS server ${chosen.priority} only has IPv${fam} address(es) and the tunnel has no IPv${fam}: it will not be reachable`
        : `DNS server ${chosen.priority} has IPv${fam} address(es) and the tunnel has no IPv${fam}`);
    }
  }
  const servers = chosen.addresses.slice(0, caps.maxServers);
  if (servers.length < chosen.addresses.length) notes.push(`DNS server ${chosen.priority}: only the first ${caps.maxServers} of ${chosen.addresses.length} addresses are used by ${caps.name}`);
  const searchDomains = s.searchDomains.slice(0, caps.maxSearch);
  if (searchDomains.length < s.searchDomains.length) notes.push(`only the first ${caps.maxSearch} of ${s.searchDomains.length} search domains are used by ${caps.name}`);
  let routingDomains: string[];
  let defaultRoute: boolean;
  if (chosen.resolveDomains.length > 0) {
    routingDomains = chosen.resolveDomains.filter((d) => !searchDomains.includes(d));
    defaultRoute = false;
    if (!caps.splitDns) notes.push(`${caps.name} cannot do split DNS: the servers answer every name, not only ${chosen.resolveDomains.join(' ')}`);
  } else if (opts.redirect || searchDomains.length === 0) {
    routingDomains = ['.'];
    defaultRoute = true;
  } else {
    routingDomains = [];
    defaultRoute = false;
    if (caps.splitDns) notes.push(`no redirect-gateway: only names under ${searchDomains.join(' ')} are sent to the VPN's DNS`);
  }
  if (!caps.splitDns) {
    routingDomains = [];
    defaultRoute = true;
  }
  return {
    plan: { backend: caps.name, priority: chosen.priority, servers, searchDomains, routingDomains, defaultRoute, dnssec: chosen.dnssec, dot: chosen.transport === 'DoT', sni: chosen.transport === 'DoT' ? chosen.sni : undefined },
    notes,
  };
}

/** dns-updown (2.7 run_up_down_command): does ovpn-ts apply DNS itself, and why (not). */
export function nativeDnsDecision(o: Pick<ClientOptions, 'dnsUpdown' | 'scripts'>): { readonly on: boolean; readonly why: string } {
  const u: DnsUpdown = o.dnsUpdown;
  switch (u.mode) {
    case 'disable':
      return { on: false, why: 'dns-updown disable' };
    case 'command':
      return { on: false, why: `dns-updown ${u.command}: DNS is left to that command, which ovpn-ts does not run` };
    case 'force':
      return { on: true, why: 'dns-updown force' };
    case 'default':
      if (o.scripts.up !== undefined) return { on: false, why: 'the config has its own up script (it applies DNS; add dns-updown force to let ovpn-ts do it)' };
      return { on: true, why: 'default' };
  }
}

/** The resolv.conf text for a plan (resolvconf's stdin, or the whole /etc/resolv.conf). */
export function resolvConfText(plan: DnsPlan, dev: string): string {
  const lines = [`# Generated by ovpn-ts for ${dev}`];
  for (const s of plan.servers) lines.push(`nameserver ${s.ip}`);
  if (plan.searchDomains.length > 0) lines.push(`search ${plan.searchDomains.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** One line for the log and --check. */
export function describePlan(plan: DnsPlan): string {
  const parts = [`servers ${plan.servers.map(formatDnsAddr).join(' ')}`];
  if (plan.searchDomains.length > 0) parts.push(`search ${plan.searchDomains.join(' ')}`);
  if (plan.routingDomains.length > 0) parts.push(`routing ${plan.routingDomains.map((d) => '~' + d).join(' ')}`);
  parts.push(plan.defaultRoute ? 'default DNS route' : 'split DNS');
  if (plan.dnssec !== undefined) parts.push(`dnssec ${plan.dnssec}`);
  if (plan.dot) parts.push(`DNS over TLS${plan.sni === undefined ? '' : ` (${plan.sni})`}`);
  return parts.join(', ');
}
