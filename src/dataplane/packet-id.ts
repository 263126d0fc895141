/**
 * Outbound data-channel packet ids (short form, u32): start at 1, never wrap. OpenVPN refuses
 * to send once the id would roll over (ovpn:src/openvpn/packet_id.c packet_id_send_update) and
 * starts a renegotiation well before, at PACKET_ID_WRAP_TRIGGER (ovpn:src/openvpn/packet_id.h
 * packet_id_close_to_wrapping). Inbound ids are checked by the shared ReplayWindow (src/replay.ts).
 *
 * Pure; a number in, a number out; no allocation.
 */

/** packet_id.h PACKET_ID_WRAP_TRIGGER. */
export const PACKET_ID_WRAP_TRIGGER = 0xff000000;
/** packet_id.h PACKET_ID_MAX: the last id that may be sent. */
export const PACKET_ID_MAX = 0xffffffff;
/** Returned by next() when the id space is used up. */
export const PACKET_ID_EXHAUSTED = -1;

export class PacketIdSender {
  /** The last id handed out (0 = none yet). */
  #last: number;

  /** `last` is for tests that start near the end of the id space. */
  constructor(last = 0) {
    if (!Number.isInteger(last) || last < 0 || last > PACKET_ID_MAX) throw new RangeError(`packet id ${last} out of range`);
    this.#last = last;
  }

  /** The next id to send, or PACKET_ID_EXHAUSTED (-1) once 0xFFFFFFFF was sent. */
  next(): number {
    if (this.#last >= PACKET_ID_MAX) return PACKET_ID_EXHAUSTED;
    this.#last += 1;
    return this.#last;
  }

  get last(): number {
    return this.#last;
  }

  /** True once the id reached 0xFF000000: the session should start a renegotiation. */
  get needsRenegotiation(): boolean {
    return this.#last >= PACKET_ID_WRAP_TRIGGER;
  }

  get exhausted(): boolean {
    return this.#last >= PACKET_ID_MAX;
  }
}
