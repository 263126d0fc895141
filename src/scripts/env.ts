/**
 * The environment and argument list OpenVPN 2.6 gives its up / route-up / route-pre-down / down
 * scripts, built from the options (config + push) and what the tunnel knows. Pure: no process
 * environment, clock, fs or logging; the adapter (hooks.ts) passes pid, start time and certs in.
 *
 *   setenv_settings (options.c)       config verb daemon daemon_log_redirect daemon_start_time
 *                                     daemon_pid proto_N local_N local_port_N remote_N remote_port_N
 *   setenv / setenv-safe              NAME / OPENVPN_NAME
 *   verify_cert (ssl_verify.c)        tls_id_N tls_digest_N tls_digest_sha256_N tls_serial_N
 *                                     tls_serial_hex_N X509_N_<field> common_name
 *   link_socket_set_outgoing_addr     trusted_ip trusted_port untrusted_ip untrusted_port
 *   do_ifconfig_setenv (tun.c)        ifconfig_local ifconfig_remote|ifconfig_netmask ifconfig_ipv6_*
 *   init_route_list (route.c)         route_vpn_gateway route_net_gateway route_* route_ipv6_*
 *   setenv_foreign_option (options.c) foreign_option_N: each dhcp-option, then --dns rewritten
 *   setenv_dns_options (dns.c)        dns_search_domain_N dns_server_N_address_M ...
 *   run_up_down (init.c)              script_type script_context tun_mtu dev dev_type [signal]
 *
 * The env is the whole of what the script sees: OpenVPN execve()s with its own env set only (no
 * PATH, nothing inherited). Values may be secrets (setenv): callers never log them.
 */
import type { ClientOptions, ConnectionEntry, DnsServer, Route, RouteIpv6 } from '../config/index.ts';
import { tokenizeLine } from '../config/lexer.ts';
import type { Endpoint } from '../link/link.ts';
import { canonicalAddr, familyOf } from '../base/ip.ts';

export type ScriptEnv = Record<string, string>;
export type UpDownHook = 'up' | 'down' | 'route-pre-down';

/** One certificate of the server's chain (depth 0 = the server's own), as verify_cert sees it. */
export interface PeerCertInfo {
  /** Subject RDNs in certificate order: [short name, value], e.g. ['CN', 'server']. */
  readonly subject: readonly (readonly [string, string])[];
  /** SHA-1 and SHA-256 fingerprints, bytes as hex pairs joined by ':' (any case). */
  readonly sha1: string;
  readonly sha256: string;
  /** The serial number in hex (any case, no separators). */
  readonly serialHex: string;
}

/** Process-wide facts (setenv_settings). */
export interface ProcessFacts {
  /** The first --config file as given on the command line. */
  readonly configFile: string | undefined;
  readonly pid: number;
  /** Seconds since the epoch at start (daemon_start_time). */
  readonly startTime: number;
}

/** What the connection and the tunnel know when a script runs. */
export interface TunnelFacts {
  readonly options: ClientOptions;
  readonly remote: Endpoint;
  readonly peerChain: readonly PeerCertInfo[];
  /** The device name (`null` with dev null). */
  readonly dev: string;
  readonly devType: 'tun' | 'tap' | 'null';
  readonly tunMtu: number;
  /** The pre-existing IPv4 default gateway (route_net_gateway), if the kernel had one. */
  readonly netGateway: string | undefined;
  /** The pre-existing IPv6 gateway toward the server or the default (net_gateway_ipv6), if any. */
  readonly netGateway6?: string | undefined;
}

/** init.c run_up_down / do_route: the hook being run and its context. */
export interface HookFacts {
  readonly scriptType: UpDownHook | 'route-up';
  readonly context: 'init' | 'restart';
  /** signal_description(): set before route-pre-down and down (sigterm, sigint, ping-restart...). */
  readonly signal?: string | undefined;
  /** route_did_redirect_default_gateway(): set once routes were added (seen by route-pre-down/down). */
  readonly redirectGateway?: boolean | undefined;
}

/** tun.h IA_EMPTY_IF_UNDEF: undefined addresses are passed as empty strings. */
const EMPTY = '';

function put(env: ScriptEnv, name: string, value: string | number | undefined): void {
  if (value !== undefined) env[name] = String(value);
}

/** socket.c proto2ascii(proto, af, false) after options_postprocess made a client's tcp tcp-client. */
export function protoName(ce: ConnectionEntry): string {
  const fam = ce.af === 'inet' ? '4' : ce.af === 'inet6' ? '6' : '';
  return ce.proto === 'udp' ? `udp${fam}` : `tcp${fam}-client`;
}

/** options.c options_postprocess_mutate_ce: a client binds only when local/lport/bind asks for it. */
function localPort(o: ClientOptions, ce: ConnectionEntry): number | undefined {
  const needBind = ce.local !== undefined || ce.localPort !== undefined;
  const bound = needBind || (ce.bind && ce.proto === 'udp' && !o.pull);
  return bound ? (ce.localPort ?? 1194) : undefined;
}

export function settingsEnv(o: ClientOptions, p: ProcessFacts): ScriptEnv {
  const env: ScriptEnv = {};
  put(env, 'config', p.configFile);
  put(env, 'verb', o.verb);
  put(env, 'daemon', 0);
  put(env, 'daemon_log_redirect', o.log === undefined ? 0 : 1);
  put(env, 'daemon_start_time', p.startTime);
  put(env, 'daemon_pid', p.pid);
  o.connections.forEach((ce, i) => {
    put(env, `proto_${i + 1}`, protoName(ce));
    put(env, `local_${i + 1}`, ce.local);
    put(env, `local_port_${i + 1}`, localPort(o, ce));
    put(env, `remote_${i + 1}`, ce.remote);
    put(env, `remote_port_${i + 1}`, ce.remotePort);
  });
  for (const s of o.setenv) env[s.name] = s.value;
  return env;
}

/** Colon-separated lowercase hex pairs, as OpenVPN's format_hex_ex(..., ":"). */
function colonHex(hex: string): string {
  const clean = hex.replace(/:/g, '').toLowerCase();
  const even = clean.length % 2 === 1 ? `0${clean}` : clean;
  return (even.match(/../g) ?? []).join(':');
}

/** string.c string_mod(CC_PRINT): what OpenVPN allows in env values; the rest becomes '_'. */
function printable(v: string): string {
  return v.replace(/[^\x20-\x7e]/g, '_');
}

export function tlsEnv(chain: readonly PeerCertInfo[]): ScriptEnv {
  const env: ScriptEnv = {};
  chain.forEach((c, depth) => {
    for (const [field, value] of c.subject) env[`X509_${depth}_${field.replace(/[^A-Za-z0-9_]/g, '_')}`] = printable(value);
    env[`tls_id_${depth}`] = printable(c.subject.map(([k, v]) => `${k}=${v}`).join(', '));
    env[`tls_digest_${depth}`] = colonHex(c.sha1);
    env[`tls_digest_sha256_${depth}`] = colonHex(c.sha256);
    env[`tls_serial_${depth}`] = BigInt(`0x${c.serialHex.replace(/:/g, '') || '0'}`).toString(10);
    env[`tls_serial_hex_${depth}`] = colonHex(c.serialHex);
  });
  const cn = chain[0]?.subject.find(([k]) => k === 'CN')?.[1];
  if (cn !== undefined) env['common_name'] = printable(cn);
  return env;
}

export function remoteEnv(r: Endpoint): ScriptEnv {
  return { trusted_ip: r.address, trusted_port: String(r.port), untrusted_ip: r.address, untrusted_port: String(r.port) };
}

/** tun.c do_ifconfig_setenv: ifconfig_remote for point-to-point, ifconfig_netmask for subnet/tap. */
export function ifconfigEnv(o: ClientOptions, devType: TunnelFacts['devType']): ScriptEnv {
  const env: ScriptEnv = {};
  if (o.ifconfig !== undefined) {
    put(env, 'ifconfig_local', o.ifconfig.local);
    const p2p = devType === 'tun' && (o.topology ?? 'net30') !== 'subnet';
    put(env, p2p ? 'ifconfig_remote' : 'ifconfig_netmask', o.ifconfig.remoteOrNetmask);
  }
  if (o.ifconfigIpv6 !== undefined) {
    put(env, 'ifconfig_ipv6_local', o.ifconfigIpv6.address);
    put(env, 'ifconfig_ipv6_netbits', o.ifconfigIpv6.prefixLength);
    put(env, 'ifconfig_ipv6_remote', o.ifconfigIpv6.remote);
  }
  return env;
}

/** route.c init_route_list: route-gateway, else the --ifconfig remote on point-to-point tun. */
export function vpnGateway(o: ClientOptions): string | undefined {
  if (o.routeGateway !== undefined && o.routeGateway !== 'dhcp') return o.routeGateway;
  if (o.ifconfig !== undefined && (o.topology ?? 'net30') !== 'subnet') return o.ifconfig.remoteOrNetmask;
  return undefined;
}

function routeGatewayOf(r: Route, vpn: string | undefined, net: string | undefined, remote: string): string | undefined {
  const g = r.gateway ?? 'vpn_gateway';
  if (g === 'vpn_gateway') return vpn;
  if (g === 'net_gateway') return net;
  if (g === 'remote_host') return remote;
  return g;
}

function keywordAddr(a: string, vpn: string | undefined, net: string | undefined, remote: string): string | undefined {
  if (a === 'vpn_gateway') return vpn;
  if (a === 'net_gateway') return net;
  if (a === 'remote_host') return remote;
  return a;
}

/**
 * route.c setenv_routes / setenv_routes_ipv6: only routes that resolved (RT_DEFINED) get a number.
 * On Linux 2.6's rtnetlink lookup of the default gateway succeeds even when there is no default
 * route (or only an on-link one): the gateway is then 0.0.0.0, and that is what route_net_gateway
 * (and a `net_gateway` route) says.
 */
export function routeEnv(o: ClientOptions, gatewayFound: string | undefined, remote: Endpoint, netGateway6?: string): ScriptEnv {
  const env: ScriptEnv = {};
  const netGateway = gatewayFound ?? '0.0.0.0';
  // route.c init_route_ipv6_list: set only when the lookup found a gateway (no route_ prefix).
  put(env, 'net_gateway_ipv6', netGateway6 === undefined ? undefined : (canonicalAddr(netGateway6) ?? netGateway6));
  const vpn = vpnGateway(o);
  put(env, 'route_vpn_gateway', vpn);
  put(env, 'route_net_gateway', netGateway);
  let i = 1;
  for (const r of o.routes) {
    const network = keywordAddr(r.network, vpn, netGateway, remote.address);
    const gateway = routeGatewayOf(r, vpn, netGateway, remote.address);
    if (network === undefined || gateway === undefined || familyOf(network) !== 4) continue;
    put(env, `route_network_${i}`, network);
    put(env, `route_netmask_${i}`, r.netmask);
    put(env, `route_gateway_${i}`, gateway);
    put(env, `route_metric_${i}`, r.metric ?? o.routeMetric);
    i++;
  }
  const vpn6 = o.routeIpv6Gateway ?? o.ifconfigIpv6?.remote;
  let j = 1;
  for (const r of o.routesIpv6) j += route6Env(env, r, j, vpn6, o.routeMetric) ? 1 : 0;
  return env;
}

function route6Env(env: ScriptEnv, r: RouteIpv6, i: number, vpn6: string | undefined, metric: number | undefined): boolean {
  const gw = r.gateway ?? vpn6;
  const net = canonicalAddr(r.network);
  if (net === undefined) return false;
  put(env, `route_ipv6_network_${i}`, `${net}/${r.prefixLength}`);
  put(env, `route_ipv6_gateway_${i}`, gw === undefined ? '::' : (canonicalAddr(gw) ?? gw));
  put(env, `route_ipv6_metric_${i}`, r.metric ?? metric);
  return true;
}

/** `[addr]:port` / `a.b.c.d:port` / plain address (dns.c dns_server_addr_parse). */
function splitDnsAddr(a: string): { addr: string; port: string | undefined } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(a);
  if (v6 !== null) return { addr: v6[1] ?? a, port: v6[2] };
  const v4 = /^([0-9.]+):(\d+)$/.exec(a);
  if (v4 !== null) return { addr: v4[1] ?? a, port: v4[2] };
  return { addr: a, port: undefined };
}

/** dns.c keeps servers ordered by priority. */
function sortedServers(o: ClientOptions): DnsServer[] {
  return [...o.dns.servers].sort((a, b) => a.priority - b.priority);
}

export function dnsEnv(o: ClientOptions): ScriptEnv {
  const env: ScriptEnv = {};
  o.dns.searchDomains.forEach((d, i) => put(env, `dns_search_domain_${i + 1}`, d));
  sortedServers(o).forEach((s, i) => {
    s.addresses.forEach((a, j) => {
      const { addr, port } = splitDnsAddr(a);
      put(env, `dns_server_${i + 1}_address_${j + 1}`, canonicalAddr(addr) ?? addr);
      put(env, `dns_server_${i + 1}_port_${j + 1}`, port);
    });
    s.resolveDomains.forEach((d, j) => put(env, `dns_server_${i + 1}_resolve_domain_${j + 1}`, d));
    put(env, `dns_server_${i + 1}_dnssec`, s.dnssec);
    put(env, `dns_server_${i + 1}_transport`, s.transport === undefined ? undefined : s.transport === 'plain' ? 'plain' : s.transport);
    put(env, `dns_server_${i + 1}_sni`, s.sni);
  });
  return env;
}

/**
 * options.c setenv_foreign_option + foreign_options_copy_dns: one entry per dhcp-option (config
 * first, then pushed). When --dns options exist, the `dhcp-option DNS*` (with servers) and
 * `dhcp-option DOMAIN-SEARCH` (with search domains) entries are dropped, the rest renumbered, and
 * the --dns servers and search domains appended as dhcp-option DNS/DNS6/DOMAIN-SEARCH.
 */
export function foreignOptions(o: ClientOptions): string[] {
  let out = o.dhcpOptions.map((d) => ['dhcp-option', d.type, ...(d.value === undefined ? [] : [d.value])].join(' '));
  const servers = sortedServers(o);
  const domains = o.dns.searchDomains;
  if (servers.length === 0 && domains.length === 0) return out;
  out = out.filter((v) => !((domains.length > 0 && v.startsWith('dhcp-option DOMAIN-SEARCH')) || (servers.length > 0 && v.startsWith('dhcp-option DNS'))));
  for (const s of servers) {
    for (const a of s.addresses) {
      const { addr } = splitDnsAddr(a);
      out.push(familyOf(addr) === 6 ? `dhcp-option DNS6 ${canonicalAddr(addr) ?? addr}` : `dhcp-option DNS ${addr}`);
    }
  }
  for (const d of domains) out.push(`dhcp-option DOMAIN-SEARCH ${d}`);
  return out;
}

export function foreignEnv(o: ClientOptions): ScriptEnv {
  const env: ScriptEnv = {};
  foreignOptions(o).forEach((v, i) => { env[`foreign_option_${i + 1}`] = v; });
  return env;
}

/** Everything set before a hook runs, in OpenVPN's terms. */
export function scriptEnv(p: ProcessFacts, t: TunnelFacts, h: HookFacts): ScriptEnv {
  const env: ScriptEnv = {
    ...settingsEnv(t.options, p),
    ...tlsEnv(t.peerChain),
    ...remoteEnv(t.remote),
    ...ifconfigEnv(t.options, t.devType),
    ...(t.devType === 'null' ? {} : routeEnv(t.options, t.netGateway, t.remote, t.netGateway6)),
    ...foreignEnv(t.options),
    ...dnsEnv(t.options),
  };
  put(env, 'redirect_gateway', h.redirectGateway === undefined ? undefined : h.redirectGateway ? 1 : 0);
  put(env, 'signal', h.signal);
  env['script_context'] = h.context;
  env['tun_mtu'] = String(t.tunMtu);
  env['dev'] = t.dev;
  env['dev_type'] = t.devType;
  env['script_type'] = h.scriptType;
  return setenvStr(env);
}

/**
 * env_set.c setenv_str: names keep only CC_NAME (alphanumerics and '_'), values only CC_PRINT
 * (0x20-0x7e); anything else is removed, not replaced. Values the server pushed (foreign_option_N,
 * routes, ifconfig) reach the scripts only through this.
 */
export function setenvStr(env: ScriptEnv): ScriptEnv {
  const out: ScriptEnv = {};
  for (const [name, value] of Object.entries(env)) {
    const n = name.replace(/[^A-Za-z0-9_]/g, '');
    if (n !== '') out[n] = value.replace(/[^\x20-\x7e]/g, '');
  }
  return out;
}

/** init.c run_up_down: `tun_dev tun_mtu 0 ifconfig_local ifconfig_remote|netmask init|restart`. */
export function upDownArgs(t: TunnelFacts, context: HookFacts['context']): string[] {
  const ifc = t.options.ifconfig;
  return [t.dev, String(t.tunMtu), '0', ifc?.local ?? EMPTY, ifc?.remoteOrNetmask ?? EMPTY, context];
}

/**
 * argv.c argv_parse_cmd: the command is split like a config line (parse_line: quotes and
 * backslash escapes, no shell); an unparsable string is run as one word.
 */
export function splitCommand(cmd: string): string[] {
  const r = tokenizeLine(cmd, { file: '--script', line: 0 });
  if (!r.ok || r.tokens.length === 0) return [cmd];
  return [...r.tokens];
}

/** The full argv for a hook: the user's words, then OpenVPN's arguments (none for route-up). */
export function hookArgv(cmd: string, t: TunnelFacts, h: HookFacts): string[] {
  const words = splitCommand(cmd);
  return h.scriptType === 'route-up' ? words : [...words, ...upDownArgs(t, h.context)];
}
