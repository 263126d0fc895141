/**
 * UDP adapter for the Link port over node:dgram.
 *
 * Without `float` the socket is connect()ed to the server: the kernel then drops datagrams
 * from any other address, and an ICMP port unreachable comes back as ECONNREFUSED so the
 * client can fail fast instead of waiting for a timeout. With `float` it stays unconnected
 * and the shell sees every sender.
 */
import dgram from 'node:dgram';
import { OsError } from '../base/errors.ts';
import type { Endpoint, Link, LinkEvents } from './link.ts';

export interface UdpLinkOptions {
  readonly remote: Endpoint;
  readonly float: boolean;
  /** `local`/`lport`/`bind`; undefined = any address, ephemeral port (`nobind`). */
  readonly local?: { readonly address?: string | undefined; readonly port?: number | undefined } | undefined;
  readonly sndbuf?: number | undefined;
  readonly rcvbuf?: number | undefined;
  /** A socket already made and bound, with options Node cannot set (socket-options.ts); `local` is then unused. */
  readonly fd?: number | undefined;
}

export async function openUdpLink(opts: UdpLinkOptions, on: LinkEvents): Promise<Link> {
  const sock = dgram.createSocket({ type: opts.remote.family === 6 ? 'udp6' : 'udp4' });
  sock.on('message', (msg, rinfo) => {
    on.packet(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), {
      address: rinfo.address,
      port: rinfo.port,
      family: rinfo.family === 'IPv6' ? 6 : 4,
    });
  });
  sock.on('error', (err) => on.error(err));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.fd !== undefined ? { fd: opts.fd } : { port: opts.local?.port ?? 0, ...(opts.local?.address === undefined ? {} : { address: opts.local.address }) }, () => {
      sock.off('error', reject);
      resolve();
    });
  }).catch((cause: unknown) => {
    sock.close();
    throw new OsError('SOCKET', `cannot bind the UDP socket: ${(cause as Error).message}`, { cause });
  });
  if (opts.sndbuf !== undefined) sock.setSendBufferSize(opts.sndbuf);
  if (opts.rcvbuf !== undefined) sock.setRecvBufferSize(opts.rcvbuf);
  if (!opts.float) {
    await new Promise<void>((resolve) => sock.connect(opts.remote.port, opts.remote.address, () => resolve()));
  }
  let closed = false;
  let remote = opts.remote;
  return {
    proto: 'udp',
    send(bytes) {
      if (closed) return;
      if (opts.float) sock.send(bytes, remote.port, remote.address);
      else sock.send(bytes);
    },
    setRemote(next) {
      if (opts.float) remote = next;
    },
    close() {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}
