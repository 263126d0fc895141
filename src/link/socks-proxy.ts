/**
 * SOCKS5 for `socks-proxy` (RFC 1928, username/password RFC 1929; OpenVPN 2.6 socks.c), as pure
 * message builders and parsers. TCP: CONNECT with the server's name (the proxy resolves it).
 * UDP: UDP ASSOCIATE on a TCP control connection, then every datagram to the relay carries a
 * 10-byte header with the server's IPv4 address, as OpenVPN does:
 *
 *   greeting   05 n methods...        ◀ 05 method (00 none, 02 username/password, FF none fit)
 *   auth       01 ulen user plen pass ◀ 01 status (00 = accepted)
 *   request    05 cmd 00 atyp addr port   (cmd 01 CONNECT, 03 UDP ASSOCIATE)
 *              ◀ 05 rep 00 atyp addr port (rep 00 = succeeded; for UDP: the relay's address)
 *   UDP        00 00 frag=00 01 ipv4 port | OpenVPN packet
 *
 * Never: put the password in an error message.
 */
import { ProxyError } from '../base/errors.ts';
import type { Endpoint } from './link.ts';
import { familyOf, formatIPv6, parseIPv4, parseIPv6 } from '../base/ip.ts';

export const SOCKS_VERSION = 5;
export const METHOD_NONE = 0;
export const METHOD_USERPASS = 2;
export const METHOD_REFUSED = 0xff;
export const CMD_CONNECT = 1;
export const CMD_UDP_ASSOCIATE = 3;
const ATYP_IPV4 = 1;
const ATYP_DOMAIN = 3;
const ATYP_IPV6 = 4;
/** The per-datagram header OpenVPN writes for an IPv4 server (RSV RSV FRAG ATYP ADDR4 PORT). */
export const SOCKS_UDP_HEADER_IPV4 = 10;

/** RFC 1928 reply codes, for messages. */
const REPLIES: Readonly<Record<number, string>> = {
  1: 'general SOCKS server failure',
  2: 'connection not allowed by ruleset',
  3: 'network unreachable',
  4: 'host unreachable',
  5: 'connection refused',
  6: 'TTL expired',
  7: 'command not supported',
  8: 'address type not supported',
};

export function greeting(withPassword: boolean): Uint8Array {
  return withPassword ? Uint8Array.of(SOCKS_VERSION, 2, METHOD_NONE, METHOD_USERPASS) : Uint8Array.of(SOCKS_VERSION, 1, METHOD_NONE);
}

/** The method the proxy chose (2 bytes read), or a ProxyError. */
export function chosenMethod(reply: Uint8Array, proxy: string, withPassword: boolean): number {
  if (reply[0] !== SOCKS_VERSION) throw new ProxyError('protocol', `SOCKS proxy ${proxy} does not speak SOCKS5 (version byte ${reply[0] ?? 'none'})`);
  const m = reply[1] ?? METHOD_REFUSED;
  if (m === METHOD_NONE || (m === METHOD_USERPASS && withPassword)) return m;
  if (m === METHOD_USERPASS) throw new ProxyError('auth', `SOCKS proxy ${proxy} requires a username and password: add an authfile to the socks-proxy line`);
  throw new ProxyError('auth', `SOCKS proxy ${proxy} accepts none of the offered authentication methods`);
}

const utf8 = new TextEncoder();

/** RFC 1929 request; names and passwords are limited to 255 bytes each. */
export function userPassRequest(username: string, password: string, proxy: string): Uint8Array {
  const u = utf8.encode(username);
  const p = utf8.encode(password);
  if (u.byteLength > 255 || p.byteLength > 255) throw new ProxyError('auth', `SOCKS proxy ${proxy}: the username and password must be at most 255 bytes each`);
  const out = new Uint8Array(3 + u.byteLength + p.byteLength);
  out[0] = 1;
  out[1] = u.byteLength;
  out.set(u, 2);
  out[2 + u.byteLength] = p.byteLength;
  out.set(p, 3 + u.byteLength);
  return out;
}

export function checkUserPassReply(reply: Uint8Array, proxy: string): void {
  if (reply[1] !== 0) throw new ProxyError('auth', `SOCKS proxy ${proxy} refused the username/password: check the socks-proxy authfile`);
}

function addressBytes(host: string): { atyp: number; bytes: Uint8Array } {
  const fam = familyOf(host);
  if (fam === 4) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, parseIPv4(host) ?? 0, false);
    return { atyp: ATYP_IPV4, bytes: b };
  }
  if (fam === 6) return { atyp: ATYP_IPV6, bytes: parseIPv6(host) ?? new Uint8Array(16) };
  const name = utf8.encode(host);
  const out = new Uint8Array(1 + name.byteLength);
  out[0] = name.byteLength;
  out.set(name, 1);
  return { atyp: ATYP_DOMAIN, bytes: out };
}

/** CONNECT to host:port (a name travels as a name) or UDP ASSOCIATE (0.0.0.0:0, as OpenVPN sends). */
export function request(cmd: number, host: string, port: number): Uint8Array {
  const a = addressBytes(host);
  const out = new Uint8Array(4 + a.bytes.byteLength + 2);
  out.set([SOCKS_VERSION, cmd, 0, a.atyp]);
  out.set(a.bytes, 4);
  out[out.byteLength - 2] = port >> 8;
  out[out.byteLength - 1] = port & 0xff;
  return out;
}

/** Bytes of a reply given its first 5 bytes (the address length depends on ATYP). */
export function replyLength(first5: Uint8Array): number {
  const atyp = first5[3];
  if (atyp === ATYP_IPV4) return 4 + 4 + 2;
  if (atyp === ATYP_IPV6) return 4 + 16 + 2;
  if (atyp === ATYP_DOMAIN) return 4 + 1 + (first5[4] ?? 0) + 2;
  return -1;
}

/** Checks a complete reply; returns the bound address (the UDP relay for UDP ASSOCIATE). */
export function parseReply(reply: Uint8Array, proxy: string, target: string): { host: string; port: number } {
  if (reply[0] !== SOCKS_VERSION) throw new ProxyError('protocol', `SOCKS proxy ${proxy} sent a malformed reply`);
  const rep = reply[1] ?? 1;
  if (rep !== 0) {
    const why = REPLIES[rep] ?? `reply code ${rep}`;
    const kind = rep === 2 ? 'forbidden' : rep >= 3 && rep <= 6 ? 'bad-gateway' : 'protocol';
    throw new ProxyError(kind, `SOCKS proxy ${proxy} could not connect to ${target}: ${why}`);
  }
  const atyp = reply[3];
  const port = ((reply[reply.byteLength - 2] ?? 0) << 8) | (reply[reply.byteLength - 1] ?? 0);
  if (atyp === ATYP_IPV4) return { host: Array.from(reply.subarray(4, 8)).join('.'), port };
  if (atyp === ATYP_IPV6) return { host: formatIPv6(reply.subarray(4, 20)), port };
  return { host: new TextDecoder().decode(reply.subarray(5, 5 + (reply[4] ?? 0))), port };
}

/** Writes the UDP header for `to` (an IPv4 server) into dst[0, 10) and returns 10. */
export function writeUdpHeader(dst: Uint8Array, to: Endpoint): number {
  dst[0] = 0;
  dst[1] = 0;
  dst[2] = 0;
  dst[3] = ATYP_IPV4;
  const parts = to.address.split('.');
  for (let i = 0; i < 4; i++) dst[4 + i] = Number(parts[i] ?? 0);
  dst[8] = to.port >> 8;
  dst[9] = to.port & 0xff;
  return SOCKS_UDP_HEADER_IPV4;
}

/** Bytes of the header on a datagram from the relay, or -1 if it is malformed or a fragment. */
export function udpHeaderLength(d: Uint8Array): number {
  if (d.byteLength < 4 || d[2] !== 0) return -1;
  const atyp = d[3];
  const n = atyp === ATYP_IPV4 ? 10 : atyp === ATYP_IPV6 ? 22 : atyp === ATYP_DOMAIN ? 7 + (d[4] ?? 0) : -1;
  return n > 0 && n <= d.byteLength ? n : -1;
}
