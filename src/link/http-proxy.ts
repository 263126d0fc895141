/**
 * The HTTP CONNECT exchange of `http-proxy` (OpenVPN 2.6 proxy.c, manual proxy-options.rst),
 * as pure functions: the request text, the response head, and what a refusal means.
 *
 *   client ── CONNECT vpn.example.com:1194 HTTP/1.0        ─▶ proxy
 *             Host: vpn.example.com                          (unless a custom Host header)
 *             User-Agent: ...                                (http-proxy-option AGENT)
 *             X-Custom: ...                                  (http-proxy-option CUSTOM-HEADER)
 *             Proxy-Authorization: Basic base64(user:pass)   (basic, or after a 407 with auto)
 *           ◀─ HTTP/1.x 200 ... \r\n\r\n   then the OpenVPN byte stream
 *
 * The server's name goes to the proxy unresolved: the proxy resolves it, as OpenVPN does.
 * Never: log or put the password (or the Authorization header) in an error message.
 */
import type { HttpProxy } from '../config/index.ts';
import { ProxyError } from '../base/errors.ts';

/** A proxy's own reply head is bounded; past this it is not an HTTP proxy. */
export const MAX_RESPONSE_HEAD = 16 * 1024;

export interface HttpConnectRequest {
  /** The OpenVPN server as the proxy should reach it: a name or an address, and a port. */
  readonly host: string;
  readonly port: number;
  /** http-proxy-option lines ([VERSION x] [AGENT x] [CUSTOM-HEADER name [content]]). */
  readonly options: HttpProxy['options'];
  /** Send `Proxy-Authorization: Basic`. */
  readonly basic?: { readonly username: string; readonly password: string } | undefined;
}

/** `[host]` for IPv6 literals in the request line and Host header. */
function hostPart(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The CONNECT request head, CRLF line ends and the empty line included. */
export function connectRequest(r: HttpConnectRequest): string {
  let version = '1.0';
  let agent: string | undefined;
  const custom: string[] = [];
  let hostSent = false;
  for (const o of r.options) {
    if (o[0] === 'VERSION' && o[1] !== undefined) version = o[1];
    else if (o[0] === 'AGENT' && o[1] !== undefined) agent = o.slice(1).join(' ');
    else if (o[0] === 'CUSTOM-HEADER' && o[1] !== undefined) {
      const name = o[1];
      const content = o[2];
      custom.push(content === undefined ? name : `${name}: ${content}`);
      if ((content === undefined ? /^host:/i : /^host$/i).test(name)) hostSent = true;
    }
  }
  const target = `${hostPart(r.host)}:${r.port}`;
  const lines = [`CONNECT ${target} HTTP/${version}`, ...custom];
  if (!hostSent) lines.push(`Host: ${hostPart(r.host)}`);
  if (agent !== undefined) lines.push(`User-Agent: ${agent}`);
  if (r.basic !== undefined) lines.push(`Proxy-Authorization: Basic ${Buffer.from(`${r.basic.username}:${r.basic.password}`, 'utf8').toString('base64')}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export interface HttpResponseHead {
  readonly status: number;
  readonly statusLine: string;
  readonly headers: readonly (readonly [string, string])[];
  /** Bytes of the head (through the empty line); what follows is the OpenVPN stream. */
  readonly length: number;
}

/**
 * Parses the proxy's response head from the bytes received so far: undefined while the empty
 * line has not arrived, a ProxyError for something that is no HTTP response.
 */
export function parseResponseHead(bytes: Uint8Array, proxy: string): HttpResponseHead | undefined {
  let end = -1;
  for (let i = 0; i + 1 < bytes.byteLength; i++) {
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0a) {
      end = i + 2;
      break;
    }
    if (bytes[i] === 0x0a && bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) {
      end = i + 3;
      break;
    }
  }
  if (end < 0) {
    if (bytes.byteLength > MAX_RESPONSE_HEAD) throw new ProxyError('protocol', `HTTP proxy ${proxy} sent a response head over ${MAX_RESPONSE_HEAD} bytes`);
    return undefined;
  }
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, end).toString('latin1');
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  const statusLine = lines[0] ?? '';
  const m = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/i.exec(statusLine);
  if (m === null) throw new ProxyError('protocol', `HTTP proxy ${proxy} did not answer with HTTP: "${statusLine.slice(0, 80)}"`);
  const headers = lines.slice(1).map((l): readonly [string, string] => {
    const i = l.indexOf(':');
    return i < 0 ? [l.trim(), ''] : [l.slice(0, i).trim(), l.slice(i + 1).trim()];
  });
  return { status: Number(m[1]), statusLine: statusLine.trim(), headers, length: end };
}

export type ProxyAuthScheme = 'basic' | 'digest' | 'ntlm' | 'other';

/**
 * The proxy asks for credentials: 407, or 401 as some proxies (tinyproxy) answer a CONNECT
 * that lacks them.
 */
export function wantsAuth(head: HttpResponseHead): boolean {
  return head.status === 407 || head.status === 401;
}

/** The schemes a 407's Proxy-Authenticate (a 401's WWW-Authenticate) headers offer, in the proxy's order. */
export function offeredSchemes(head: HttpResponseHead): ProxyAuthScheme[] {
  const out: ProxyAuthScheme[] = [];
  const header = head.status === 401 ? 'www-authenticate' : 'proxy-authenticate';
  for (const [name, value] of head.headers) {
    if (name.toLowerCase() !== header) continue;
    const scheme = value.split(/\s/)[0]?.toLowerCase() ?? '';
    out.push(scheme === 'basic' || scheme === 'digest' || scheme === 'ntlm' ? scheme : 'other');
  }
  return out;
}

/** What a refusal means, for the user: the proxy, the status, and what to do. */
export function refusal(head: HttpResponseHead, proxy: string, target: string, sentCredentials: boolean): ProxyError {
  const said = `"${head.statusLine}"`;
  if (wantsAuth(head)) {
    return sentCredentials
      ? new ProxyError('auth', `HTTP proxy ${proxy} refused the username/password (${said}): check the http-proxy credentials`)
      : new ProxyError('auth', `HTTP proxy ${proxy} requires authentication (${said}): add a credentials file, <http-proxy-user-pass> or "auto" to the http-proxy line`);
  }
  if (head.status === 403) return new ProxyError('forbidden', `HTTP proxy ${proxy} forbids CONNECT to ${target} (${said}): the proxy's policy does not allow this server or port`);
  if (head.status === 502 || head.status === 503 || head.status === 504 || head.status === 500) {
    return new ProxyError('bad-gateway', `HTTP proxy ${proxy} could not reach ${target} (${said}): is the server running, and is its name right?`);
  }
  return new ProxyError('protocol', `HTTP proxy ${proxy} refused CONNECT to ${target} (${said})`);
}
