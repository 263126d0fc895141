/**
 * The Link port: how OpenVPN packets reach the server. One datagram = one OpenVPN packet
 * (the TCP adapter adds and strips the u16 length prefix, so the session never sees it).
 * Adapters: udp-link.ts (node:dgram), tcp-link.ts (node:net, directly or through an HTTP/SOCKS
 * proxy: stream.ts), socks-udp-link.ts (UDP through a SOCKS5 relay), memory-link.ts (tests:
 * seeded loss, reorder, duplication).
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
  /**
   * Pushed sndbuf/rcvbuf: resizes the socket's buffers (absent sizes stay). Never throws: a
   * size the kernel refuses is reported through LinkEvents.error.
   */
  setBufferSizes?(sizes: { readonly sndbuf?: number | undefined; readonly rcvbuf?: number | undefined }): void;
  /** `float`: the server moved; send to this endpoint from now on (UDP only). */
  setRemote?(remote: Endpoint): void;
  /**
   * Roaming: the host's address changed; let the kernel choose the source address again (a
   * connected UDP socket keeps the one it had at connect()). The local port may change unless
   * it was bound; a 2.6 server with peer-id follows.
   */
  refreshSource?(): Promise<void>;
  /** The socket's own address when the OS gave it one (a connected TCP socket); for status reports. */
  readonly local?: Endpoint | undefined;
  close(): void;
}

/** Username and password for a proxy, asked for when first needed (a file, an inline block, or a prompt). */
export type ProxyCredentials = () => Promise<{ readonly username: string; readonly password: string }>;

/**
 * A proxy in front of the server (http-proxy, socks-proxy): where it is, and how to talk to it.
 * `label` is how messages name it (host:port as configured; never a password).
 */
export type ProxySpec =
  | {
      readonly kind: 'http';
      readonly endpoint: Endpoint;
      readonly label: string;
      /** http-proxy-option lines. */
      readonly options: readonly (readonly string[])[];
      /** basic: send credentials at once; none: only after a 407 when `auto` allows it. */
      readonly authMethod: 'none' | 'basic';
      /** `auto` / `auto-nct` (no cleartext methods): learn the method from a 407. */
      readonly auto: 'all' | 'nct' | undefined;
      readonly credentials: ProxyCredentials | undefined;
    }
  | {
      readonly kind: 'socks';
      readonly endpoint: Endpoint;
      readonly label: string;
      readonly credentials: ProxyCredentials | undefined;
    };
