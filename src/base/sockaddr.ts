/**
 * struct sockaddr_in / sockaddr_in6 as bytes (Linux layout), for the calls made through koffi:
 * bind, connect, sendto, and the source addresses recvmmsg reports.
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './ip.ts';

/** sys/socket.h address families (Linux). */
export const AF_INET = 2;
export const AF_INET6 = 10;
/** sizeof(struct sockaddr_in), sizeof(struct sockaddr_in6). */
export const SOCKADDR_IN = 16;
export const SOCKADDR_IN6 = 28;

/** The sockaddr for an address literal and port. */
export function encodeSockaddr(address: string, port: number, family: 4 | 6): Uint8Array {
  const b = new Uint8Array(family === 4 ? SOCKADDR_IN : SOCKADDR_IN6);
  const v = new DataView(b.buffer);
  v.setUint16(0, family === 4 ? AF_INET : AF_INET6, true);
  v.setUint16(2, port, false);
  if (family === 4) {
    v.setUint32(4, parseIPv4(address) ?? 0, false);
    return b;
  }
  b.set(parseIPv6(address.split('%')[0] ?? '') ?? new Uint8Array(16), 8);
  return b;
}

/** The endpoint in sockaddr bytes, or undefined for another family. */
export function decodeSockaddr(b: Uint8Array): { address: string; port: number; family: 4 | 6 } | undefined {
  if (b.byteLength < SOCKADDR_IN) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const af = v.getUint16(0, true);
  const port = v.getUint16(2, false);
  if (af === AF_INET) return { address: formatIPv4(v.getUint32(4, false)), port, family: 4 };
  if (af === AF_INET6 && b.byteLength >= SOCKADDR_IN6) return { address: formatIPv6(b.subarray(8, 24)), port, family: 6 };
  return undefined;
}

/** Whether sockaddr `a` names the same address and port as `b` (the first `b.byteLength` bytes, flow info and scope aside). */
export function sameSockaddr(a: Uint8Array, b: Uint8Array): boolean {
  if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2] || a[3] !== b[3]) return false;
  const [from, to] = b.byteLength === SOCKADDR_IN ? [4, 8] : [8, 24];
  for (let i = from; i < to; i++) if (a[i] !== b[i]) return false;
  return true;
}
