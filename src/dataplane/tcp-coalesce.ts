/**
 * TCP receive coalescing for a TUN device with IFF_VNET_HDR (GRO done in userspace, as
 * wireguard-go does): consecutive segments of one TCP flow from a batch of opened datagrams are
 * joined into one super-packet that the kernel's TCP takes in a single pass (one write, one
 * trip through the stack) instead of one per segment.
 *
 *   out: [virtio_net_hdr (10 bytes)][IP header][TCP header][payload of every segment]
 *        hdr: NEEDS_CSUM, GSO_TCPV4 / GSO_TCPV6, gso_size = the first segment's payload,
 *             csum_start/csum_offset at the TCP checksum, which holds the pseudo-header sum
 *
 * A segment joins the packet being built when it is what the kernel's own GRO would join:
 * same addresses, ports, TTL/hop limit, TOS/traffic class (and DF, the IPv4 id one more), no
 * IP options or extension headers, the same TCP header length, options, window and ack number,
 * flags ACK (and PSH on the last one), the sequence number right after the payload so far, a
 * payload no larger than the first one's and every one before it as large, 64 KiB at most.
 * Anything else is written as it came. A packet of one segment goes out with a zero header.
 * Never: allocate, throw, or change a byte of a packet that is not joined.
 */
import { VNET_HDR_LEN } from '../tun/device.ts';

const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
const IPPROTO_TCP = 6;
const TCP_ACK = 0x10;
const TCP_PSH = 0x08;
/** The most a super-packet holds: an IPv4 total length, and the kernel's segment bound. */
const MAX_BYTES = 65535;
const MAX_SEGMENTS = 64;

/**
 * Where the packet is written: buf[0, len) is the vnet header and the packet; `bytes` is what
 * the segments it holds add up to, headers included (what the TUN would have seen one by one).
 */
export type TunWrite = (buf: Uint8Array, len: number, segments: number, bytes: number) => void;

export class TcpCoalescer {
  /** The super-packet: the vnet header, then the packet. */
  readonly #out: Uint8Array;
  readonly #v: DataView;
  readonly #write: TunWrite;
  /** Bytes of the packet in #out (after the header); 0: nothing pending. */
  #len = 0;
  #segments = 0;
  #ipHl = 0;
  #tcpHl = 0;
  #mss = 0;
  #lastPayload = 0;
  #nextSeq = 0;
  #nextId = 0;
  #v6 = false;

  constructor(write: TunWrite) {
    this.#out = new Uint8Array(VNET_HDR_LEN + MAX_BYTES);
    this.#v = new DataView(this.#out.buffer);
    this.#write = write;
  }

  /**
   * Takes the packet in p[VNET_HDR_LEN, VNET_HDR_LEN + len) (p's first VNET_HDR_LEN bytes are zero
   * and free): joined to the one being built, or written (after what is pending) as it is.
   */
  push(p: Uint8Array, len: number): void {
    const start = this.#startable(p, len);
    if (this.#len > 0 && start && this.#joins(p, len)) return this.#append(p, len);
    this.flush();
    if (start) return this.#begin(p, len);
    this.#write(p, VNET_HDR_LEN + len, 1, len);
  }

  /** Writes what is pending (at the end of a batch). */
  flush(): void {
    if (this.#len === 0) return;
    const out = this.#out;
    const v = this.#v;
    if (this.#segments === 1) {
      out.fill(0, 0, VNET_HDR_LEN); // as it came: its own checksum stands
    } else {
      const ip = VNET_HDR_LEN;
      const tcp = ip + this.#ipHl;
      const tcpLen = this.#len - this.#ipHl;
      if (this.#v6) {
        v.setUint16(ip + 4, this.#len - 40);
      } else {
        v.setUint16(ip + 2, this.#len);
        v.setUint16(ip + 10, 0);
        v.setUint16(ip + 10, ~fold(sum16(out, ip, ip + this.#ipHl, 0)) & 0xffff);
      }
      // CHECKSUM_PARTIAL: the field holds the pseudo-header's sum; the kernel adds the rest
      const addrs = this.#v6 ? sum16(out, ip + 8, ip + 40, 0) : sum16(out, ip + 12, ip + 20, 0);
      v.setUint16(tcp + 16, fold(addrs + IPPROTO_TCP + (tcpLen >>> 16) + (tcpLen & 0xffff)));
      out[0] = VIRTIO_NET_HDR_F_NEEDS_CSUM;
      out[1] = this.#v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
      v.setUint16(2, this.#ipHl + this.#tcpHl, true);
      v.setUint16(4, this.#mss, true);
      v.setUint16(6, this.#ipHl, true);
      v.setUint16(8, 16, true);
    }
    const n = this.#len;
    const segments = this.#segments;
    this.#len = 0;
    this.#segments = 0;
    this.#write(out, VNET_HDR_LEN + n, segments, n + (segments - 1) * (this.#ipHl + this.#tcpHl));
  }

  /** A TCP segment with payload, flags ACK (+PSH), no IP options, fragments or extension headers. */
  #startable(p: Uint8Array, len: number): boolean {
    const ip = VNET_HDR_LEN;
    const version = (p[ip] ?? 0) >> 4;
    let ipHl: number;
    if (version === 4) {
      ipHl = 20;
      if (p[ip] !== 0x45 || p[ip + 9] !== IPPROTO_TCP || (((p[ip + 6] ?? 0) << 8) | (p[ip + 7] ?? 0)) & 0x3fff) return false; // options, not TCP, MF or an offset
      if ((((p[ip + 2] ?? 0) << 8) | (p[ip + 3] ?? 0)) !== len) return false;
    } else if (version === 6) {
      ipHl = 40;
      if (p[ip + 6] !== IPPROTO_TCP || (((p[ip + 4] ?? 0) << 8) | (p[ip + 5] ?? 0)) + 40 !== len) return false;
    } else {
      return false;
    }
    if (len < ipHl + 20) return false;
    const tcpHl = ((p[ip + ipHl + 12] ?? 0) >> 4) * 4;
    const flags = (p[ip + ipHl + 13] ?? 0) & 0x3f;
    return tcpHl >= 20 && len > ipHl + tcpHl && (flags === TCP_ACK || flags === (TCP_ACK | TCP_PSH));
  }

  #begin(p: Uint8Array, len: number): void {
    const ip = VNET_HDR_LEN;
    const v6 = (p[ip] ?? 0) >> 4 === 6;
    const ipHl = v6 ? 40 : 20;
    const tcpHl = ((p[ip + ipHl + 12] ?? 0) >> 4) * 4;
    this.#out.set(p.subarray(ip, ip + len), ip);
    this.#v6 = v6;
    this.#ipHl = ipHl;
    this.#tcpHl = tcpHl;
    this.#mss = len - ipHl - tcpHl;
    this.#lastPayload = this.#mss;
    this.#len = len;
    this.#segments = 1;
    this.#nextSeq = (this.#v.getUint32(ip + ipHl + 4) + this.#mss) >>> 0;
    this.#nextId = v6 ? 0 : (this.#v.getUint16(ip + 4) + 1) & 0xffff;
    if (((p[ip + ipHl + 13] ?? 0) & TCP_PSH) !== 0) this.flush(); // the sender asked for it now
  }

  #joins(p: Uint8Array, len: number): boolean {
    const ip = VNET_HDR_LEN;
    const o = this.#out;
    const ipHl = this.#ipHl;
    const tcpHl = this.#tcpHl;
    if ((p[ip] ?? 0) >> 4 !== (this.#v6 ? 6 : 4)) return false;
    const payload = len - ipHl - ((p[ip + ipHl + 12] ?? 0) >> 4) * 4;
    if (((p[ip + ipHl + 12] ?? 0) >> 4) * 4 !== tcpHl || payload > this.#mss || this.#lastPayload !== this.#mss) return false;
    if (this.#segments >= MAX_SEGMENTS || this.#len + payload > MAX_BYTES) return false;
    if (this.#v6) {
      // version, traffic class, flow label; next header, hop limit; addresses
      if (!same(p, o, ip, ip + 4) || !same(p, o, ip + 6, ip + 40)) return false;
    } else {
      // TOS; DF; TTL, protocol; addresses; the id one more than the last one's
      if (p[ip + 1] !== o[ip + 1] || p[ip + 6] !== o[ip + 6] || !same(p, o, ip + 8, ip + 10) || !same(p, o, ip + 12, ip + 20)) return false;
      if ((((p[ip + 4] ?? 0) << 8) | (p[ip + 5] ?? 0)) !== this.#nextId) return false;
    }
    const t = ip + ipHl;
    // ports; (sequence checked below); ack number; header length and flags but PSH; window; options
    if (!same(p, o, t, t + 4) || !same(p, o, t + 8, t + 12) || p[t + 12] !== o[t + 12] || ((p[t + 13] ?? 0) & ~TCP_PSH) !== ((o[t + 13] ?? 0) & ~TCP_PSH)) return false;
    if (!same(p, o, t + 14, t + 16) || !same(p, o, t + 20, t + tcpHl)) return false;
    const seq = (((p[t + 4] ?? 0) << 24) | ((p[t + 5] ?? 0) << 16) | ((p[t + 6] ?? 0) << 8) | (p[t + 7] ?? 0)) >>> 0;
    return seq === this.#nextSeq;
  }

  #append(p: Uint8Array, len: number): void {
    const ip = VNET_HDR_LEN;
    const hl = this.#ipHl + this.#tcpHl;
    const payload = len - hl;
    this.#out.set(p.subarray(ip + hl, ip + len), ip + this.#len);
    this.#len += payload;
    this.#segments++;
    this.#lastPayload = payload;
    this.#nextSeq = (this.#nextSeq + payload) >>> 0;
    this.#nextId = (this.#nextId + 1) & 0xffff;
    const psh = ((p[ip + this.#ipHl + 13] ?? 0) & TCP_PSH) !== 0;
    if (psh) {
      this.#out[ip + this.#ipHl + 13] = (this.#out[ip + this.#ipHl + 13] ?? 0) | TCP_PSH;
      this.flush();
    }
  }
}

function same(a: Uint8Array, b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The one's-complement sum of b[from, to) as 16-bit big-endian words (not folded). */
export function sum16(b: Uint8Array, from: number, to: number, init: number): number {
  let s = init;
  let i = from;
  for (; i + 1 < to; i += 2) s += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  if (i < to) s += (b[i] ?? 0) << 8;
  return s;
}

export function fold(s: number): number {
  let x = s;
  while (x > 0xffff) x = (x & 0xffff) + Math.floor(x / 0x10000);
  return x;
}
