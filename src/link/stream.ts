/**
 * Opens the TCP byte stream a TCP link (or the SOCKS UDP control connection) runs on: straight
 * to the server, or to a proxy that is then asked to connect on (OpenVPN 2.6 socket.c
 * phase2_tcp_client with proxy.c / socks.c):
 *
 *   connect(remote or proxy) [socket options before the SYN: socket-options.ts]
 *     http:  CONNECT host:port ─▶ 200: stream   407 + auto: new connection with Basic, once
 *            403 / 407 / 5xx / anything else: ProxyError naming the proxy and what to do
 *     socks: greeting ─▶ [username/password] ─▶ CONNECT host:port | UDP ASSOCIATE ─▶ reply
 *
 * Every step is bounded by connect-timeout (OpenVPN uses server-poll-timeout the same way).
 * Bytes that arrive after the proxy's reply belong to OpenVPN and are returned as `leftover`.
 * There is no fallback to a direct connection. Never: log or put a password in an error.
 */
import net from 'node:net';
import { OsError, ProxyError } from '../base/errors.ts';
import type { Endpoint, ProxySpec } from './link.ts';
import { connectRequest, offeredSchemes, parseResponseHead, refusal, wantsAuth } from './http-proxy.ts';
import * as socks from './socks-proxy.ts';
import { connectTcpSocket, hasSocketOptions, type SocketOptions } from './socket-options.ts';

type Local = { readonly address?: string | undefined; readonly port?: number | undefined } | undefined;

export interface StreamOptions {
  /** The server (direct), or ignored when a proxy is given. */
  readonly remote: Endpoint;
  readonly local?: Local;
  readonly connectTimeoutMs?: number;
  readonly socket?: SocketOptions | undefined;
  readonly proxy?: ProxySpec | undefined;
  /** Through a proxy: the server as the proxy must reach it (a name is resolved by the proxy). */
  readonly target?: { readonly host: string; readonly port: number } | undefined;
}

export interface OpenedStream {
  readonly sock: net.Socket;
  readonly leftover: Uint8Array;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** The TCP connection itself, to `to`, with the socket options set before the SYN. */
async function tcpConnect(to: Endpoint, o: StreamOptions, deadline: number, what: string): Promise<net.Socket> {
  const timeoutMs = Math.max(1, deadline - Date.now());
  try {
    if (hasSocketOptions(o.socket)) {
      const fd = await connectTcpSocket(to, o.socket ?? {}, o.local, timeoutMs);
      const sock = new net.Socket({ fd, readable: true, writable: true });
      sock.setNoDelay(true);
      return sock;
    }
    const sock = net.connect({
      host: to.address,
      port: to.port,
      family: to.family,
      noDelay: true,
      ...(o.local?.address === undefined ? {} : { localAddress: o.local.address }),
      ...(o.local?.port === undefined ? {} : { localPort: o.local.port }),
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out')), timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      sock.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    }).catch((e: unknown) => {
      sock.destroy();
      throw e;
    });
    return sock;
  } catch (cause) {
    const code = ((cause as OsError).cause as NodeJS.ErrnoException | undefined)?.code ?? (cause as NodeJS.ErrnoException).code;
    const refused = code === 'ECONNREFUSED';
    const detail = (cause as Error).message;
    if (o.proxy !== undefined) {
      throw new ProxyError('unreachable', `cannot connect to ${what}: ${detail}${refused ? ' (is the proxy running, and are its address and port right?)' : ''}`, { cause });
    }
    const hint = refused ? ': nothing listens there (is the server running with proto tcp?)' : '';
    throw new OsError('SOCKET', `TCP connection to ${to.address}:${to.port} failed: ${detail}${hint}`, { cause });
  }
}

/** Collects what the peer sends until the caller has what it needs; bounded by the deadline. */
class Reader {
  #buf = new Uint8Array(0);
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  readonly #sock: net.Socket;
  readonly #onData = (chunk: Buffer): void => {
    const next = new Uint8Array(this.#buf.byteLength + chunk.byteLength);
    next.set(this.#buf, 0);
    next.set(chunk, this.#buf.byteLength);
    this.#buf = next;
    this.#wake?.();
  };
  readonly #onEnd = (e?: Error): void => {
    this.#failure ??= e ?? new Error('the connection was closed');
    this.#wake?.();
  };

  constructor(sock: net.Socket) {
    this.#sock = sock;
    sock.on('data', this.#onData);
    sock.on('error', this.#onEnd);
    sock.on('close', () => this.#onEnd());
  }

  /** Waits until parse() returns a value (given the bytes so far), then drops `used` bytes. */
  async until<T>(parse: (b: Uint8Array) => { value: T; used: number } | undefined, deadline: number, what: string): Promise<T> {
    for (;;) {
      const r = parse(this.#buf);
      if (r !== undefined) {
        this.#buf = this.#buf.slice(r.used);
        return r.value;
      }
      if (this.#failure !== undefined) throw new ProxyError('protocol', `${what}: ${this.#failure.message} before it answered`);
      const left = deadline - Date.now();
      if (left <= 0) throw new ProxyError('unreachable', `${what} did not answer in time (connect-timeout)`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  exactly(n: number, deadline: number, what: string): Promise<Uint8Array> {
    return this.until((b) => (b.byteLength >= n ? { value: b.slice(0, n), used: n } : undefined), deadline, what);
  }

  /** Stops listening; what arrived beyond the proxy's answer is OpenVPN's. */
  detach(): Uint8Array {
    this.#sock.off('data', this.#onData);
    this.#sock.removeAllListeners('error');
    this.#sock.removeAllListeners('close');
    return this.#buf;
  }
}

/** Opens the stream: directly, or through the configured proxy. */
export async function openStream(o: StreamOptions): Promise<OpenedStream> {
  const deadline = Date.now() + (o.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  const p = o.proxy;
  if (p === undefined) return { sock: await tcpConnect(o.remote, o, deadline, 'the server'), leftover: new Uint8Array(0) };
  const target = o.target ?? { host: o.remote.address, port: o.remote.port };
  if (p.kind === 'http') return httpConnect(o, p, target, deadline);
  const sock = await tcpConnect(p.endpoint, o, deadline, `SOCKS proxy ${p.label}`);
  try {
    const reader = new Reader(sock);
    await socksRequest(sock, reader, p, socks.CMD_CONNECT, target, deadline);
    return { sock, leftover: reader.detach() };
  } catch (e) {
    sock.destroy();
    throw e;
  }
}

async function httpConnect(o: StreamOptions, p: Extract<ProxySpec, { kind: 'http' }>, target: { host: string; port: number }, deadline: number): Promise<OpenedStream> {
  const what = `HTTP proxy ${p.label}`;
  const targetName = `${target.host}:${target.port}`;
  let method = p.authMethod;
  // proxy.c: after a 407 that names a usable method, one more try on a new connection.
  for (let round = 0; ; round++) {
    const basic = method === 'basic' ? await credentialsOf(p, what) : undefined;
    const sock = await tcpConnect(p.endpoint, o, deadline, what);
    try {
      const reader = new Reader(sock);
      sock.write(connectRequest({ host: target.host, port: target.port, options: p.options, basic }));
      const head = await reader.until((b) => {
        const h = parseResponseHead(b, p.label);
        return h === undefined ? undefined : { value: h, used: h.length };
      }, deadline, what);
      if (head.status === 200) return { sock, leftover: reader.detach() };
      sock.destroy();
      if (wantsAuth(head) && method === 'none' && p.auto !== undefined && round === 0) {
        const schemes = offeredSchemes(head);
        if (!schemes.includes('basic')) throw new ProxyError('auth', `${what} asks for ${schemes.join(', ') || 'an unknown'} authentication; ovpn-ts speaks Basic only`);
        if (p.auto === 'nct') throw new ProxyError('auth', `${what} offers only Basic (cleartext) authentication, which auto-nct forbids`);
        method = 'basic';
        continue;
      }
      throw refusal(head, p.label, targetName, basic !== undefined);
    } catch (e) {
      sock.destroy();
      throw e;
    }
  }
}

async function credentialsOf(p: ProxySpec, what: string): Promise<{ username: string; password: string }> {
  if (p.credentials === undefined) throw new ProxyError('auth', `${what} needs a username and password, and none is configured`);
  return p.credentials();
}

/** The SOCKS5 exchange up to the reply of `cmd`; returns the address in the reply. */
async function socksRequest(
  sock: net.Socket,
  reader: Reader,
  p: Extract<ProxySpec, { kind: 'socks' }>,
  cmd: number,
  target: { host: string; port: number },
  deadline: number,
): Promise<{ host: string; port: number }> {
  const what = `SOCKS proxy ${p.label}`;
  const withPassword = p.credentials !== undefined;
  sock.write(socks.greeting(withPassword));
  const method = socks.chosenMethod(await reader.exactly(2, deadline, what), p.label, withPassword);
  if (method === socks.METHOD_USERPASS) {
    const c = await credentialsOf(p, what);
    sock.write(socks.userPassRequest(c.username, c.password, p.label));
    socks.checkUserPassReply(await reader.exactly(2, deadline, what), p.label);
  }
  sock.write(socks.request(cmd, target.host, target.port));
  const head = await reader.exactly(5, deadline, what);
  const len = socks.replyLength(head);
  if (len < 0) {
    if (head[1] !== 0) socks.parseReply(head, p.label, `${target.host}:${target.port}`);
    throw new ProxyError('protocol', `${what} sent a reply with an unknown address type`);
  }
  const rest = await reader.exactly(len - 5, deadline, what);
  const reply = new Uint8Array(len);
  reply.set(head, 0);
  reply.set(rest, 5);
  return socks.parseReply(reply, p.label, `${target.host}:${target.port}`);
}

/**
 * socks-proxy over UDP: the TCP control connection with UDP ASSOCIATE done. The association
 * lives as long as this connection; the reply names the relay (the proxy's address when it
 * says 0.0.0.0).
 */
export async function openSocksAssociation(o: StreamOptions & { readonly proxy: Extract<ProxySpec, { kind: 'socks' }> }): Promise<{ control: net.Socket; relay: Endpoint }> {
  const deadline = Date.now() + (o.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  const p = o.proxy;
  const sock = await tcpConnect(p.endpoint, { ...o, local: undefined }, deadline, `SOCKS proxy ${p.label}`);
  try {
    const reader = new Reader(sock);
    const bound = await socksRequest(sock, reader, p, socks.CMD_UDP_ASSOCIATE, { host: '0.0.0.0', port: 0 }, deadline);
    reader.detach();
    const unspecified = bound.host === '0.0.0.0' || bound.host === '0:0:0:0:0:0:0:0';
    const host = unspecified ? p.endpoint.address : bound.host;
    return { control: sock, relay: { address: host, port: bound.port, family: net.isIP(host) === 6 ? 6 : 4 } };
  } catch (e) {
    sock.destroy();
    throw e;
  }
}
