/**
 * The data path of one attempt: where data packets are sealed and opened. Two implementations
 * of one port, chosen per attempt (attempt.ts):
 *
 *   MainDataPath    (here) on the main thread: the link delivers data datagrams to onData(),
 *                   the TUN tunnel's pump calls sendFromTunnel(); node:dgram or node:net sends.
 *                   SOCKS UDP, tests with in-memory links and TUNs, OVPN_TS_DATA_PLANE=main,
 *                   and the fallback when the worker cannot run.
 *   WorkerDataPath  (worker-data-path.ts) in the data-plane worker thread, for TCP and for UDP
 *                   without a SOCKS relay: the worker owns both fds' hot path; sync() brings its
 *                   counters to the core.
 *
 * Either way the core hears of traffic (keepalive, reneg-bytes, inactive) and the rare cases
 * (occ-exit, float, packet-id exhaustion) as CoreInputs through the host's feed().
 */
import type { ClientCore, CoreInput } from '../core/client-core.ts';
import type { DataParams } from '../core/negotiate.ts';
import type { Clock } from '../base/clock.ts';
import type { Logger } from '../log/logger.ts';
import type { Endpoint, Link } from '../link/link.ts';
import type { SendFromTunnel, Tunnel } from '../tunnel/tunnel.ts';
import { DataChannel } from '../dataplane/data-channel.ts';
import { DropReason, COMPRESSED_MESSAGE } from '../dataplane/drop-reason.ts';
import { classifyPayload, PING_STRING, writeOcc, OccOpcode } from '../dataplane/framing.ts';
import { LoopGuard } from '../dataplane/loop-guard.ts';
import type { TrafficStats } from './status.ts';
import { installKeys, type DataSetup } from './data-setup.ts';

const BUF_SIZE = 65536 + 256;

/** What a data path needs from its attempt. */
export interface DataPathHost {
  readonly core: Pick<ClientCore, 'dataReceived' | 'dataSent' | 'tunnelTraffic' | 'renegRemaining'>;
  /** Queues a core input (never re-entrant: the attempt drains its queue). */
  feed(input: CoreInput): void;
  readonly clock: Clock;
  readonly stats: TrafficStats;
  readonly tunnel: Tunnel;
  readonly log: Logger;
  readonly setup: DataSetup;
  /** Where the server is now (float moves it). */
  remote(): Endpoint;
  /** The attempt's link, once open. */
  link(): Link | undefined;
  /** The attempt is ending: drop whatever still arrives. */
  ending(): boolean;
}

export interface DataPath {
  /** Installs key2's keys as key id `keyId` (key2 is zeroed). */
  install(keyId: number, key2: Uint8Array, p: DataParams): void;
  retire(keyId: number): void;
  /** Seals and sends a keepalive ping or an OCC exit. */
  sendPayload(payload: 'ping' | 'occ-exit'): void;
  /** The main-thread TUN pump's callback; undefined when packets do not pass through this thread. */
  readonly sendFromTunnel: SendFromTunnel | undefined;
  /** The tunnel is open: start moving its packets. */
  tunnelOpened(): Promise<void>;
  /** A data datagram the link delivered on this thread. */
  onData(bytes: Uint8Array, from: Endpoint): void;
  /** Brings traffic counted elsewhere to the core and the stats (before the core decides on deadlines). */
  sync(): void;
  /** Stops using the link and the TUN; resolves once nothing touches them any more. */
  close(): Promise<void>;
  /** Data packets dropped, by DropReason name (and LOOP for the loop guard). */
  drops(): Record<string, number>;
}

/** Sums the drops by reason name (DropReason codes are negative indexes into `counts`). */
export function dropsByName(count: (code: number) => number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, code] of Object.entries(DropReason)) {
    const n = count(code);
    if (n > 0) out[name] = n;
  }
  return out;
}

export class MainDataPath implements DataPath {
  readonly #h: DataPathHost;
  readonly #rx = new Uint8Array(BUF_SIZE);
  readonly #tx = new Uint8Array(BUF_SIZE);
  readonly #loopGuard: LoopGuard;
  #data: DataChannel | undefined;
  /** packet-id-exhausted was reported for the current keys. */
  #renegRequested = false;
  #compressedLogged = false;
  #noKeyDrops = 0;
  #loopDrops = 0;

  constructor(host: DataPathHost, remote: Endpoint, proto: 'udp' | 'tcp') {
    this.#h = host;
    this.#loopGuard = new LoopGuard(remote, proto);
  }

  install(keyId: number, key2: Uint8Array, p: DataParams): void {
    this.#data = installKeys(this.#data, this.#h.setup, keyId, key2, p);
    this.#renegRequested = false;
  }

  retire(keyId: number): void {
    this.#data?.retire(keyId);
  }

  sendPayload(payload: 'ping' | 'occ-exit'): void {
    if (payload === 'ping') {
      this.#seal(PING_STRING, PING_STRING.byteLength);
      return;
    }
    // its own buffer: sealing writes into #tx, which must not also be the source
    const occ = new Uint8Array(32);
    this.#seal(occ, writeOcc(occ, OccOpcode.EXIT));
  }

  async tunnelOpened(): Promise<void> {}

  sync(): void {}

  /** The data path: open into #rx, then the tunnel; the core hears only of the rare cases. */
  onData(bytes: Uint8Array, from: Endpoint): void {
    const h = this.#h;
    const data = this.#data;
    if (data === undefined) {
      this.#noKeyDrops++;
      return;
    }
    const n = data.openPacket(bytes, bytes.byteLength, this.#rx, h.clock.wallSeconds());
    if (n === 0) {
      // a fragment that completes nothing yet: still traffic from the server
      if (h.core.dataReceived(h.clock.now(), bytes.byteLength)) h.feed({ kind: 'data-limit' });
      return;
    }
    if (n < 0) {
      if (n === DropReason.COMPRESSED && !this.#compressedLogged) {
        this.#compressedLogged = true;
        h.log.error(COMPRESSED_MESSAGE);
      }
      if (n === DropReason.AUTH || n === DropReason.DECRYPT || n === DropReason.REPLAY || n === DropReason.REPLAY_OLD) h.feed({ kind: 'data-error' });
      return;
    }
    const now = h.clock.now();
    if (h.core.dataReceived(now, bytes.byteLength)) h.feed({ kind: 'data-limit' });
    const remote = h.remote();
    if (from.port !== remote.port || from.address !== remote.address) h.feed({ kind: 'peer-moved', from });
    h.stats.authReadBytes += bytes.byteLength;
    const kind = classifyPayload(this.#rx, n);
    if (kind === 'ip') {
      h.stats.tunWriteBytes += n;
      h.core.tunnelTraffic(n, now);
      h.tunnel.write(this.#rx, n);
    } else if (kind === 'occ-exit') h.feed({ kind: 'occ-exit' });
  }

  /** Packets the tunnel read from the OS (its drain loop calls this): seal and send. */
  readonly sendFromTunnel = (packet: Uint8Array, len: number): void => {
    const h = this.#h;
    h.stats.tunReadBytes += len;
    // our own packet to the server, routed into the tunnel while no uplink exists: never loop it
    if (this.#loopGuard.matches(packet, len)) {
      this.#loopDrops++;
      return;
    }
    const now = h.clock.now();
    h.core.tunnelTraffic(len, now);
    this.#seal(packet, len, now);
  };

  /** Seals packet[0, len) with the primary key into #tx and sends it (the link copies what it queues). */
  #seal(packet: Uint8Array, len: number, now = this.#h.clock.now()): void {
    const h = this.#h;
    const data = this.#data;
    const link = h.link();
    if (data === undefined || link === undefined || h.ending()) return;
    let n = data.sealPacket(packet, len, this.#tx);
    if (n <= 0) return;
    let sent = 0;
    for (; n > 0; n = data.sealNextFragment(this.#tx)) {
      link.send(this.#tx.subarray(0, n));
      sent += n;
    }
    h.stats.linkWriteBytes += sent;
    if (h.core.dataSent(now, sent)) h.feed({ kind: 'data-limit' });
    if (data.needsRenegotiation && !this.#renegRequested) {
      this.#renegRequested = true;
      h.feed({ kind: 'packet-id-exhausted' });
    }
  }

  async close(): Promise<void> {
    this.#data?.close();
  }

  drops(): Record<string, number> {
    const d = this.#data;
    const out = dropsByName((code) => d?.counters.drops[-code] ?? 0);
    if (this.#noKeyDrops > 0) out['NO_KEY'] = (out['NO_KEY'] ?? 0) + this.#noKeyDrops;
    if (this.#loopDrops > 0) out['LOOP'] = this.#loopDrops;
    return out;
  }
}
