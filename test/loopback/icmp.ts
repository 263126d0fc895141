/**
 * ICMPv4 echo for the loopback server: turn an echo request into its reply (what a host behind
 * the server would answer), and check Internet checksums (RFC 1071) in assertions.
 */

export const IPPROTO_ICMP = 1;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;

/** RFC 1071 one's-complement sum over b[start, end); 0 means a stored checksum verifies. */
export function internetChecksum(b: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += ((b[i] ?? 0) << 8) | (i + 1 < end ? (b[i + 1] ?? 0) : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ihl(p: Uint8Array): number {
  return ((p[0] ?? 0) & 0x0f) * 4;
}

/** Whether p is a well-formed IPv4 ICMP echo request. */
export function isEchoRequest(p: Uint8Array): boolean {
  if (p.byteLength < 28 || (p[0] ?? 0) >> 4 !== 4 || p[9] !== IPPROTO_ICMP) return false;
  return p[ihl(p)] === ICMP_ECHO_REQUEST;
}

/** The echo reply to an echo request: addresses swapped, type 0, both checksums recomputed. */
export function echoReply(request: Uint8Array): Uint8Array {
  const p = request.slice();
  const h = ihl(p);
  const src = p.slice(12, 16);
  p.copyWithin(12, 16, 20);
  p.set(src, 16);
  p[10] = 0;
  p[11] = 0;
  const ipSum = internetChecksum(p, 0, h);
  p[10] = ipSum >> 8;
  p[11] = ipSum & 0xff;
  p[h] = ICMP_ECHO_REPLY;
  p[h + 2] = 0;
  p[h + 3] = 0;
  const icmpSum = internetChecksum(p, h, p.byteLength);
  p[h + 2] = icmpSum >> 8;
  p[h + 3] = icmpSum & 0xff;
  return p;
}

/** Both the IPv4 header and the ICMP checksums verify. */
export function checksumsValid(p: Uint8Array): boolean {
  const h = ihl(p);
  return internetChecksum(p, 0, h) === 0 && internetChecksum(p, h, p.byteLength) === 0;
}
