/**
 * block-ipv6 on a client: the ICMPv6 "destination unreachable, no route" answer OpenVPN 2.6 forges
 * for an IPv6 packet read from the tun (forward.c ipv6_send_icmp_unreachable), built into a
 * caller buffer so the data path allocates nothing per packet.
 *
 *   IPv6 packet from the tun                reply written back to the tun
 *   +-----------+-----------------+         +---------------------+-----------+----------------+
 *   | IPv6 hdr  | payload ...     |   ==>   | IPv6 hdr            | ICMPv6    | the original   |
 *   | src S     |                 |         | src = ifconfig-ipv6 | type 1    | packet, cut to |
 *   | dst D     |                 |         |   remote or fe80::7 | code 0    | min(1280,      |
 *   +-----------+-----------------+         | dst = S             | checksum  |  tun-mtu - 48) |
 *                                           +---------------------+-----------+----------------+
 *
 * The first 4 bytes (version, traffic class, flow label) and the hop limit are copied from the
 * original packet, as OpenVPN copies the whole header and then changes addresses, payload length
 * and next header. Never: allocate, throw, log.
 */

const IPV6_HEADER = 40;
const ICMP6_HEADER = 8;
/** proto.h OPENVPN_IPPROTO_ICMPV6. */
const IPPROTO_ICMPV6 = 58;
/** proto.h OPENVPN_ICMP6_DESTINATION_UNREACHABLE / OPENVPN_ICMP6_DU_NOROUTE. */
export const ICMP6_DEST_UNREACH = 1;
export const ICMP6_DU_NOROUTE = 0;
/** forward.c MAX_ICMPV6LEN: the most of the original packet that is quoted. */
const MAX_ICMPV6LEN = 1280;

/** fe80::7, the source OpenVPN uses when no `ifconfig-ipv6` remote is known. */
export const ICMP6_FALLBACK_SOURCE = new Uint8Array([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]);

/** The largest reply for any input and tun-mtu (out must be at least this long to never fall short). */
export const ICMP6_REPLY_MAX = IPV6_HEADER + ICMP6_HEADER + MAX_ICMPV6LEN;

/** True when buf[0, len) is a whole IPv6 header (version 6). */
export function isIpv6(buf: Uint8Array, len: number): boolean {
  return len >= IPV6_HEADER && (buf[0] ?? 0) >> 4 === 6;
}

/**
 * Writes the no-route reply to `pkt[0, len)` into `out` and returns its length, or 0 when `pkt`
 * is not an IPv6 packet with a whole header or `out` is too small. `source` is 16 bytes.
 */
export function icmp6NoRoute(pkt: Uint8Array, len: number, source: Uint8Array, tunMtu: number, out: Uint8Array): number {
  if (!isIpv6(pkt, len) || len > pkt.length || source.length !== 16) return 0;
  const quoted = Math.min(MAX_ICMPV6LEN, tunMtu - IPV6_HEADER - ICMP6_HEADER, len);
  if (quoted < 0) return 0;
  const total = IPV6_HEADER + ICMP6_HEADER + quoted;
  if (out.length < total) return 0;
  const icmpLen = ICMP6_HEADER + quoted;
  // IPv6 header: version/class/flow copied, payload length, next header, hop limit copied.
  out[0] = pkt[0] ?? 0;
  out[1] = pkt[1] ?? 0;
  out[2] = pkt[2] ?? 0;
  out[3] = pkt[3] ?? 0;
  out[4] = (icmpLen >> 8) & 0xff;
  out[5] = icmpLen & 0xff;
  out[6] = IPPROTO_ICMPV6;
  out[7] = pkt[7] ?? 0;
  copy(source, 0, out, 8, 16);
  copy(pkt, 8, out, 24, 16); // the original source becomes the destination
  // ICMPv6 header (type, code, checksum, 4 unused bytes), then the quoted packet.
  const o = IPV6_HEADER;
  out[o] = ICMP6_DEST_UNREACH;
  out[o + 1] = ICMP6_DU_NOROUTE;
  out[o + 2] = 0;
  out[o + 3] = 0;
  out[o + 4] = 0;
  out[o + 5] = 0;
  out[o + 6] = 0;
  out[o + 7] = 0;
  copy(pkt, 0, out, o + ICMP6_HEADER, quoted);
  // RFC 8200 §8.1 pseudo-header: source, destination, upper-layer length, next header.
  let sum = sum16(out, 8, 40, 0);
  sum += (icmpLen >>> 16) + (icmpLen & 0xffff) + IPPROTO_ICMPV6;
  sum = sum16(out, o, o + icmpLen, sum);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const ck = ~sum & 0xffff;
  out[o + 2] = ck >> 8;
  out[o + 3] = ck & 0xff;
  return total;
}

/** Byte copy without the view object a subarray() would allocate. */
function copy(from: Uint8Array, start: number, to: Uint8Array, at: number, n: number): void {
  for (let i = 0; i < n; i++) to[at + i] = from[start + i] ?? 0;
}

/** One's-complement sum of 16-bit big-endian words over buf[start, end) (an odd tail is zero-padded). */
function sum16(buf: Uint8Array, start: number, end: number, init: number): number {
  let s = init;
  let i = start;
  for (; i + 1 < end; i += 2) s += ((buf[i] ?? 0) << 8) | (buf[i + 1] ?? 0);
  if (i < end) s += (buf[i] ?? 0) << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}
