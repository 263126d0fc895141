/**
 * Directive rows: tunnel device, addresses, routes and DNS (vpn-network-options.rst,
 * windows-options.rst). Pushed routes and DNS are parsed by these same rows (push.ts).
 */
import * as A from './args.ts';
import type { DnsServer, Draft } from './options.ts';
import { type ApplyCtx, type DirectiveSpec, ign, notYet, rej, sup } from './spec.ts';

const TUN = 'Tunnel device' as const;
const R = 'Routing' as const;
const DNS = 'DNS' as const;
const WIN = 'Windows-only; no effect on Linux';
const route = { push: true } as const;

/** route.c special gateway keywords. */
const ROUTE_GATEWAYS = ['vpn_gateway', 'net_gateway', 'remote_host'];
const REDIRECT_FLAGS = ['local', 'autolocal', 'def1', 'bypass-dhcp', 'bypass-dns', 'block-local', 'ipv6', '!ipv4'];
const DHCP_TYPES = ['DNS', 'DNS6', 'DOMAIN', 'DOMAIN-SEARCH', 'ADAPTER_DOMAIN_SUFFIX', 'WINS', 'NBDD', 'NTP', 'NBT', 'NBS', 'SCOPE', 'DISABLE-NBT', 'DOMAIN-ROUTE', 'PROXY_HTTP'];
const DHCP_IP_TYPES = ['WINS', 'NBDD', 'NTP', 'NBS'];

function isDefault(v: string | undefined): v is undefined | 'default' {
  return v === undefined || v === 'default';
}

function routeNetwork(c: ApplyCtx, v: string): string {
  if (ROUTE_GATEWAYS.includes(v)) return v;
  if (/^[0-9.]+$/.test(v)) return A.ipv4(v, 'route network');
  if (c.entry.from === 'push' && !c.o.allowPullFqdn) throw new A.ArgError(`pushed route to a host name "${v}" needs allow-pull-fqdn`);
  return A.host(v, 'route network');
}

function addRoute(c: ApplyCtx, a: readonly string[]): void {
  const network = routeNetwork(c, a[0] ?? '');
  const netmask = isDefault(a[1]) ? '255.255.255.255' : A.netmask(a[1]);
  const gw = a[2];
  const gateway = isDefault(gw) ? undefined : ROUTE_GATEWAYS.includes(gw) ? gw : A.ipv4(gw, 'route gateway');
  const metric = isDefault(a[3]) ? undefined : A.int(a[3], 'route metric', 0, 2 ** 31 - 1);
  if (/^[0-9.]+$/.test(network) && (A.ipv4ToInt(network) & ~A.ipv4ToInt(netmask)) !== 0) {
    c.warn(`route ${network} ${netmask}: the network has bits outside the netmask; they are ignored`);
  }
  c.o.routes.push({ network, netmask, gateway, metric });
}

function addRouteIpv6(c: ApplyCtx, a: readonly string[]): void {
  const { address, bits } = A.ipv6Prefix(a[0] ?? '', 'route-ipv6 network', 128);
  const gateway = isDefault(a[1]) ? undefined : A.ipv6(a[1], 'route-ipv6 gateway');
  const metric = isDefault(a[2]) ? undefined : A.int(a[2], 'route-ipv6 metric', 0, 2 ** 31 - 1);
  c.o.routesIpv6.push({ network: address, prefixLength: bits, gateway, metric });
}

function redirectFlags(a: readonly string[]): string[] {
  for (const f of a) A.oneOf(f, 'redirect-gateway flag', REDIRECT_FLAGS);
  return [...a];
}

function dhcpOption(c: ApplyCtx, a: readonly string[]): void {
  const type = A.oneOf(a[0] ?? '', 'dhcp-option type', DHCP_TYPES);
  const value = a[1];
  if (type === 'DISABLE-NBT') {
    if (value !== undefined) throw new A.ArgError('DISABLE-NBT takes no value');
  } else if (value === undefined) throw new A.ArgError(`${type} needs a value`);
  else if (type === 'DNS' && !/^[0-9.]+$/.test(value)) A.ipv6(value, 'DNS server');
  else if (type === 'DNS') A.ipv4(value, 'DNS server');
  else if (type === 'DNS6') A.ipv6(value, 'DNS6 server');
  else if (DHCP_IP_TYPES.includes(type)) A.ipv4(value, `${type} server`);
  else if (type === 'NBT') A.oneOf(value, 'NBT node type', ['1', '2', '4', '8']);
  c.o.dhcpOptions.push({ type, value });
}

/**
 * dns.c dns_server_get + dns_options_postprocess_pull: one profile per priority; the first pushed
 * line for a priority replaces a local profile of that priority, later pushed lines add to it.
 */
function dnsServer(c: ApplyCtx, priority: number): Draft<DnsServer> {
  const pushed = c.entry.from === 'push';
  const i = c.o.dns.servers.findIndex((x) => x.priority === priority);
  const found = c.o.dns.servers[i];
  if (found !== undefined && (found.pushed === true) === pushed) return found;
  const s: Draft<DnsServer> = { priority, addresses: [], resolveDomains: [], dnssec: undefined, transport: undefined, sni: undefined, ...(pushed ? { pushed } : {}) };
  if (found !== undefined) c.o.dns.servers[i] = s;
  else c.o.dns.servers.push(s);
  return s;
}

/** `[addr]:port`, `addr:port` (IPv4) or a bare IPv4/IPv6 address (dns.c dns_server_addr_parse). */
function dnsAddress(v: string): string {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (m) {
    A.ipv6(m[1] ?? '', 'dns server address');
    if (m[2] !== undefined) A.port(m[2], 'dns server port');
    return v;
  }
  const colons = v.split(':').length - 1;
  if (colons === 1) {
    const [ip, p] = v.split(':');
    A.ipv4(ip ?? '', 'dns server address');
    A.port(p ?? '', 'dns server port');
    return v;
  }
  if (colons === 0) return A.ipv4(v, 'dns server address');
  return A.ipv6(v, 'dns server address');
}

function dns(c: ApplyCtx, a: readonly string[]): void {
  if (a[0] === 'search-domains') {
    if (a.length < 2) throw new A.ArgError('search-domains needs at least one domain');
    c.o.dns.searchDomains.push(...a.slice(1).map((d) => A.host(d, 'search domain')));
    return;
  }
  if (a[0] !== 'server') throw new A.ArgError(`unknown dns option "${a[0] ?? ''}" (expected server or search-domains)`);
  // dns.c dns_server_priority_parse: a pulled priority is 0..127.
  const s = dnsServer(c, A.int(a[1] ?? '', 'dns server priority', c.entry.from === 'push' ? 0 : -128, 127));
  const key = a[2];
  const rest = a.slice(3);
  if (rest.length === 0) throw new A.ArgError(`dns server ${a[1] ?? ''} ${key ?? ''} needs a value`);
  if (key === 'address') s.addresses.push(...rest.slice(0, 8).map(dnsAddress));
  else if (key === 'resolve-domains') s.resolveDomains.push(...rest.map((d) => A.host(d, 'domain')));
  else if (key === 'dnssec') s.dnssec = A.oneOf(rest[0] ?? '', 'dnssec value', ['yes', 'no', 'optional']);
  else if (key === 'transport') s.transport = A.oneOf(rest[0] ?? '', 'dns transport', ['plain', 'DoH', 'DoT']);
  else if (key === 'sni') s.sni = A.host(rest[0] ?? '', 'sni');
  else throw new A.ArgError(`unknown dns server option "${key ?? ''}" (expected address, resolve-domains, dnssec, transport, sni)`);
}

/** options.c "dns-updown": disable, force (unless a command is set), or a command. */
function dnsUpdown(c: ApplyCtx, a: readonly string[]): void {
  const v = a[0] ?? '';
  if (v === 'disable') c.o.dnsUpdown = { mode: 'disable' };
  else if (v === 'force') {
    if (c.o.dnsUpdown.mode !== 'command') c.o.dnsUpdown = { mode: 'force' };
  } else {
    c.o.dnsUpdown = { mode: 'command', command: c.resolve(v) };
    c.warn(`ovpn-ts does not run dns-updown commands: ${v} is not run, and ovpn-ts does not apply DNS either (docs/dns.md)`);
  }
}

export const NETWORK_DIRECTIVES: readonly DirectiveSpec[] = [
  sup('dev', TUN, 'tunnel device: tun, tunN, a name, or null (no device); tap is not supported', [1, 1], (c, a) => { c.o.dev = A.host(a[0] ?? '', 'device name'); }),
  sup('dev-type', TUN, 'device type when the name does not say: tun or tap', [1, 1], (c, a) => { c.o.devType = A.oneOf(a[0] ?? '', 'dev-type', ['tun', 'tap']); }),
  notYet(sup('dev-node', TUN, 'path of the tun clone device', [1, 1], (c, a) => { c.o.devNode = a[0]; }), 'the TUN device is always opened through /dev/net/tun'),
  sup('topology', TUN, 'addressing topology: net30, p2p, subnet', [1, 1], (c, a) => { c.o.topology = A.oneOf(a[0] ?? '', 'topology', ['net30', 'p2p', 'subnet']); }, route),
  sup('ifconfig', TUN, 'tunnel IPv4 address and peer address or netmask', [2, 2], (c, a) => {
    c.o.ifconfig = { local: A.ipv4(a[0] ?? '', 'ifconfig local address'), remoteOrNetmask: A.ipv4(a[1] ?? '', 'ifconfig remote address or netmask') };
  }, route),
  sup('ifconfig-ipv6', TUN, 'tunnel IPv6 address/bits and peer address', [2, 2], (c, a) => {
    const { address, bits } = A.ipv6Prefix(a[0] ?? '', 'ifconfig-ipv6 address', 64);
    c.o.ifconfigIpv6 = { address, prefixLength: bits, remote: A.ipv6(a[1] ?? '', 'ifconfig-ipv6 remote') };
  }, route),
  sup('ifconfig-noexec', TUN, 'do not configure addresses (leave it to scripts)', [0, 0], (c) => { c.o.ifconfigNoexec = true; }, route),
  ign('ifconfig-nowarn', TUN, 'do not warn about ifconfig mismatches', 'no effect', [0, 0], route),
  ign('lladdr', TUN, 'MAC address of a tap device', 'tap devices are not supported', [1, 1], route),
  ign('tun-ipv6', TUN, 'enable IPv6 on the tun device', 'no effect since OpenVPN 2.4: IPv6 always works', [0, 0], { push: true }),
  ign('iproute', TUN, 'alternative ip command', 'ovpn-ts talks rtnetlink directly', [1, 1]),
  sup('txqueuelen', TUN, 'tun transmit queue length', [1, 1], (c, a) => { c.o.txqueuelen = A.int(a[0] ?? '', 'txqueuelen', 0, 1_000_000); }),
  ign('disable-dco', TUN, 'do not use the data channel offload kernel module', 'ovpn-ts never uses DCO', [0, 0]),
  ign('windows-driver', TUN, 'Windows tun driver', WIN, [1, 1]),
  rej('mktun', TUN, 'create a persistent tun device', 'standalone OpenVPN mode, not provided by ovpn-ts', { where: ['cmdline'] }),
  rej('rmtun', TUN, 'remove a persistent tun device', 'standalone OpenVPN mode, not provided by ovpn-ts', { where: ['cmdline'] }),
  sup('route', R, 'add an IPv4 route: network [netmask] [gateway] [metric]', [1, 4], addRoute, route),
  sup('route-ipv6', R, 'add an IPv6 route: network/bits [gateway] [metric]', [1, 3], addRouteIpv6, route),
  sup('route-gateway', R, 'default gateway for routes (or dhcp)', [1, 1], (c, a) => { c.o.routeGateway = a[0] === 'dhcp' ? 'dhcp' : A.ipv4(a[0] ?? '', 'route-gateway'); }, route),
  sup('route-ipv6-gateway', R, 'default IPv6 gateway for routes', [1, 1], (c, a) => { c.o.routeIpv6Gateway = A.ipv6(a[0] ?? '', 'route-ipv6-gateway'); }, route),
  sup('route-metric', R, 'default metric for routes', [1, 1], (c, a) => { c.o.routeMetric = A.int(a[0] ?? '', 'route-metric', 0, 2 ** 31 - 1); }, route),
  sup('route-delay', R, 'add routes n seconds after connecting [w]', [0, 2], (c, a) => {
    c.o.routeDelay = { seconds: a[0] === undefined ? 0 : A.int(a[0], 'route-delay', 0, 3600), windowsSeconds: a[1] === undefined ? 30 : A.int(a[1], 'route-delay window', 0, 3600) };
  }, route),
  sup('redirect-gateway', R, 'send all traffic through the VPN [def1 ipv6 !ipv4 bypass-dhcp block-local ...]', [0, 8], (c, a) => { c.o.redirectGateway = redirectFlags(a); }, route),
  notYet(sup('redirect-private', R, 'like redirect-gateway without changing the default route', [0, 8], (c, a) => { c.o.redirectPrivate = redirectFlags(a); }, route), 'no routes are added for it yet'),
  notYet(sup('block-ipv6', R, 'drop IPv6 traffic not carried by the VPN', [0, 0], (c) => { c.o.blockIpv6 = true; }, route), 'IPv6 outside the tunnel is not blocked yet'),
  sup('route-nopull', R, 'ignore routes and DNS pushed by the server', [0, 0], (c) => { c.o.routeNopull = true; }),
  sup('route-noexec', R, 'do not add routes (leave it to scripts)', [0, 0], (c) => { c.o.routeNoexec = true; }),
  sup('pull-filter', R, 'accept, ignore or reject pushed options by prefix', [2, 2], (c, a) => {
    c.o.pullFilters.push({ action: A.oneOf(a[0] ?? '', 'pull-filter action', ['accept', 'ignore', 'reject']), prefix: a[1] ?? '' });
  }),
  notYet(sup('allow-pull-fqdn', R, 'allow host names in pushed routes', [0, 0], (c) => { c.o.allowPullFqdn = true; }), 'pushed routes must use addresses'),
  rej('client-nat', R, 'NAT rules applied by OpenVPN', 'not implemented by ovpn-ts', route),
  ign('max-routes', R, 'route limit', 'removed in OpenVPN 2.4: no limit', [0, 1], route),
  ign('route-method', R, 'Windows route method', WIN, [1, 1], route),
  sup('dhcp-option', DNS, 'DNS, DNS6, DOMAIN, DOMAIN-SEARCH, ... settings (DNS and domains are applied, see docs/dns.md)', [1, 2], dhcpOption, route),
  sup('dns', DNS, 'DNS servers and search domains (OpenVPN 2.6 syntax; applied, see docs/dns.md)', [2, 15], dns, route),
  sup('dns-updown', DNS, 'who applies DNS: force, disable, or a command (default: ovpn-ts, unless an up script is set)', [1, 1], dnsUpdown),
  sup('dns-backend', DNS, 'ovpn-ts only: auto, resolved, resolvconf or file (how pushed DNS is applied)', [1, 1], (c, a) => {
    c.o.dnsBackend = A.oneOf(a[0] ?? '', 'dns-backend', ['auto', 'resolved', 'resolvconf', 'file']);
  }),
  ign('block-outside-dns', DNS, 'block DNS outside the tunnel', WIN, [0, 0], route),
  ign('register-dns', DNS, 'register DNS with Windows', WIN, [0, 0], route),
  ign('ip-win32', DNS, 'how Windows sets the address', WIN, [1, 3], route),
  ign('tap-sleep', DNS, 'wait after opening the Windows adapter', WIN, [1, 1], route),
  ign('dhcp-renew', DNS, 'renew the Windows DHCP lease', WIN, [0, 0], route),
  ign('dhcp-pre-release', DNS, 'release the Windows DHCP lease first', WIN, [0, 0], route),
  ign('dhcp-release', DNS, 'release the Windows DHCP lease', WIN, [0, 0]),
  ign('win-sys', 'Generic', 'Windows system directory', WIN, [1, 1]),
  ign('allow-nonadmin', 'Generic', 'let non-admins use the Windows adapter', WIN, [0, 1]),
  ign('service', 'Generic', 'Windows service event', WIN, [1, 2]),
  ign('pause-exit', 'Generic', 'wait for a key before exiting', WIN, [0, 0]),
  ign('show-net-up', 'Generic', 'show Windows routing after setup', WIN, [0, 0], route),
  rej('dhcp-internal', 'Generic', 'internal Windows helper', 'internal OpenVPN Windows helper', { where: ['cmdline'] }),
  rej('rdns-internal', 'Generic', 'internal Windows helper', 'internal OpenVPN Windows helper', { where: ['cmdline'] }),
  rej('show-adapters', 'Generic', 'list Windows adapters', 'standalone OpenVPN mode (Windows)', { where: ['cmdline'] }),
  rej('show-net', 'Generic', 'show Windows routing', 'standalone OpenVPN mode (Windows)', { where: ['cmdline'] }),
  rej('show-valid-subnets', 'Generic', 'show valid subnets', 'standalone OpenVPN mode (Windows)', { where: ['cmdline'] }),
];
