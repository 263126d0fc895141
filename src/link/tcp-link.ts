/**
 * TCP adapter for the Link port (proto tcp-client): every OpenVPN packet travels with a u16
 * big-endian length prefix; the framer reassembles packets from the byte stream. A reset or
 * close by the server is reported as a link error (the client restarts, as OpenVPN does).
 */
import net from 'node:net';
import { OsError } from '../base/errors.ts';
import { frameTcp, TcpFramer } from '../tls/packet.ts';
import type { Endpoint, Link, LinkEvents } from './link.ts';

export interface TcpLinkOptions {
  readonly remote: Endpoint;
  readonly local?: { readonly address?: string | undefined; readonly port?: number | undefined } | undefined;
  readonly connectTimeoutMs?: number;
}

export async function openTcpLink(opts: TcpLinkOptions, on: LinkEvents): Promise<Link> {
  const sock = net.connect({
    host: opts.remote.address,
    port: opts.remote.port,
    family: opts.remote.family,
    noDelay: true,
    ...(opts.local?.address === undefined ? {} : { localAddress: opts.local.address }),
    ...(opts.local?.port === undefined ? {} : { localPort: opts.local.port }),
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('TCP connect timed out')), opts.connectTimeoutMs ?? 10_000);
    sock.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  }).catch((cause: unknown) => {
    sock.destroy();
    const code = (cause as NodeJS.ErrnoException).code;
    const hint = code === 'ECONNREFUSED' ? ': nothing listens there (is the server running with proto tcp?)' : '';
    throw new OsError('SOCKET', `TCP connection to ${opts.remote.address}:${opts.remote.port} failed: ${(cause as Error).message}${hint}`, { cause });
  });
  const framer = new TcpFramer();
  let closed = false;
  sock.on('data', (chunk: Buffer) => {
    for (const packet of framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) on.packet(packet, opts.remote);
    if (framer.error !== undefined && !closed) {
      on.error(new Error(`bad TCP framing from the server: ${framer.error.code}`));
      sock.destroy();
    }
  });
  sock.on('error', (e) => {
    if (!closed) on.error(e);
  });
  sock.on('close', () => {
    if (!closed) on.error(Object.assign(new Error('the server closed the TCP connection'), { code: 'ECONNRESET' }));
  });
  return {
    proto: 'tcp',
    send(bytes) {
      if (!closed) sock.write(frameTcp(bytes));
    },
    close() {
      closed = true;
      sock.destroy();
    },
  };
}
