/**
 * The TunDevice port: the virtual NIC, shaped for a batched, allocation-free drain loop.
 *
 *   waitReadable(wake) ... wake() ... while ((n = tun.readInto(buf)) > 0) { seal + send }
 *                                     then waitReadable(wake) again
 *
 * readInto never blocks: it returns 0 when no packet is pending (EAGAIN). waitReadable is a
 * one-shot wake-up; after close() it never fires. Packets are raw IP (IFF_TUN | IFF_NO_PI).
 * Per-packet failures are never thrown: readInto/write return 0 and count them in `errors`;
 * only opening the device throws (OsError 'TUN_OPEN').
 */

/** sizeof(struct virtio_net_hdr): what each packet on a TUN fd opened with IFF_VNET_HDR starts with. */
export const VNET_HDR_LEN = 10;

export interface TunDevice {
  /** The interface name the kernel gave (`tun0`, or the configured name). */
  readonly name: string;
  readonly mtu: number;
  /** The device's file descriptor, for a pump on another thread (undefined for in-memory twins). */
  readonly fd?: number | undefined;
  /** Packets on `fd` carry a virtio_net_hdr first (IFF_VNET_HDR); readInto and write hide it. */
  readonly vnetHdr?: boolean;
  /** Copies one pending packet into `buf`; returns its length, or 0 when none is pending. */
  readInto(buf: Uint8Array): number;
  /** Writes the first `len` bytes of `buf` as one packet; returns bytes written, 0 if dropped. */
  write(buf: Uint8Array, len: number): number;
  /** Calls `cb` once, when a packet is (probably) pending. At most one wake-up is armed at a time. */
  waitReadable(cb: () => void): void;
  /** Per-packet I/O failures counted instead of thrown. */
  readonly errors: number;
  close(): void;
}

/** `dev tun` / `dev tunN` / `dev NAME` + `dev-type tun` -> the name to ask the kernel for. */
export function tunRequestName(dev: string, devType?: string): { readonly name: string } | { readonly error: string } {
  const type = devType ?? (dev.startsWith('tun') ? 'tun' : dev.startsWith('tap') ? 'tap' : undefined);
  if (type === undefined) return { error: `dev ${dev}: cannot tell the device type, add 'dev-type tun'` };
  if (type !== 'tun') return { error: `dev-type ${type} is not supported (only tun)` };
  if (dev === 'tun') return { name: '' }; // the kernel picks tunN
  if (dev.length > IFNAMSIZ - 1 || !/^[A-Za-z0-9_.-]+$/.test(dev)) return { error: `dev ${dev}: not a valid interface name` };
  return { name: dev };
}

/** linux/if.h IFNAMSIZ: names are at most 15 bytes plus NUL. */
export const IFNAMSIZ = 16;
