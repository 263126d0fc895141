/**
 * In-memory twin of the Link port, for tests: two ends joined by a simulated network with
 * seeded loss, reordering (extra delay for some packets) and duplication, and virtual time.
 *
 *   end A ──send──▶ copy ─▶ lost? ─▶ deliver at now + delay (+ reorder delay) ─▶ end B.packet
 *                              └──▶ duplicated? ─▶ a second copy, a little later
 *   end B ──send──▶ (the same, with its own conditions) ─────────────────────────▶ end A.packet
 *
 * Nothing is delivered while the caller holds the thread: every delivery is a callback of
 * VirtualTimers, which runs only when the test moves virtual time forward (advanceTo / runNext).
 * The same VirtualTimers can be handed to the code under test as its timer port, so its
 * retransmissions and timeouts share the one virtual clock with the network.
 *
 * Every decision draws from one SeededRandom in send order, so a run is reproducible as long
 * as the packets sent are. Packets are copied on send (the sender may reuse its buffer) and
 * each delivery gets its own copy. Never: a socket, a real timer, the real clock.
 */
import type { FakeClock, SeededRandom } from '../base/clock.ts';
import { LocalProtocolError } from '../base/errors.ts';
import type { Endpoint, Link, LinkEvents } from './link.ts';

/** A timer port driven by a FakeClock: callbacks run only when the test advances time. */
export class VirtualTimers {
  readonly clock: FakeClock;
  readonly #queue: { at: number; seq: number; cb: () => void }[] = [];
  #seq = 0;
  /** Timers set so far; tests use it to tell whether the system under test did anything. */
  activity = 0;

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  /** Runs `cb` once `ms` virtual milliseconds from now have passed. */
  set(ms: number, cb: () => void): number {
    const id = ++this.#seq;
    this.#queue.push({ at: this.clock.now() + Math.max(0, ms), seq: id, cb });
    this.activity++;
    return id;
  }

  clear(handle: unknown): void {
    const i = this.#queue.findIndex((t) => t.seq === handle);
    if (i >= 0) this.#queue.splice(i, 1);
  }

  /** When the earliest pending timer is due, or undefined if none is pending. */
  nextAt(): number | undefined {
    let min: number | undefined;
    for (const t of this.#queue) if (min === undefined || t.at < min) min = t.at;
    return min;
  }

  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Moves the clock to the earliest pending timer (never backwards) and runs every timer due
   * then, in the order they were set; timers those callbacks set run on a later step, even with
   * delay 0. Returns false if nothing was pending.
   */
  runNext(): boolean {
    const at = this.nextAt();
    if (at === undefined) return false;
    if (at > this.clock.now()) this.clock.set(at);
    this.#runDue();
    return true;
  }

  /** Moves the clock to `t`, running every timer due on the way, in time order. */
  advanceTo(t: number): void {
    for (let at = this.nextAt(); at !== undefined && at <= t; at = this.nextAt()) {
      if (at > this.clock.now()) this.clock.set(at);
      this.#runDue();
    }
    if (t > this.clock.now()) this.clock.set(t);
  }

  #runDue(): void {
    const now = this.clock.now();
    const due = this.#queue.filter((t) => t.at <= now).sort((a, b) => a.at - b.at || a.seq - b.seq);
    for (const t of due) {
      const i = this.#queue.indexOf(t);
      if (i < 0) continue; // cleared by an earlier callback
      this.#queue.splice(i, 1);
      t.cb();
    }
  }
}

/** What the simulated network does to packets in one direction. Probabilities are 0..1. */
export interface LinkConditions {
  readonly loss?: number;
  readonly duplicate?: number;
  /** Share of packets held back by an extra `reorderDelayMs`, so later ones overtake them. */
  readonly reorder?: number;
  /** One-way delay of every packet (default 5 ms). */
  readonly delayMs?: number;
  /** Extra delay of a reordered packet (default 30 ms); duplicates trail by half of it. */
  readonly reorderDelayMs?: number;
}

export type Direction = 'a-to-b' | 'b-to-a';

export interface DirectionCounters {
  sent: number;
  lost: number;
  duplicated: number;
  reordered: number;
  delivered: number;
  /** Arrived at an end that was closed or not opened yet. */
  undeliverable: number;
}

export interface MemoryLinkOptions {
  readonly timers: VirtualTimers;
  readonly random: SeededRandom;
  /** Applied to both directions unless `bToA` is given. */
  readonly conditions?: LinkConditions;
  readonly bToA?: LinkConditions;
  readonly proto?: 'udp' | 'tcp';
  readonly endpointA?: Endpoint;
  readonly endpointB?: Endpoint;
}

const DEFAULT_DELAY_MS = 5;
const DEFAULT_REORDER_DELAY_MS = 30;

interface EndState {
  events: LinkEvents | undefined;
  closed: boolean;
  readonly endpoint: Endpoint;
}

/** Observes every packet a side sends, before the network acts on it (a copy). */
export type PacketTap = (dir: Direction, bytes: Uint8Array) => void;

export class MemoryLinkPair {
  readonly counters: Record<Direction, DirectionCounters> = { 'a-to-b': newCounters(), 'b-to-a': newCounters() };
  readonly #timers: VirtualTimers;
  readonly #random: SeededRandom;
  readonly #proto: 'udp' | 'tcp';
  readonly #conditions: Record<Direction, LinkConditions>;
  readonly #ends: Record<'a' | 'b', EndState>;
  readonly #taps: PacketTap[] = [];

  constructor(opts: MemoryLinkOptions) {
    this.#timers = opts.timers;
    this.#random = opts.random;
    this.#proto = opts.proto ?? 'udp';
    this.#conditions = { 'a-to-b': opts.conditions ?? {}, 'b-to-a': opts.bToA ?? opts.conditions ?? {} };
    this.#ends = {
      a: { events: undefined, closed: false, endpoint: opts.endpointA ?? { address: '127.0.0.2', port: 50000, family: 4 } },
      b: { events: undefined, closed: false, endpoint: opts.endpointB ?? { address: '127.0.0.1', port: 1194, family: 4 } },
    };
  }

  /** Whether that end was closed (opened and then closed). */
  isClosed(end: 'a' | 'b'): boolean {
    return this.#ends[end].closed;
  }

  /** Opens end A (conventionally the client); `events` receive what B sends. */
  openA(events: LinkEvents): Link {
    return this.#open('a', events);
  }

  /** Opens end B (conventionally the server). */
  openB(events: LinkEvents): Link {
    return this.#open('b', events);
  }

  setConditions(dir: Direction, c: LinkConditions): void {
    this.#conditions[dir] = c;
  }

  tap(fn: PacketTap): void {
    this.#taps.push(fn);
  }

  /** Delivers `bytes` to the receiving end of `dir` after the usual delay, bypassing loss (a replay or forgery). */
  inject(dir: Direction, bytes: Uint8Array): void {
    this.#schedule(dir, bytes.slice(), this.#conditions[dir].delayMs ?? DEFAULT_DELAY_MS);
  }

  #open(side: 'a' | 'b', events: LinkEvents): Link {
    const end = this.#ends[side];
    if (end.events !== undefined) throw new LocalProtocolError(`memory link end ${side} is already open`);
    end.events = events;
    const dir: Direction = side === 'a' ? 'a-to-b' : 'b-to-a';
    return {
      proto: this.#proto,
      send: (bytes) => {
        if (!end.closed) this.#send(dir, bytes);
      },
      close: () => {
        end.closed = true;
      },
    };
  }

  #send(dir: Direction, bytes: Uint8Array): void {
    const c = this.#conditions[dir];
    const n = this.counters[dir];
    const copy = bytes.slice();
    n.sent++;
    for (const t of this.#taps) t(dir, copy.slice());
    if (this.#random.float() < (c.loss ?? 0)) {
      n.lost++;
      return;
    }
    const delay = c.delayMs ?? DEFAULT_DELAY_MS;
    const extra = c.reorderDelayMs ?? DEFAULT_REORDER_DELAY_MS;
    let at = delay;
    if (this.#random.float() < (c.reorder ?? 0)) {
      n.reordered++;
      at += extra;
    }
    this.#schedule(dir, copy, at);
    if (this.#random.float() < (c.duplicate ?? 0)) {
      n.duplicated++;
      this.#schedule(dir, copy, at + Math.ceil(extra / 2));
    }
  }

  #schedule(dir: Direction, bytes: Uint8Array, ms: number): void {
    const to = this.#ends[dir === 'a-to-b' ? 'b' : 'a'];
    const from = this.#ends[dir === 'a-to-b' ? 'a' : 'b'];
    this.#timers.set(ms, () => {
      if (to.events === undefined || to.closed) {
        this.counters[dir].undeliverable++;
        return;
      }
      this.counters[dir].delivered++;
      to.events.packet(bytes.slice(), from.endpoint);
    });
  }
}

function newCounters(): DirectionCounters {
  return { sent: 0, lost: 0, duplicated: 0, reordered: 0, delivered: 0, undeliverable: 0 };
}
