/**
 * The Link port: how OpenVPN packets reach the server. One datagram = one OpenVPN packet
 * (the TCP adapter adds and strips the u16 length prefix, so the session never sees it).
 * Adapters: udp-link.ts (node:dgram), memory-link.ts (tests: seeded loss, reorder, duplication).
 */

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export interface LinkEvents {
  /** A packet from the server (or, with `float`, from anywhere: `from` says where). */
  packet(bytes: Uint8Array, from: Endpoint): void;
  /** A transport error, e.g. ICMP port unreachable (ECONNREFUSED) or a TCP reset. */
  error(err: Error): void;
}

export interface Link {
  readonly proto: 'udp' | 'tcp';
  /**
   * Sends one packet. The contract every adapter keeps:
   * - The caller may overwrite `bytes` as soon as send() returns (the data path seals every
   *   packet into one reused tx buffer): the adapter copies, or otherwise owns, whatever it
   *   hands the kernel, including sends the OS queues on EAGAIN.
   * - send() never throws. Per-packet failures (a full send queue, ENOBUFS, EPERM...) are
   *   counted, and the first of each kind is reported once through LinkEvents.error.
   * - UDP is best effort: under backpressure a packet may be dropped whole, never cut, altered
   *   or sent twice.
   * - After close() it is a no-op.
   */
  send(bytes: Uint8Array): void;
  /** `float`: the server moved; send to this endpoint from now on (UDP only). */
  setRemote?(remote: Endpoint): void;
  close(): void;
}
