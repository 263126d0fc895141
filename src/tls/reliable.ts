/**
 * The control channel's reliability layer (reliable.c, ssl.c tls_pre_decrypt), one sender and
 * one receiver per key_state; message ids start at 0 per direction and per key_id.
 *
 * Pure: time (`now`, milliseconds) is a parameter, nothing is logged, nothing is sent. The
 * session asks poll(now) what to (re)transmit, wraps it with the ACKs from takeAcks(), and
 * feeds ACKs and incoming message ids back in.
 *
 *   sender:  enqueue -> backlog -> 6 slots (id < lowest unacked + 6) -> poll(now) -> wire
 *            first send at once, then after 2 s, 4 s, 8 s ... (--tls-timeout, doubled per resend),
 *            or early once 3 ACKs for later ids arrived (N_ACK_RETRANSMIT)
 *   receiver: wire -> receive(id) -> 12 slots [next, next+12) -> takeInOrder() -> TLS
 *            accepted and duplicate ids are queued for ACK (<= 8 pending); ids >= next+12, or
 *            any id while all 12 slots are full, are dropped without ACK
 *   ACKs:    takeAcks(max) moves up to `max` pending ids to the front of an 8-entry MRU and
 *            returns the first min(max, MRU size) MRU ids: recently acked ids ride along again
 *            (reliable_ack_write, copy_acks_to_mru). Call it for every control packet sent
 *            (max 4 on P_CONTROL_*, 8 on P_ACK_V1; send a P_ACK_V1 only if ackPending > 0).
 *
 * Ids are u32 and compared modulo 2^32 as OpenVPN does. Payloads are kept by reference.
 */
import { Opcode, RELIABLE_ACK_SIZE } from './packet.ts';

/** ssl_pkt.h TLS_RELIABLE_N_SEND_BUFFERS / TLS_RELIABLE_N_REC_BUFFERS. */
export const TLS_RELIABLE_N_SEND_BUFFERS = 6;
export const TLS_RELIABLE_N_REC_BUFFERS = 12;
/** reliable.h N_ACK_RETRANSMIT: later ids ACKed before an early resend. */
export const N_ACK_RETRANSMIT = 3;
/** ssl.h CONTROL_SEND_ACK_MAX: ACKs piggy-backed on a P_CONTROL_* packet. */
export const CONTROL_SEND_ACK_MAX = 4;
/** options.c --tls-timeout default (2 s). */
export const DEFAULT_TLS_TIMEOUT_MS = 2000;

const HALF = 0x80000000;

/** (a - b) mod 2^32 */
function sub(a: number, b: number): number {
  return (a - b) >>> 0;
}

/** a < b modulo 2^32 (reliable_pid_min). */
function pidLess(a: number, b: number): boolean {
  return sub(a, b) >= HALF;
}

/** test < base + extent modulo 2^32 (reliable_pid_in_range2). */
function belowTop(test: number, base: number, extent: number): boolean {
  if (base + extent <= 0xffffffff) return test < base + extent;
  return ((test + HALF) >>> 0) < ((base + HALF) >>> 0) + extent;
}

export interface ReliableOutgoing {
  readonly id: number;
  readonly opcode: number;
  readonly payload: Uint8Array;
  /** True for every transmission after the first. */
  readonly retransmit: boolean;
}

interface SendSlot {
  active: boolean;
  id: number;
  opcode: number;
  payload: Uint8Array;
  nextTry: number;
  timeout: number;
  nAcks: number;
  sends: number;
}

export interface ReliableSenderOptions {
  /** --tls-timeout in ms (default 2000). */
  readonly timeoutMs?: number;
  /** Send window (default 6). */
  readonly window?: number;
}

export class ReliableSender {
  readonly timeoutMs: number;
  readonly #slots: SendSlot[];
  readonly #backlog: { payload: Uint8Array; opcode: number }[] = [];
  #nextId = 0;

  constructor(opts: ReliableSenderOptions = {}) {
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TLS_TIMEOUT_MS;
    const n = opts.window ?? TLS_RELIABLE_N_SEND_BUFFERS;
    this.#slots = Array.from({ length: n }, () => ({
      active: false, id: 0, opcode: 0, payload: new Uint8Array(0), nextTry: 0, timeout: 0, nAcks: 0, sends: 0,
    }));
  }

  /** Messages not yet acknowledged (in flight or waiting for a window slot). */
  get pending(): number {
    return this.inFlight + this.#backlog.length;
  }

  get inFlight(): number {
    let n = 0;
    for (const s of this.#slots) if (s.active) n++;
    return n;
  }

  /** The id the next new message will get. */
  get nextId(): number {
    return this.#nextId;
  }

  /** Queue a message; it gets the next message id when a window slot is free. */
  enqueue(payload: Uint8Array, opcode: number = Opcode.CONTROL_V1): void {
    this.#backlog.push({ payload, opcode });
    this.#fill();
  }

  /** An ACK for `id` arrived (reliable_send_purge). Returns true if it freed a slot. */
  onAck(id: number): boolean {
    let freed = false;
    for (const s of this.#slots) {
      if (!s.active) continue;
      if (s.id === id) {
        s.active = false;
        s.payload = new Uint8Array(0);
        freed = true;
      } else if (pidLess(s.id, id)) {
        s.nAcks++;
      }
    }
    if (freed) this.#fill();
    return freed;
  }

  /** Everything due at `now`, lowest id first; each is rescheduled with a doubled timeout. */
  poll(now: number): ReliableOutgoing[] {
    const due: SendSlot[] = [];
    for (const s of this.#slots) {
      if (s.active && (s.nAcks >= N_ACK_RETRANSMIT || now >= s.nextTry)) due.push(s);
    }
    due.sort((a, b) => (pidLess(a.id, b.id) ? -1 : 1));
    return due.map((s) => {
      s.nextTry = now + s.timeout;
      s.timeout *= 2;
      s.nAcks = 0;
      s.sends++;
      return { id: s.id, opcode: s.opcode, payload: s.payload, retransmit: s.sends > 1 };
    });
  }

  /** When poll() next has work: 0 if something is due already, undefined if nothing is pending. */
  nextDeadline(): number | undefined {
    let min: number | undefined;
    for (const s of this.#slots) {
      if (!s.active) continue;
      const t = s.nAcks >= N_ACK_RETRANSMIT ? 0 : s.nextTry;
      if (min === undefined || t < min) min = t;
    }
    return min;
  }

  /** Make every unacked message due now with the initial timeout (reliable_schedule_now). */
  scheduleNow(now: number): void {
    for (const s of this.#slots) {
      if (!s.active) continue;
      s.nextTry = now;
      s.timeout = this.timeoutMs;
    }
  }

  /** Move backlog into free slots while the new id stays below lowest unacked + window. */
  #fill(): void {
    while (this.#backlog.length > 0) {
      const lowest = this.#lowestActive();
      if (lowest !== undefined && sub(this.#nextId, lowest) >= this.#slots.length) return;
      const slot = this.#slots.find((s) => !s.active);
      const next = this.#backlog.shift();
      if (slot === undefined || next === undefined) return;
      slot.active = true;
      slot.id = this.#nextId;
      this.#nextId = (this.#nextId + 1) >>> 0;
      slot.opcode = next.opcode;
      slot.payload = next.payload;
      slot.nextTry = 0;
      slot.timeout = this.timeoutMs;
      slot.nAcks = 0;
      slot.sends = 0;
    }
  }

  #lowestActive(): number | undefined {
    let min: number | undefined;
    for (const s of this.#slots) if (s.active && (min === undefined || pidLess(s.id, min))) min = s.id;
    return min;
  }
}

export type ReceiveResult = 'accepted' | 'duplicate' | 'out-of-window';

interface RecvSlot {
  active: boolean;
  id: number;
  payload: Uint8Array;
}

export interface ReliableReceiverOptions {
  /** Receive window (default 12). */
  readonly window?: number;
}

export class ReliableReceiver {
  readonly #slots: RecvSlot[];
  /** Pending ACKs (reliable_ack), fixed capacity RELIABLE_ACK_SIZE (8, also the MRU size). */
  readonly #acks = new Uint32Array(RELIABLE_ACK_SIZE);
  #ackLen = 0;
  /** Recently acked ids, most recent first (ks->lru_acks). */
  readonly #mru = new Uint32Array(RELIABLE_ACK_SIZE);
  #mruLen = 0;
  #next = 0;

  constructor(opts: ReliableReceiverOptions = {}) {
    const n = opts.window ?? TLS_RELIABLE_N_REC_BUFFERS;
    this.#slots = Array.from({ length: n }, () => ({ active: false, id: 0, payload: new Uint8Array(0) }));
  }

  /** The next message id to be delivered in order. */
  get nextExpected(): number {
    return this.#next;
  }

  /** ACKs queued and not yet sent (a P_ACK_V1 is due when this is > 0). */
  get ackPending(): number {
    return this.#ackLen;
  }

  /** A message with this id arrived (ssl.c tls_pre_decrypt, non-ACK opcodes). */
  receive(id: number, payload: Uint8Array): ReceiveResult {
    const free = this.#slots.find((s) => !s.active);
    if (free === undefined) return 'out-of-window';
    if (!belowTop(id, this.#next, this.#slots.length)) return 'out-of-window';
    let result: ReceiveResult = 'accepted';
    if (pidLess(id, this.#next) || this.#slots.some((s) => s.active && s.id === id)) {
      result = 'duplicate';
    } else {
      free.active = true;
      free.id = id;
      free.payload = payload;
    }
    this.#acknowledge(id);
    return result;
  }

  /** Messages now deliverable in order (reliable_get_entry_sequenced + mark_deleted). */
  takeInOrder(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (;;) {
      const s = this.#slots.find((e) => e.active && e.id === this.#next);
      if (s === undefined) return out;
      out.push(s.payload);
      s.active = false;
      s.payload = new Uint8Array(0);
      this.#next = (this.#next + 1) >>> 0;
    }
  }

  /** ACK ids for one outgoing packet (at most `max`), pending ones first, then the MRU. */
  takeAcks(max: number): number[] {
    const limit = Math.max(0, Math.min(max, RELIABLE_ACK_SIZE));
    const n = Math.min(this.#ackLen, limit);
    this.#copyAcksToMru(n);
    this.#acks.copyWithin(0, n, this.#ackLen);
    this.#ackLen -= n;
    return Array.from(this.#mru.subarray(0, Math.min(limit, this.#mruLen)));
  }

  /** reliable_ack_acknowledge_packet_id: queue once, drop if the queue is full. */
  #acknowledge(id: number): void {
    for (let i = 0; i < this.#ackLen; i++) if (this.#acks[i] === id) return;
    if (this.#ackLen < RELIABLE_ACK_SIZE) this.#acks[this.#ackLen++] = id;
  }

  /** copy_acks_to_mru: move the first n pending ids to the MRU front, keeping their order. */
  #copyAcksToMru(n: number): void {
    for (let i = n - 1; i >= 0; i--) {
      const id = this.#acks[i] ?? 0;
      if (this.#mruLen === 0) {
        this.#mru[0] = id;
        this.#mruLen = 1;
      }
      let move = id;
      let found = false;
      for (let j = 0; j < this.#mruLen; j++) {
        const tmp = this.#mru[j] ?? 0;
        this.#mru[j] = move;
        move = tmp;
        if (move === id) {
          found = true;
          break;
        }
      }
      if (!found && this.#mruLen < RELIABLE_ACK_SIZE) this.#mru[this.#mruLen++] = move;
    }
  }
}
