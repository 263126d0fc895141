/**
 * Directive rows: transport, connection profiles, MTU, keepalive and timers
 * (OpenVPN manual: link-options.rst, client-options.rst, connection-profiles.rst).
 */
import * as A from './args.ts';
import { type DirectiveSpec, ign, notYet, rej, sup } from './spec.ts';

const C = 'Connection' as const;
const conn = { conn: true } as const;
const DAY = 86_400;

export const CONNECTION_DIRECTIVES: readonly DirectiveSpec[] = [
  sup('remote', C, 'server host [port] [proto]; repeat for fallbacks', [1, 3], (c, a) => {
    c.addRemote(A.host(a[0] ?? '', 'remote host'), a[1] === undefined ? undefined : A.port(a[1], 'remote port'), a[2] === undefined ? undefined : A.proto(a[2]));
  }, conn),
  sup('proto', C, 'transport: udp, tcp (tcp-client), udp4/udp6/tcp4/tcp6', [1, 1], (c, a) => {
    const p = A.proto(a[0] ?? '');
    c.ce.proto = p.proto;
    c.ce.af = p.af;
  }, conn),
  sup('port', C, 'remote (and local) port', [1, 1], (c, a) => { c.ce.remotePort = A.port(a[0] ?? ''); c.ce.localPort = c.ce.remotePort; }, conn),
  sup('rport', C, 'remote port', [1, 1], (c, a) => { c.ce.remotePort = A.port(a[0] ?? ''); }, conn),
  sup('lport', C, 'local port to bind', [1, 1], (c, a) => { c.ce.localPort = A.port(a[0] ?? '', 'lport', true); c.ce.bind = true; }, conn),
  sup('local', C, 'local address to bind', [1, 1], (c, a) => { c.ce.local = A.host(a[0] ?? '', 'local address'); c.ce.bind = true; }, conn),
  sup('bind', C, 'bind to the local address and port', [0, 1], (c, a) => {
    if (a[0] !== undefined && a[0] !== 'ipv6only') throw new A.ArgError(`unknown flag "${a[0]}" (expected ipv6only)`);
    c.ce.bind = true;
  }, conn),
  sup('nobind', C, 'do not bind a fixed local port', [0, 0], (c) => { c.ce.bind = false; }, conn),
  sup('float', C, 'accept packets from a changed server address', [0, 0], (c) => { c.ce.float = true; }, conn),
  sup('connect-retry', C, 'seconds between connection attempts [max backoff]', [1, 2], (c, a) => {
    c.ce.connectRetry = A.int(a[0] ?? '', 'connect-retry seconds', 0, DAY);
    if (a[1] !== undefined) c.ce.connectRetryMax = A.int(a[1], 'connect-retry max', c.ce.connectRetry, DAY);
  }, conn),
  sup('connect-retry-max', C, 'give up after n tries of each remote', [1, 1], (c, a) => { c.o.connectRetryMaxTries = A.int(a[0] ?? '', 'connect-retry-max', 1, 1_000_000); }, conn),
  sup('connect-timeout', C, 'seconds to wait for a TCP or proxy connection', [1, 1], (c, a) => { c.ce.connectTimeout = A.int(a[0] ?? '', 'timeout', 1, DAY); }, conn),
  sup('server-poll-timeout', C, 'seconds to wait for a server response before the next remote', [1, 1], (c, a) => { c.ce.connectTimeout = A.int(a[0] ?? '', 'timeout', 1, DAY); }, conn),
  sup('remote-random', C, 'try remotes in random order', [0, 0], (c) => { c.o.remoteRandom = true; }),
  sup('remote-random-hostname', C, 'prepend a random label to remote host names', [0, 0], (c) => { c.o.remoteRandomHostname = true; }),
  sup('resolv-retry', C, 'seconds to retry name resolution, or infinite', [1, 1], (c, a) => {
    c.o.resolvRetry = a[0] === 'infinite' ? 'infinite' : A.int(a[0] ?? '', 'resolv-retry', 0, 1_000_000_000);
  }),
  sup('proto-force', C, 'only use remotes with this transport', [1, 1], (c, a) => { c.o.protoForce = A.oneOf(a[0] ?? '', 'protocol', ['udp', 'tcp']); }),
  sup('explicit-exit-notify', C, 'tell the server when exiting (UDP) [n tries]', [0, 1], (c, a) => {
    c.ce.explicitExitNotify = a[0] === undefined ? 1 : A.int(a[0], 'explicit-exit-notify', 0, 10);
  }, { conn: true, push: true }),
  sup('tun-mtu', C, 'MTU of the tunnel device [occ-mtu]', [1, 2], (c, a) => {
    c.ce.tunMtu = A.int(a[0] ?? '', 'tun-mtu', 576, 65535);
    if (a[1] !== undefined) A.int(a[1], 'occ mtu', 0, 65535);
  }, { conn: true, push: true }),
  sup('tun-mtu-max', C, 'largest tun-mtu a server may push', [1, 1], (c, a) => { c.ce.tunMtuMax = A.int(a[0] ?? '', 'tun-mtu-max', 576, 65535); }, conn),
  notYet(sup('tun-mtu-extra', C, 'extra tunnel headroom (tap)', [1, 1], (c, a) => { c.ce.tunMtuExtra = A.int(a[0] ?? '', 'tun-mtu-extra', 0, 65535); }, conn), 'only meaningful for tap devices'),
  notYet(sup('link-mtu', C, 'MTU of the outer UDP/TCP packets (deprecated)', [1, 1], (c, a) => { c.ce.linkMtu = A.int(a[0] ?? '', 'link-mtu', 576, 65535); c.warn('link-mtu is deprecated in OpenVPN 2.6; prefer tun-mtu'); }, conn), 'the MTU is set from tun-mtu'),
  sup('udp-mtu', C, 'alias of link-mtu', [1, 1], (c, a) => { c.ce.linkMtu = A.int(a[0] ?? '', 'udp-mtu', 576, 65535); }, conn),
  sup('max-packet-size', C, 'largest control/data packet to send', [1, 1], (c, a) => { c.ce.maxPacketSize = A.int(a[0] ?? '', 'max-packet-size', 154, 65535); }, conn),
  sup('mtu-disc', C, 'path MTU discovery on the socket: no, maybe, yes (IP_MTU_DISCOVER)', [1, 1], (c, a) => { c.ce.mtuDisc = A.oneOf(a[0] ?? '', 'mtu-disc type', ['no', 'maybe', 'yes']); }, conn),
  sup('fragment', C, 'fragment data packets above n bytes (UDP only) [mtu]', [1, 2], (c, a) => {
    c.ce.fragment = A.int(a[0] ?? '', 'fragment', 68, 65535);
    c.ce.fragmentEncap = a[1] !== undefined && A.oneOf(a[1], 'fragment flag', ['mtu']) === 'mtu';
  }, conn),
  sup('mssfix', C, 'clamp TCP MSS [n] [mtu|fixed]', [0, 2], (c, a) => {
    const value = a[0] === undefined ? 1492 : A.int(a[0], 'mssfix', 0, 65535);
    const mode = a[1] === undefined ? (a[0] === undefined ? 'default' : 'plain') : A.oneOf(a[1], 'mssfix flag', ['mtu', 'fixed']);
    c.ce.mssfix = { value, mode };
  }, conn),
  rej('mtu-dynamic', C, 'removed', 'replaced by fragment in OpenVPN 2.x', conn),
  ign('mtu-test', C, 'empirically measure MTU', 'MTU testing is not implemented', [0, 0]),
  sup('keepalive', C, 'ping every n seconds, restart after m silent seconds', [2, 2], (c, a) => {
    const interval = A.int(a[0] ?? '', 'keepalive interval', 1, DAY);
    const timeout = A.int(a[1] ?? '', 'keepalive timeout', 1, DAY);
    if (timeout < interval * 2) throw new A.ArgError(`timeout ${timeout} must be at least twice the interval ${interval}`);
    c.o.keepalive = { interval, timeout };
    c.o.ping = interval;
    c.o.pingRestart = timeout;
  }),
  sup('ping', C, 'send a ping after n seconds of silence', [1, 1], (c, a) => { c.o.ping = A.int(a[0] ?? '', 'ping', 0, DAY); }, { push: true }),
  sup('ping-restart', C, 'restart after n seconds without packets', [1, 1], (c, a) => { c.o.pingRestart = A.int(a[0] ?? '', 'ping-restart', 0, DAY); }, { push: true }),
  sup('ping-exit', C, 'exit after n seconds without packets', [1, 1], (c, a) => { c.o.pingExit = A.int(a[0] ?? '', 'ping-exit', 0, DAY); }, { push: true }),
  sup('ping-timer-rem', C, 'run ping timers only while a remote is known', [0, 0], (c) => { c.o.pingTimerRem = true; }, { push: true }),
  sup('inactive', C, 'exit after n seconds of no tunnel traffic [bytes]', [1, 2], (c, a) => {
    c.o.inactive = { seconds: A.int(a[0] ?? '', 'inactive', 0, 1e9), bytes: a[1] === undefined ? 0 : A.int(a[1], 'inactive bytes', 0, Number.MAX_SAFE_INTEGER) };
  }, { push: true }),
  sup('session-timeout', C, 'end the session after n seconds', [1, 1], (c, a) => { c.o.sessionTimeout = A.int(a[0] ?? '', 'session-timeout', 0, 1e9); }, { push: true }),
  rej('connection', C, 'a connection profile, written as an inline <connection> block', 'write it as a <connection> ... </connection> block'),
  sup('persist-tun', C, 'keep the tun device across restarts', [0, 0], (c) => { c.o.persistTun = true; }, { push: true }),
  sup('persist-key', C, 'keep keys across restarts (always true here)', [0, 0], (c) => { c.o.persistKey = true; }, { push: true }),
  ign('persist-local-ip', C, 'keep local IP across restarts', 'no effect on a client', [0, 0]),
  sup('persist-remote-ip', C, 'keep the last connected server address across restarts', [0, 0], (c) => { c.o.persistRemoteIp = true; }),
  sup('sndbuf', C, 'socket send buffer size (SO_SNDBUF)', [1, 1], (c, a) => { c.o.sndbuf = A.int(a[0] ?? '', 'sndbuf', 0, 1_000_000_000); }, { push: true }),
  sup('rcvbuf', C, 'socket receive buffer size (SO_RCVBUF)', [1, 1], (c, a) => { c.o.rcvbuf = A.int(a[0] ?? '', 'rcvbuf', 0, 1_000_000_000); }, { push: true }),
  ign('socket-flags', C, 'socket flags such as TCP_NODELAY', 'Node sets TCP_NODELAY on TCP connections itself', [0, 15], { push: true }),
  ign('tcp-nodelay', C, 'set TCP_NODELAY', 'Node sets TCP_NODELAY on TCP connections itself', [0, 0]),
  sup('mark', C, 'fwmark (SO_MARK) on the tunnel socket', [1, 1], (c, a) => { c.o.mark = A.int(a[0] ?? '', 'mark', 0, 0xffffffff); }),
  sup('bind-dev', C, 'bind the tunnel socket to a device, e.g. a VRF (SO_BINDTODEVICE)', [1, 1], (c, a) => {
    if ((a[0] ?? '').length === 0 || (a[0] ?? '').length > 15) throw new A.ArgError('a device name of 1 to 15 characters');
    c.o.bindDev = a[0];
  }, { push: true }),
  ign('passtos', C, 'copy the TOS byte of tunnel packets to the outer packets', 'not implemented', [0, 0]),
  ign('fast-io', C, 'optimize UDP writes', 'no effect in ovpn-ts (removed in OpenVPN 2.7)', [0, 0]),
  ign('preresolve', C, 'resolve remotes before connecting', 'names are resolved on each attempt', [0, 1]),
  ign('ip-remote-hint', C, 'remote IP hint for Windows', 'Windows-only', [0, 1]),
  sup('allow-recursive-routing', C, 'do not drop packets routed back into the tunnel', [0, 0], (c) => { c.o.allowRecursiveRouting = true; }),
  ign('http-proxy-retry', 'Proxy', 'retry on proxy errors', 'deprecated: OpenVPN always retries since 2.4', [0, 0], conn),
  ign('socks-proxy-retry', 'Proxy', 'retry on proxy errors', 'deprecated: OpenVPN always retries since 2.4', [0, 0], conn),
  ign('http-proxy-timeout', 'Proxy', 'proxy timeout', 'deprecated: use connect-timeout', [1, 1], conn),
];
