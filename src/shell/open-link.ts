/**
 * How one attempt reaches its server (the shell side of the Link port): which adapter, through
 * which proxy, with which socket options, and what a failure to open means for the retry policy.
 *
 *   proto tcp                 tcp-link (stream.ts: direct, HTTP CONNECT or SOCKS CONNECT)
 *   proto udp + socks-proxy   socks-udp-link (UDP ASSOCIATE)
 *   proto udp                 udp-link, on a socket made by socket-options.ts when mark,
 *                             bind-dev, sndbuf/rcvbuf or mtu-disc ask for it
 *
 * A proxy that refuses our credentials ends the process like AUTH_FAILED (exit 4) unless
 * auth-retry asks to go on; any other failure to open is a restart, which moves to the next
 * <connection> / remote as OpenVPN 2.6 does. Never: fall back to a direct connection.
 */
import { ProxyError } from '../base/errors.ts';
import type { Outcome } from '../core/client-core.ts';
import type { Endpoint, Link, LinkEvents, ProxySpec } from '../link/link.ts';
import { openUdpLink } from '../link/udp-link.ts';
import { hasSocketOptions, openUdpSocket, type SocketOptions } from '../link/socket-options.ts';

/** What an attempt's link needs beyond the endpoint (client.ts works it out per connection entry). */
export interface LinkVia {
  readonly proxy?: ProxySpec | undefined;
  /** Through an HTTP proxy or SOCKS over TCP: the server as the proxy must reach it (unresolved). */
  readonly target?: { readonly host: string; readonly port: number } | undefined;
  readonly socket?: SocketOptions | undefined;
}

export interface OpenLinkOptions {
  readonly remote: Endpoint;
  readonly proto: 'udp' | 'tcp';
  readonly float: boolean;
  readonly local: { readonly address?: string | undefined; readonly port?: number | undefined } | undefined;
  readonly connectTimeoutMs: number;
  readonly via?: LinkVia | undefined;
}

export async function openLink(opts: OpenLinkOptions, events: LinkEvents): Promise<Link> {
  const via = opts.via ?? {};
  const common = { remote: opts.remote, local: opts.local, connectTimeoutMs: opts.connectTimeoutMs, socket: via.socket };
  if (opts.proto === 'tcp') {
    const { openTcpLink } = await import('../link/tcp-link.ts');
    return openTcpLink({ ...common, proxy: via.proxy, target: via.target }, events);
  }
  if (via.proxy?.kind === 'socks') {
    const { openSocksUdpLink } = await import('../link/socks-udp-link.ts');
    return openSocksUdpLink({ ...common, proxy: via.proxy }, events);
  }
  if (via.proxy !== undefined) throw new ProxyError('protocol', 'http-proxy needs proto tcp');
  const fd = hasSocketOptions(via.socket) ? openUdpSocket(opts.remote.family, via.socket ?? {}, opts.local) : undefined;
  return openUdpLink({ remote: opts.remote, float: opts.float, local: opts.local, fd, bindDev: via.socket?.bindDev }, events);
}

/** What a link that could not be opened means for the process. */
export function linkFailure(e: unknown, authRetry: 'none' | 'nointeract' | 'interact'): Outcome {
  const message = (e as Error).message;
  if (e instanceof ProxyError && e.kind === 'auth') {
    if (authRetry === 'none') return { kind: 'exit', error: e };
    return { kind: 'restart', reason: 'proxy-auth', message, connected: false };
  }
  return { kind: 'restart', reason: 'link', message, connected: false };
}
