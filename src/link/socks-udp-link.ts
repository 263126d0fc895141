/**
 * The Link port for `proto udp` through `socks-proxy` (SOCKS5 UDP ASSOCIATE, as OpenVPN 2.6
 * socks.c): a TCP control connection holds the association; each OpenVPN packet goes to the
 * relay behind a 10-byte header naming the server (IPv4, as OpenVPN supports it), and each
 * datagram from the relay loses its header before the session sees it.
 *
 *   openSocksAssociation(proxy) ─▶ relay address        control connection closed ─▶ link error
 *   send(p):  [00 00 00 01 server-ipv4 port | p] ─▶ relay
 *   receive:  relay ─▶ strip header (fragments and malformed headers dropped) ─▶ packet
 *
 * Never: send to the server directly, log packet contents.
 */
import dgram from 'node:dgram';
import { OsError, ProxyError } from '../base/errors.ts';
import type { Endpoint, Link, LinkEvents, ProxySpec } from './link.ts';
import { SOCKS_UDP_HEADER_IPV4, udpHeaderLength, writeUdpHeader } from './socks-proxy.ts';
import { hasSocketOptions, openUdpSocket, type SocketOptions } from './socket-options.ts';
import { openSocksAssociation } from './stream.ts';

export interface SocksUdpLinkOptions {
  /** The server, resolved locally (the header carries its IPv4 address). */
  readonly remote: Endpoint;
  readonly proxy: Extract<ProxySpec, { kind: 'socks' }>;
  readonly local?: { readonly address?: string | undefined; readonly port?: number | undefined } | undefined;
  readonly connectTimeoutMs?: number;
  readonly socket?: SocketOptions | undefined;
}

export async function openSocksUdpLink(opts: SocksUdpLinkOptions, on: LinkEvents): Promise<Link> {
  if (opts.remote.family !== 4) throw new ProxyError('protocol', `socks-proxy with proto udp needs an IPv4 server address (OpenVPN sends IPv4 only); ${opts.remote.address} is not`);
  const { control, relay } = await openSocksAssociation(opts);
  const sock = dgram.createSocket({ type: relay.family === 6 ? 'udp6' : 'udp4' });
  let closed = false;
  const fail = (e: Error): void => {
    if (!closed) on.error(e);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      const done = (): void => {
        sock.off('error', reject);
        resolve();
      };
      if (hasSocketOptions(opts.socket)) sock.bind({ fd: openUdpSocket(relay.family, opts.socket ?? {}, opts.local) }, done);
      else sock.bind({ port: opts.local?.port ?? 0, ...(opts.local?.address === undefined ? {} : { address: opts.local.address }) }, done);
    });
  } catch (cause) {
    control.destroy();
    sock.close();
    throw new OsError('SOCKET', `cannot bind the UDP socket: ${(cause as Error).message}`, { cause });
  }
  sock.on('message', (msg, rinfo) => {
    if (rinfo.address !== relay.address || rinfo.port !== relay.port) return;
    const d = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    const h = udpHeaderLength(d);
    if (h < 0) return;
    on.packet(d.subarray(h), opts.remote);
  });
  sock.on('error', fail);
  control.on('error', fail);
  control.on('close', () => fail(new ProxyError('unreachable', `SOCKS proxy ${opts.proxy.label} closed the control connection: the UDP association is gone`)));
  control.on('data', () => undefined);
  const header = new Uint8Array(SOCKS_UDP_HEADER_IPV4);
  writeUdpHeader(header, opts.remote);
  return {
    proto: 'udp',
    send(bytes) {
      if (closed) return;
      // one copy per packet: dgram may hold the buffer until the kernel takes it
      const out = new Uint8Array(SOCKS_UDP_HEADER_IPV4 + bytes.byteLength);
      out.set(header, 0);
      out.set(bytes, SOCKS_UDP_HEADER_IPV4);
      sock.send(out, relay.port, relay.address);
    },
    close() {
      if (closed) return;
      closed = true;
      sock.close();
      control.destroy();
    },
  };
}
