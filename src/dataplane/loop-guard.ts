/**
 * The loop guard: recognises, in a packet read from the TUN device, our own transport packet to
 * the server. The kernel sends it there when the route to the server is gone and a tunnel route
 * (redirect-gateway's 0/1, ::/3...) covers the server's address: an uplink just disappeared.
 * Sealed and sent again it would come back into the TUN 40 bytes longer, be fragmented past the
 * MTU, and each piece loop again: a packet storm for as long as no uplink exists (OpenVPN 2
 * loops this way). Dropped instead, it is blackholed, which is all that can happen to it.
 *
 *   IPv4: protocol (UDP/TCP) + destination address + destination port; later fragments by
 *         protocol + destination (they carry no port)
 *   IPv6: next header (UDP/TCP, or a fragment header in front of one) + destination (+ port)
 *
 * Pure, no allocation per packet: the server's address is parsed once.
 */
import { parseIPv4, parseIPv6 } from '../base/ip.ts';

const UDP = 17;
const TCP = 6;
const IPV6_FRAGMENT = 44;

export class LoopGuard {
  readonly #addr: Uint8Array;
  readonly #proto: number;
  readonly #port: number;

  constructor(server: { readonly address: string; readonly port: number; readonly family: 4 | 6 }, proto: 'udp' | 'tcp') {
    const v4 = server.family === 4 ? parseIPv4(server.address) : undefined;
    this.#addr = v4 !== undefined ? Uint8Array.of(v4 >>> 24, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255) : (parseIPv6(server.address) ?? new Uint8Array(16));
    this.#proto = proto === 'udp' ? UDP : TCP;
    this.#port = server.port;
  }

  /** True when packet[0, len) is our own transport packet to the server. */
  matches(p: Uint8Array, len: number): boolean {
    const a = this.#addr;
    const version = (p[0] ?? 0) >> 4;
    if (version === 4 && a.length === 4 && len >= 20) {
      if (p[9] !== this.#proto || p[16] !== a[0] || p[17] !== a[1] || p[18] !== a[2] || p[19] !== a[3]) return false;
      if ((((p[6] ?? 0) & 0x1f) << 8 | (p[7] ?? 0)) !== 0) return true; // a later fragment
      const l4 = ((p[0] ?? 0) & 15) * 4;
      return len >= l4 + 4 && (((p[l4 + 2] ?? 0) << 8) | (p[l4 + 3] ?? 0)) === this.#port;
    }
    if (version === 6 && a.length === 16 && len >= 40) {
      for (let i = 0; i < 16; i++) if (p[24 + i] !== a[i]) return false;
      let nh = p[6] ?? 0;
      let l4 = 40;
      if (nh === IPV6_FRAGMENT && len >= 48) {
        nh = p[40] ?? 0;
        if (((((p[42] ?? 0) << 8) | (p[43] ?? 0)) & 0xfff8) !== 0) return nh === this.#proto; // a later fragment
        l4 = 48;
      }
      return nh === this.#proto && len >= l4 + 4 && (((p[l4 + 2] ?? 0) << 8) | (p[l4 + 3] ?? 0)) === this.#port;
    }
    return false;
  }
}
