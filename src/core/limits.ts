/**
 * The session's limits besides keepalive, as OpenVPN 2.6 keeps them:
 *
 *   reneg-bytes / reneg-pkts  data-channel traffic on the primary key, both directions, pings
 *                             included (ssl.c ks->n_bytes / n_packets): a soft reset once reached
 *   inactive N [bytes]        TUN traffic only, both directions (forward.c register_activity):
 *                             exit when N seconds pass without `bytes` of it (any packet if 0)
 *   session-timeout N         exit N seconds after the connection attempt began (pushable)
 *   transition-window N       the lame-duck key is dropped N seconds after the new one took over
 *
 * Pure: `now` comes in; the hot-path methods only add and compare numbers.
 */

export interface LimitsConfig {
  readonly renegBytes?: number | undefined;
  readonly renegPkts?: number | undefined;
  readonly inactive?: { readonly seconds: number; readonly bytes: number } | undefined;
  readonly sessionTimeoutSeconds?: number | undefined;
  readonly transitionWindowSeconds: number;
}

export type LimitDue = 'inactive' | 'session-timeout' | 'retire-lame-duck';

export class SessionLimits {
  readonly #cfg: LimitsConfig;
  readonly #startedAt: number;
  #inactive: LimitsConfig['inactive'];
  #sessionEndAt = Infinity;
  #inactiveAt = Infinity;
  #inactiveBytes = 0;
  #keyBytes = 0;
  #keyPkts = 0;
  #renegReported = false;
  #retireAt = Infinity;

  constructor(cfg: LimitsConfig, now: number) {
    this.#cfg = cfg;
    this.#startedAt = now;
    this.#inactive = cfg.inactive;
    this.#setSessionTimeout(cfg.sessionTimeoutSeconds);
  }

  /** A pushed inactive replaces the local one (it applies from the tunnel's start). */
  pushedInactive(inactive: LimitsConfig['inactive']): void {
    this.#inactive = inactive;
  }

  /** A pushed session-timeout replaces the local one; it still counts from the attempt's start. */
  pushedSessionTimeout(seconds: number | undefined): void {
    if (seconds !== undefined) this.#setSessionTimeout(seconds);
  }

  /** The tunnel is up: inactivity is measured from now. */
  connected(now: number): void {
    const i = this.#inactive;
    if (i !== undefined && i.seconds > 0) this.#inactiveAt = now + i.seconds * 1000;
  }

  /** Hot path: `packets` data packets (one by default) of `bytes` in all on the primary key; true the first time a reneg limit is reached. */
  keyTraffic(bytes: number, packets = 1): boolean {
    this.#keyBytes += bytes;
    this.#keyPkts += packets;
    if (this.#renegReported) return false;
    const { renegBytes, renegPkts } = this.#cfg;
    if ((renegBytes !== undefined && renegBytes > 0 && this.#keyBytes >= renegBytes) || (renegPkts !== undefined && renegPkts > 0 && this.#keyPkts >= renegPkts)) {
      this.#renegReported = true;
      return true;
    }
    return false;
  }

  /** What the primary key may still carry before reneg-bytes / reneg-pkts (Infinity: no limit, or already reported). */
  renegRemaining(): { readonly bytes: number; readonly packets: number } {
    const { renegBytes, renegPkts } = this.#cfg;
    if (this.#renegReported) return { bytes: Infinity, packets: Infinity };
    return {
      bytes: renegBytes !== undefined && renegBytes > 0 ? Math.max(0, renegBytes - this.#keyBytes) : Infinity,
      packets: renegPkts !== undefined && renegPkts > 0 ? Math.max(0, renegPkts - this.#keyPkts) : Infinity,
    };
  }

  /** Hot path: a packet of `bytes` read from or written to the TUN device. */
  tunnelTraffic(bytes: number, now: number): void {
    const i = this.#inactive;
    if (i === undefined || this.#inactiveAt === Infinity) return;
    this.#inactiveBytes += bytes;
    if (this.#inactiveBytes >= i.bytes) {
      this.#inactiveBytes = 0;
      this.#inactiveAt = now + i.seconds * 1000;
    }
  }

  /** New data keys became primary: their counters start at zero; a lame duck, if any, has a deadline. */
  newPrimaryKey(now: number, hasLameDuck: boolean): void {
    this.#keyBytes = 0;
    this.#keyPkts = 0;
    this.#renegReported = false;
    this.#retireAt = hasLameDuck ? now + this.#cfg.transitionWindowSeconds * 1000 : Infinity;
  }

  nextDeadline(): number {
    return Math.min(this.#sessionEndAt, this.#inactiveAt, this.#retireAt);
  }

  /** What fell due at `now`, most final first; the lame duck's deadline is cleared once reported. */
  due(now: number): LimitDue | undefined {
    if (now >= this.#sessionEndAt) return 'session-timeout';
    if (now >= this.#inactiveAt) return 'inactive';
    if (now >= this.#retireAt) {
      this.#retireAt = Infinity;
      return 'retire-lame-duck';
    }
    return undefined;
  }

  #setSessionTimeout(seconds: number | undefined): void {
    this.#sessionEndAt = seconds === undefined || seconds <= 0 ? Infinity : this.#startedAt + seconds * 1000;
  }
}
