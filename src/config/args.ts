/**
 * Argument parsers shared by the directive table: integers with ranges, ports, enums, IPv4/IPv6
 * addresses and netmasks. Stricter than OpenVPN's atoi(): "70000", "12x", "-1" are errors.
 * Each parser throws ArgError(detail); the applier turns it into a positioned ConfigError.
 */
import { parseIPv4, parseIPv6 } from '../base/ip.ts';

export class ArgError extends Error {}

export function int(value: string, what: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value)) throw new ArgError(`${what} must be a whole number, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new ArgError(`${what} must be between ${min} and ${max}, got ${value}`);
  return n;
}

/** socket.c legal_ipv4_port / getaddrinfo service: 1..65535 (0 only where `allowZero`). */
export function port(value: string, what = 'port', allowZero = false): number {
  if (!/^\d+$/.test(value)) throw new ArgError(`${what} must be a number from ${allowZero ? 0 : 1} to 65535, got "${value}"`);
  return int(value, what, allowZero ? 0 : 1, 65535);
}

export function oneOf<const T extends string>(value: string, what: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ArgError(`unknown ${what} "${value}" (expected ${allowed.join(', ')})`);
}

export function ipv4(value: string, what = 'IPv4 address'): string {
  if (parseIPv4(value) === undefined) throw new ArgError(`${what} "${value}" is not a valid dotted-quad IPv4 address`);
  return value;
}

export function ipv4ToInt(a: string): number {
  return a.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/** A netmask must be contiguous ones then zeros (255.255.255.0 yes, 255.0.255.0 no). */
export function netmask(value: string, what = 'netmask'): string {
  ipv4(value, what);
  const n = ipv4ToInt(value);
  const inv = ~n >>> 0;
  if ((inv & (inv + 1)) !== 0) throw new ArgError(`${what} ${value} is not contiguous (expected e.g. 255.255.255.0)`);
  return value;
}

export function ipv6(value: string, what = 'IPv6 address'): string {
  if (parseIPv6(value) === undefined) throw new ArgError(`${what} "${value}" is not a valid IPv6 address`);
  return value;
}

/** `addr/bits` as in route-ipv6 / ifconfig-ipv6; bits default to `defaultBits` when absent. */
export function ipv6Prefix(value: string, what: string, defaultBits: number | undefined): { address: string; bits: number } {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  ipv6(address, what);
  if (slash < 0) {
    if (defaultBits === undefined) throw new ArgError(`${what} "${value}" needs a prefix length (addr/bits)`);
    return { address, bits: defaultBits };
  }
  return { address, bits: int(value.slice(slash + 1), `${what} prefix length`, 0, 128) };
}

/** socket.c ascii2proto, mapped to a client transport and address family. */
const PROTOS: Readonly<Record<string, { proto: 'udp' | 'tcp'; af: 'any' | 'inet' | 'inet6'; server?: true }>> = {
  udp: { proto: 'udp', af: 'any' },
  udp4: { proto: 'udp', af: 'inet' },
  udp6: { proto: 'udp', af: 'inet6' },
  tcp: { proto: 'tcp', af: 'any' },
  'tcp-client': { proto: 'tcp', af: 'any' },
  tcp4: { proto: 'tcp', af: 'inet' },
  'tcp4-client': { proto: 'tcp', af: 'inet' },
  tcp6: { proto: 'tcp', af: 'inet6' },
  'tcp6-client': { proto: 'tcp', af: 'inet6' },
  'tcp-server': { proto: 'tcp', af: 'any', server: true },
  'tcp4-server': { proto: 'tcp', af: 'inet', server: true },
  'tcp6-server': { proto: 'tcp', af: 'inet6', server: true },
};

export function proto(value: string): { proto: 'udp' | 'tcp'; af: 'any' | 'inet' | 'inet6' } {
  const p = PROTOS[value];
  if (p === undefined) throw new ArgError(`unknown protocol "${value}" (expected udp, tcp, udp4, udp6, tcp4, tcp6, tcp-client)`);
  if (p.server) throw new ArgError(`"${value}" is a server protocol; ovpn-ts is a client (use tcp or tcp-client)`);
  return { proto: p.proto, af: p.af };
}

/** ssl_common.h ascii2keydirection: 0 / 1 (the only values OpenVPN accepts besides none). */
export function keyDirection(value: string): 0 | 1 {
  if (value === '0') return 0;
  if (value === '1') return 1;
  throw new ArgError(`key direction must be 0 or 1, got "${value}"`);
}

/** A host name or IP literal (no spaces, no URL syntax). */
export function host(value: string, what = 'host'): string {
  if (value === '' || !/^[A-Za-z0-9._:%-]+$/.test(value) || value.startsWith('-')) {
    throw new ArgError(`${what} "${value}" is not a host name or IP address`);
  }
  return value;
}

/** Cipher and digest names as OpenSSL spells them: letters, digits, dashes. */
