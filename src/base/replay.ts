/**
 * Replay protection for incoming packet ids: OpenVPN's packet_id_rec (packet_id.c
 * packet_id_test / packet_id_add / packet_id_reap), shared by the control channel (tls-auth,
 * tls-crypt: long form, id + time) and the data channel (short form: time undefined).
 *
 * Pure: no clock reads, no allocation after construction. `nowSeconds` is wall-clock seconds
 * supplied by the caller; it is only used to age entries out after `seconds` (time_backtrack).
 *
 *   slot(diff) = arrival second of id (highestId - diff), 0 = not seen, 1 = expired
 *
 *   highestId ─┐
 *              v
 *   [ t0 ][ t1 ][ 0 ][ t3 ] ... [ size-1 ]   ring of `size` Uint32 slots, newest first
 *
 *   check(id, time):  id 0                  -> 'zero'
 *                     time < highestTime    -> 'time-backtrack'
 *                     time > highestTime    -> 'ok' (a new sequence starts on accept)
 *                     id > highestId        -> 'ok'
 *                     diff >= ids tracked   -> 'too-old'
 *                     slot expired          -> 'too-old'
 *                     slot seen             -> 'replay'
 *
 * size 0 is OpenVPN's non-backtrack mode (`--replay-window 0`): ids must follow each other
 * without gaps; anything else is reported as 'replay'.
 *
 * check() never accepts; call accept() only after the packet authenticated. Both run OpenVPN's
 * periodic reap (every SEQ_REAP_INTERVAL seconds), which only ages entries out.
 * Deviation: OpenVPN stores `now` as the arrival mark only when now > 1 (a real clock always
 * is); here a mark of at least 2 is stored so that tests with small clocks behave the same.
 */

/** packet_id.h DEFAULT_SEQ_BACKTRACK: ids tracked behind the highest one. */
export const DEFAULT_REPLAY_WINDOW = 64;
/** packet_id.h DEFAULT_TIME_BACKTRACK: seconds a slot stays acceptable. */
export const DEFAULT_REPLAY_SECONDS = 15;
/** packet_id.h MAX_SEQ_BACKTRACK / MAX_TIME_BACKTRACK. */
export const MAX_REPLAY_WINDOW = 65536;
export const MAX_REPLAY_SECONDS = 600;
/** packet_id.h SEQ_REAP_INTERVAL. */
const SEQ_REAP_INTERVAL = 5;
/** packet_id.h SEQ_UNSEEN / SEQ_EXPIRED. */
const SEQ_UNSEEN = 0;
const SEQ_EXPIRED = 1;

export type ReplayVerdict = 'ok' | 'replay' | 'too-old' | 'zero' | 'time-backtrack';

export class ReplayWindow {
  readonly size: number;
  readonly seconds: number;
  readonly #slots: Uint32Array;
  /** Index of the newest slot (the one for #id). */
  #head = 0;
  /** Number of ids tracked (CIRC_LIST_SIZE), at most size. */
  #count = 0;
  /** Highest id accepted in the current time sequence. */
  #id = 0;
  /** Time of the current sequence (0 for the short form). */
  #time = 0;
  #lastReap = 0;

  constructor(size = DEFAULT_REPLAY_WINDOW, seconds = DEFAULT_REPLAY_SECONDS) {
    if (!Number.isInteger(size) || size < 0 || size > MAX_REPLAY_WINDOW) {
      throw new RangeError(`replay window size ${size} outside 0..${MAX_REPLAY_WINDOW}`);
    }
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_REPLAY_SECONDS) {
      throw new RangeError(`replay window time ${seconds} outside 0..${MAX_REPLAY_SECONDS}`);
    }
    this.size = size;
    this.seconds = seconds;
    this.#slots = new Uint32Array(Math.max(size, 1));
  }

  /** May this id (and time, long form) be accepted? Does not record it. */
  check(id: number, time: number | undefined, nowSeconds: number): ReplayVerdict {
    this.#reapIfDue(nowSeconds);
    const t = time ?? 0;
    if (id === 0) return 'zero';
    if (t < this.#time) return 'time-backtrack';
    if (this.size === 0) return this.#checkSequential(id, t);
    if (t > this.#time || id > this.#id) return 'ok';
    const diff = this.#id - id;
    if (diff >= this.#count) return 'too-old';
    const mark = this.#slots[this.#index(diff)] ?? SEQ_UNSEEN;
    if (mark === SEQ_UNSEEN) return 'ok';
    return mark === SEQ_EXPIRED ? 'too-old' : 'replay';
  }

  /** Record an id that passed check() and authenticated (packet_id_add). */
  accept(id: number, time: number | undefined, nowSeconds: number): void {
    this.#reapIfDue(nowSeconds);
    const t = time ?? 0;
    if (this.size === 0) {
      this.#time = t;
      this.#id = id;
      return;
    }
    if (this.#count === 0 || t > this.#time || (id >= this.size && id - this.size > this.#id)) {
      this.#time = t;
      this.#id = id > this.size ? id - this.size : 0;
      this.#count = 0;
    }
    while (this.#id < id) this.#push();
    const diff = this.#id - id;
    if (diff < this.#count) this.#slots[this.#index(diff)] = Math.max(nowSeconds, SEQ_EXPIRED + 1);
  }

  #checkSequential(id: number, t: number): ReplayVerdict {
    if (t > this.#time) return id === 1 ? 'ok' : 'replay';
    return this.#id === 0 || id === this.#id + 1 ? 'ok' : 'replay';
  }

  /** CIRC_LIST_PUSH of SEQ_UNSEEN for the next id. */
  #push(): void {
    this.#head = (this.#head + 1) % this.size;
    this.#slots[this.#head] = SEQ_UNSEEN;
    if (this.#count < this.size) this.#count++;
    this.#id++;
  }

  /** Slot index of the entry `diff` ids behind the newest (CIRC_LIST_ITEM). */
  #index(diff: number): number {
    return (this.#head - diff + this.size) % this.size;
  }

  /** packet_id_reap_test + packet_id_reap: expire everything at and behind the first stale mark. */
  #reapIfDue(now: number): void {
    if (this.#lastReap + SEQ_REAP_INTERVAL > now) return;
    this.#lastReap = now;
    if (this.seconds === 0) return;
    let expire = false;
    for (let i = 0; i < this.#count; i++) {
      const k = this.#index(i);
      const mark = this.#slots[k] ?? SEQ_UNSEEN;
      if (mark === SEQ_EXPIRED) break;
      if (!expire && mark !== SEQ_UNSEEN && mark + this.seconds < now) expire = true;
      if (expire) this.#slots[k] = SEQ_EXPIRED;
    }
  }
}
