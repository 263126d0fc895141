/**
 * mssfix: clamps the MSS option of TCP SYN packets crossing the tunnel, in place, so that TCP
 * segments fit the encapsulated packet size (OpenVPN 2.6 mss.c: mss_fixup_ipv4/_ipv6/_dowork,
 * frame_calculate_mssfix).
 *
 *   IPv4/IPv6 packet --is it TCP with SYN, complete, unfragmented?--> walk TCP options
 *     --MSS option > max?--> rewrite MSS, fix the TCP checksum incrementally (RFC 1624)
 *
 * IPv6 packets get max - 20 (the bigger IP header), as OpenVPN does. Malformed or truncated
 * packets are left untouched. Never: allocate, throw, log.
 */

/** mss.c / proto.h constants. */
const IPPROTO_TCP = 6;
const IPV4_MIN_HEADER = 20;
const IPV6_HEADER = 40;
const TCP_MIN_HEADER = 20;
const TCP_FLAG_SYN = 0x02;
const IP_OFFMASK = 0x1fff;
const TCPOPT_EOL = 0;
const TCPOPT_NOP = 1;
const TCPOPT_MAXSEG = 2;
const TCPOLEN_MAXSEG = 4;
/** mtu.h MSSFIX_DEFAULT. */
export const MSSFIX_DEFAULT = 1492;
/** mtu.h TUN_MTU_DEFAULT. */
const TUN_MTU_DEFAULT = 1500;
/** MSS arithmetic assumes IPv4 + TCP headers without options (RFC 879). */
const IPV4_TCP_HEADERS = IPV4_MIN_HEADER + TCP_MIN_HEADER;
/** IPv6 needs 20 more bytes of IP header than IPv4 (mss_fixup_ipv6: maxmss - 20). */
const IPV6_EXTRA = 20;

/**
 * Clamps the MSS of a TCP SYN in `buf[0, len)` to `maxMss` (the IPv4 figure; IPv6 uses 20 less).
 * Returns true when the packet was changed. `maxMss` <= 0 disables clamping.
 */
export function clampMss(buf: Uint8Array, len: number, maxMss: number): boolean {
  if (maxMss <= 0 || len < IPV4_MIN_HEADER || len > buf.length) return false;
  const version = (buf[0] ?? 0) >> 4;
  if (version === 4) {
    const hlen = ((buf[0] ?? 0) & 0x0f) * 4;
    if (hlen < IPV4_MIN_HEADER || len < hlen) return false;
    if (buf[9] !== IPPROTO_TCP) return false;
    if (be16(buf, 2) !== len) return false;
    if ((be16(buf, 6) & IP_OFFMASK) !== 0) return false;
    return clampTcp(buf, hlen, len, maxMss);
  }
  if (version === 6) {
    if (len < IPV6_HEADER || be16(buf, 4) + IPV6_HEADER !== len) return false;
    if (buf[6] !== IPPROTO_TCP) return false; // only "next header = TCP", as mss_fixup_ipv6
    return clampTcp(buf, IPV6_HEADER, len, maxMss - IPV6_EXTRA);
  }
  return false;
}

/** mss_fixup_dowork: the TCP header at `off`. */
function clampTcp(buf: Uint8Array, off: number, end: number, maxMss: number): boolean {
  if (maxMss <= 0 || end - off < TCP_MIN_HEADER) return false;
  if (((buf[off + 13] ?? 0) & TCP_FLAG_SYN) === 0) return false;
  const hlen = ((buf[off + 12] ?? 0) >> 4) * 4;
  if (hlen <= TCP_MIN_HEADER || off + hlen > end) return false;
  let p = off + TCP_MIN_HEADER;
  const optEnd = off + hlen;
  while (p < optEnd) {
    const kind = buf[p] ?? TCPOPT_EOL;
    if (kind === TCPOPT_EOL) break;
    if (kind === TCPOPT_NOP) {
      p++;
      continue;
    }
    if (optEnd - p < 2) break;
    const olen = buf[p + 1] ?? 0;
    if (olen < 2 || olen > optEnd - p) break;
    if (kind === TCPOPT_MAXSEG && olen === TCPOLEN_MAXSEG) {
      const old = be16(buf, p + 2);
      if (old <= maxMss) return false;
      buf[p + 2] = maxMss >> 8;
      buf[p + 3] = maxMss & 0xff;
      // A 16-bit field at an odd offset from the TCP header adds to the sum byte-swapped.
      const odd = (p + 2 - off) % 2 === 1;
      const csum = be16(buf, off + 16);
      const fixed = adjustChecksum(csum, odd ? swap16(old) : old, odd ? swap16(maxMss) : maxMss);
      buf[off + 16] = fixed >> 8;
      buf[off + 17] = fixed & 0xff;
      return true;
    }
    p += olen;
  }
  return false;
}

/** RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). */
export function adjustChecksum(csum: number, oldWord: number, newWord: number): number {
  let sum = (~csum & 0xffff) + (~oldWord & 0xffff) + newWord;
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function be16(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}

function swap16(v: number): number {
  return ((v & 0xff) << 8) | (v >> 8);
}

/** What frame_calculate_mssfix needs to know about the data channel and the transport. */
export interface MssFrame {
  /** ce.mssfix as configured (options.ts `mssfix`); value 0 disables. */
  readonly mssfix: { readonly value: number; readonly mode: 'default' | 'mtu' | 'fixed' | 'plain' };
  readonly tunMtu: number;
  readonly proto: 'udp' | 'tcp';
  readonly family: 4 | 6;
  /** AEAD (GCM, ChaCha20-Poly1305): tag 16; CBC: IV + HMAC, block size. */
  readonly aead: boolean;
  /** CBC: cipher IV / block size (16 for AES); HMAC size (32 for SHA256). */
  readonly ivSize: number;
  readonly blockSize: number;
  readonly hmacSize: number;
  readonly tagSize: number;
  readonly peerId: boolean;
  /** A v1 compression framing byte (compress stub/lzo/lz4, comp-lzo). */
  readonly compressByte: boolean;
  /** `fragment N`: a default mssfix becomes `mssfix N`, and the fragment header is payload overhead. */
  readonly fragment?: number | undefined;
}

/** Packet id of the data channel: 4 bytes (short form, no time), crypto.c calc_packet_id_size_dc. */
const PACKET_ID_SIZE = 4;

/** mss.c frame_calculate_mssfix: the largest IPv4 TCP MSS, 0 when mssfix is off. */
export function mssForFrame(f: MssFrame): number {
  let { value, mode } = f.mssfix;
  if (value === 0) return 0;
  let encap = mode === 'default' || mode === 'mtu';
  let fixed = mode === 'fixed';
  if (mode === 'default' && f.fragment !== undefined) {
    // options.c: with fragment, a default mssfix takes the fragment size (and keeps counting
    // the outer IP/UDP headers, as a default mssfix does; 2.6 warns about that mismatch itself).
    value = f.fragment;
  } else if (mode === 'default' && f.tunMtu !== TUN_MTU_DEFAULT) {
    // options.c: a non-default tun-mtu turns the default into "mssfix <tun-mtu> fixed".
    value = f.tunMtu;
    fixed = true;
    encap = false;
  }
  if (fixed) return Math.max(0, value - IPV4_TCP_HEADERS);
  let overhead = (f.proto === 'tcp' ? 2 : 0) + (f.peerId ? 4 : 1);
  overhead += f.aead ? PACKET_ID_SIZE + f.tagSize : f.ivSize + f.hmacSize;
  if (encap) overhead += (f.proto === 'udp' ? 8 : 20) + (f.family === 4 ? 20 : 40);
  const payloadOverhead = (f.compressByte ? 1 : 0) + (f.fragment !== undefined ? 4 : 0) + (f.aead ? 0 : PACKET_ID_SIZE) + IPV4_TCP_HEADERS;
  let target = value - overhead;
  if (!f.aead) target = Math.floor(target / f.blockSize) * f.blockSize - 1;
  return Math.max(0, target - payloadOverhead);
}
