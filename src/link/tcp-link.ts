/**
 * TCP adapter for the Link port (proto tcp-client): every OpenVPN packet travels with a u16
 * big-endian length prefix; the framer reassembles packets from the byte stream. A reset or
 * close by the server is reported as a link error (the client restarts, as OpenVPN does); a
 * local problem that leaves the connection intact is reported as an OsError with code SOCKET.
 * The connection itself (direct, or through an HTTP/SOCKS proxy) is made by stream.ts.
 */
import type net from 'node:net';
import { OsError } from '../base/errors.ts';
import { frameTcp, TcpFramer } from '../tls/packet.ts';
import type { Endpoint, Link, LinkEvents, ProxySpec } from './link.ts';
import { applySocketOptions, descriptorOf, localOfSocket, type SocketOptions } from './socket-options.ts';
import { openStream } from './stream.ts';

export interface TcpLinkOptions {
  readonly remote: Endpoint;
  readonly local?: { readonly address?: string | undefined; readonly port?: number | undefined } | undefined;
  readonly connectTimeoutMs?: number;
  readonly socket?: SocketOptions | undefined;
  /** http-proxy or socks-proxy: `remote` is then unused, `target` is what the proxy connects to. */
  readonly proxy?: ProxySpec | undefined;
  readonly target?: { readonly host: string; readonly port: number } | undefined;
}

export async function openTcpLink(opts: TcpLinkOptions, on: LinkEvents): Promise<Link> {
  const opened = await openStream(opts);
  const sock: net.Socket = opened.sock;
  const from = opts.proxy?.endpoint ?? opts.remote;
  const framer = new TcpFramer();
  let closed = false;
  let sendErrors = 0;
  const onBytes = (bytes: Uint8Array): void => {
    for (const packet of framer.push(bytes)) on.packet(packet, from);
    if (framer.error !== undefined && !closed) {
      on.error(new Error(`bad TCP framing from the server: ${framer.error.code}`));
      sock.destroy();
    }
  };
  sock.on('data', (chunk: Buffer) => onBytes(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  // Bytes that came with the proxy's answer are OpenVPN's; the client speaks first, so they
  // are handed on after its first packet, when the session is listening.
  let early: Uint8Array | undefined = opened.leftover.byteLength > 0 ? opened.leftover : undefined;
  sock.on('error', (e) => {
    if (!closed) on.error(e);
  });
  sock.on('close', () => {
    if (!closed) on.error(Object.assign(new Error('the server closed the TCP connection'), { code: 'ECONNRESET' }));
  });
  const local = localOfSocket(sock);
  return {
    proto: 'tcp',
    local,
    send(bytes) {
      if (closed) return;
      try {
        sock.write(frameTcp(bytes)); // frameTcp copies: the caller may reuse `bytes`
      } catch (e) {
        // A packet the u16 prefix cannot carry: dropped and counted, the first reported (the connection is intact).
        if (sendErrors++ === 0) on.error(new OsError('SOCKET', `cannot send a ${bytes.byteLength}-byte packet over TCP: ${(e as Error).message}`, { cause: e }));
        return;
      }
      if (early !== undefined) {
        const b = early;
        early = undefined;
        queueMicrotask(() => onBytes(b));
      }
    },
    setBufferSizes({ sndbuf, rcvbuf }) {
      if (closed) return;
      try {
        // node:net has no buffer-size API: set them on the descriptor, as before the SYN.
        const fd = descriptorOf(sock);
        if (fd === undefined) throw new Error('the TCP socket has no file descriptor');
        applySocketOptions(fd, from.family, { sndbuf, rcvbuf });
      } catch (e) {
        on.error(new OsError('SOCKET', `cannot resize the socket buffers: ${(e as Error).message}`, { cause: e }));
      }
    },
    close() {
      closed = true;
      sock.destroy();
    },
  };
}
