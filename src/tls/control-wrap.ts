/**
 * The ControlWrap port (none, tls-auth, tls-crypt, tls-crypt-v2 protect control packets: the
 * adapters are in wrap.ts, over node:crypto) and the outbound long-form packet id, which the
 * control transport owns. Pure: no crypto, no clock (times are parameters).
 */
import { SID_SIZE } from './packet.ts';

/** packet_id.h: long-form packet id = u32 id + u32 net time. */
export const PACKET_ID_LONG_SIZE = 8;
/** ssl_pkt.h EARLY_NEG_START: a tls-crypt-v2 client's counter starts here (first id 0x0f000001). */
export const EARLY_NEG_START = 0x0f000000;
/** packet_id.h PACKET_ID_MAX. */
export const PACKET_ID_MAX = 0xffffffff;
/** tls_crypt.h sizes and offsets. */
export const TLS_CRYPT_TAG_SIZE = 32;
export const TLS_CRYPT_OFF_PID = 1 + SID_SIZE;
export const TLS_CRYPT_OFF_TAG = TLS_CRYPT_OFF_PID + PACKET_ID_LONG_SIZE;
export const TLS_CRYPT_OFF_CT = TLS_CRYPT_OFF_TAG + TLS_CRYPT_TAG_SIZE;

export type UnwrapFailure = 'SHORT' | 'HMAC' | 'REPLAY' | 'WKC';
export type UnwrapResult =
  | { readonly ok: true; readonly packet: Uint8Array; readonly pid: number; readonly time: number }
  | { readonly ok: false; readonly reason: UnwrapFailure };

export interface ControlWrap {
  readonly mode: 'none' | 'tls-auth' | 'tls-crypt' | 'tls-crypt-v2';
  /** Start value for this wrap's PacketIdSend (the first id on the wire is one more). */
  readonly initialPacketId: number;
  /** Bytes the wrap adds to every packet (not counting an appended WKc). */
  readonly overhead: number;
  /** Protect a plain packet with the given long-form packet id and net time. */
  wrap(plain: Uint8Array, pid: number, netTime: number): Uint8Array;
  /** Authenticate (and decrypt) a datagram, then apply the replay window. */
  unwrap(datagram: Uint8Array, nowWallSeconds: number): UnwrapResult;
}

export interface ReplayOptions {
  /** --replay-window n (default 64). */
  readonly replayWindow?: number;
  /** --replay-window n t (default 15 s). */
  readonly replaySeconds?: number;
}

/**
 * The outbound long-form packet id (packet_id.c packet_id_send_update): incremented before
 * use; the time is taken at the first use and changes only when the id rolls over, which is
 * allowed only if the time moved forward.
 */
export class PacketIdSend {
  #id: number;
  #time = 0;
  constructor(initialId = 0) {
    this.#id = initialId >>> 0;
  }
  /** Last id handed out (the initial value before the first next()). */
  get id(): number {
    return this.#id;
  }
  get time(): number {
    return this.#time;
  }
  /** Id and time for the next transmission, or undefined if the id cannot roll over yet. */
  next(nowWallSeconds: number): { readonly id: number; readonly time: number } | undefined {
    if (this.#time === 0) this.#time = nowWallSeconds >>> 0;
    if (this.#id === PACKET_ID_MAX) {
      if (nowWallSeconds <= this.#time) return undefined;
      this.#time = nowWallSeconds >>> 0;
      this.#id = 0;
    }
    this.#id++;
    return { id: this.#id, time: this.#time };
  }
}
