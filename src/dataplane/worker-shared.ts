/**
 * What the main thread and the data-plane worker (worker-pump.ts) share: the layout of the
 * counters in their SharedArrayBuffer and the messages they exchange.
 *
 *   counters (Float64Array over a SharedArrayBuffer)
 *     [0, Counter.END)            written only by the worker, after each batch; read by the main
 *                                 thread when it needs them (keepalive, limits, status)
 *     [Counter.END, DROPS_END)    DataChannel drops by DropReason (drops[-reason])
 *     Shared.NOTIFY_*             written only by the main thread: post `wake` once the data on
 *                                 the primary key reaches these totals (reneg-bytes / -pkts)
 *
 * One writer per slot, aligned 8-byte stores: a reader sees an old or a new value, never a mix.
 * Times are milliseconds on the main thread's monotonic clock (performance.now() there).
 */
import type { Endpoint } from '../link/link.ts';
import type { CompressionMode } from './framing.ts';
import { DROP_REASON_SLOTS } from './drop-reason.ts';

export const Counter = {
  /** Datagrams received from the link (all opcodes), and their bytes. */
  LINK_RX_PKTS: 0,
  LINK_RX_BYTES: 1,
  /** Data packets that passed authentication, their wire bytes, and when the last arrived. */
  AUTH_RX_PKTS: 2,
  AUTH_RX_BYTES: 3,
  LAST_AUTH_RX_AT: 4,
  /** Data packets the worker sent, their wire bytes, and when the last left. */
  DATA_TX_PKTS: 5,
  DATA_TX_BYTES: 6,
  LAST_DATA_TX_AT: 7,
  /** Packets read from / written to the TUN device, their bytes, and the last time of either. */
  TUN_RX_PKTS: 8,
  TUN_RX_BYTES: 9,
  TUN_TX_PKTS: 10,
  TUN_TX_BYTES: 11,
  LAST_TUN_AT: 12,
  /** Our own packets to the server coming back from the TUN (loop-guard.ts). */
  LOOP_DROPS: 13,
  /** Datagrams the kernel refused (not EAGAIN: those wait), and TUN writes that failed. */
  SEND_DROPS: 14,
  TUN_WRITE_DROPS: 15,
  /** block-ipv6 answers. */
  BLOCKED_IPV6: 16,
  /** Datagrams cut because they did not fit a slot. */
  OVERSIZE_DROPS: 17,
  /** poll() wake-ups and the batches they moved (for the benchmark). */
  WAKEUPS: 18,
  /** Datagrams that left in a UDP GSO send of two or more. */
  GSO_PKTS: 19,
  /** TCP segments that reached the TUN joined into a super-packet of two or more. */
  GRO_PKTS: 20,
  /** Sends the kernel made wait (EAGAIN, or a short TCP write): the queue waited for POLLOUT. */
  SEND_WAITS: 21,
  /** Wake-ups after which the worker waited for a batch (batchWaitUs) before polling again. */
  BATCH_WAITS: 22,
  END: 23,
} as const;

/** DataChannel drops: counters[DROPS_BASE - reason] (reasons are negative). */
export const DROPS_BASE = Counter.END;
const DROPS_END = DROPS_BASE + DROP_REASON_SLOTS;

export const Shared = {
  NOTIFY_KEY_BYTES: DROPS_END,
  NOTIFY_KEY_PKTS: DROPS_END + 1,
  SIZE: DROPS_END + 2,
} as const;

/** What the worker is given at start (workerData). */
export interface WorkerInit {
  readonly eventFd: number;
  readonly counters: SharedArrayBuffer;
  /** performance.timeOrigin of the main thread: the worker's clock is made to match it. */
  readonly timeOrigin: number;
  /** Ring sizes: slots per batch and bytes per slot. */
  readonly slots: number;
  readonly slotSize: number;
  /** 'evp' unless a test asks for node:crypto. */
  readonly backend: 'evp' | 'node';
  /** UDP GSO sends (UDP_SEGMENT) of runs of equal-size datagrams. */
  readonly gso: boolean;
  /** While a stream flows, microseconds to wait for a batch before polling again (0: never wait). */
  readonly batchWaitUs: number;
}

/** The DataChannel's options (made on the first key install, as on the main thread). */
export interface ChannelOptions {
  readonly compression: CompressionMode;
  readonly replayWindow: number;
  readonly replaySeconds: number;
  readonly fragment: { readonly maxFragmentSize: number; readonly initialSeqId: number } | undefined;
}

export interface DirectionKeyMessage {
  readonly cipher: Uint8Array;
  readonly hmac: Uint8Array;
}

/** Main thread -> worker; each is followed by a write to the eventfd. `seq` asks for an `ack`. */
export type ToWorker =
  /**
   * An attempt's socket: a connected (or, with float, unconnected) UDP socket, or a connected TCP
   * stream (`early`: bytes of it the proxy handshake read past its answer). The remote is also the
   * loop guard's.
   */
  | { readonly kind: 'link'; readonly proto: 'udp' | 'tcp'; readonly fd: number; readonly remote: Endpoint; readonly float: boolean; readonly early: Uint8Array | undefined; readonly seq: number }
  /** TCP: a control packet to send, behind whatever the stream still holds (UDP control packets leave from the main thread). */
  | { readonly kind: 'send'; readonly bytes: Uint8Array }
  /** The attempt ended: forget its socket, TUN and keys. */
  | { readonly kind: 'unlink'; readonly seq: number }
  | {
      readonly kind: 'keys';
      readonly keyId: number;
      readonly cipher: string;
      readonly auth: string | undefined;
      readonly peerId: number | undefined;
      readonly send: DirectionKeyMessage;
      readonly recv: DirectionKeyMessage;
      readonly channel: ChannelOptions;
    }
  | { readonly kind: 'retire'; readonly keyId: number }
  /** vnetHdr: the fd's packets carry a virtio_net_hdr (TCP segments are coalesced on the way in). */
  | { readonly kind: 'tun'; readonly fd: number; readonly mss: number; readonly tunMtu: number; readonly block6: Uint8Array | undefined; readonly vnetHdr: boolean; readonly seq: number }
  | { readonly kind: 'untun'; readonly seq: number }
  | { readonly kind: 'payload'; readonly payload: 'ping' | 'occ-exit' }
  | { readonly kind: 'remote'; readonly remote: Endpoint }
  | { readonly kind: 'stop'; readonly seq: number };

/** Worker -> main thread. */
export type FromWorker =
  | { readonly kind: 'ready' }
  | { readonly kind: 'ack'; readonly seq: number }
  | { readonly kind: 'control'; readonly bytes: Uint8Array; readonly from: Endpoint | undefined }
  | { readonly kind: 'peer-moved'; readonly from: Endpoint }
  /**
   * occ-exit from the server; packet-id-exhausted; wake: a NOTIFY_* total was reached; compressed: a
   * compressed packet was dropped; data-error: over TCP, a data packet failed authentication or
   * the replay check (the stream is broken: forward.c).
   */
  | { readonly kind: 'event'; readonly event: 'occ-exit' | 'packet-id-exhausted' | 'wake' | 'compressed' | 'data-error' }
  /** The kernel refused a GSO send (errno): datagrams go one by one from now on. */
  | { readonly kind: 'event'; readonly event: 'gso-off'; readonly errno: number }
  | { readonly kind: 'link-error'; readonly code: string; readonly message: string }
  | { readonly kind: 'fatal'; readonly message: string };
