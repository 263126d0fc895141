/**
 * The data-plane worker's loop: it owns the hot path of a UDP connection while the main thread
 * keeps the control channel.
 *
 *   poll([tun POLLIN (unless a send is pending), udp POLLIN (+POLLOUT while one is), eventfd])
 *     eventfd  messages from the main thread (keys, tun, ping, stop): taken synchronously
 *     udp      recvmmsg ≤ slots datagrams ─▶ data: open ─▶ ip: mssfix ─▶ write(tun), or with a
 *                                                          vnet header: TCP segments of one flow
 *                                                          joined first (tcp-coalesce.ts)
 *                                                          ping: (counted) │ occ-exit: event
 *                                           control: copy ─▶ main thread
 *     tun      read ≤ slots packets ─▶ loop guard ─▶ block-ipv6 ─▶ mssfix ─▶ seal into tx slot
 *              ─▶ sendmmsg, runs of equal-size datagrams as one UDP GSO send each (UDP_SEGMENT);
 *              what EAGAIN leaves stays queued, and the TUN is not read until it left
 *   then the counters go to the SharedArrayBuffer (worker-shared.ts), one `now` per wake-up.
 *
 * Buffers: the rx and tx rings (platform/batch-io.ts), one TUN buffer and one plaintext buffer
 * (each with room for a vnet header in front) and the coalescer's, all made at start; no
 * allocation per packet. A slot handed to sendmmsg is not written again until the kernel took it.
 * Malformed or forged packets are dropped and counted, never thrown. Never: log, or post a
 * message per data packet.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { batchIo, EAGAIN, EINTR, EINVAL, EIO, MmsgRing, MSG_DONTWAIT, POLLERR, POLLFD, POLLIN, POLLOUT, type BatchIo } from '../platform/batch-io.ts';
import { decodeSockaddr, encodeSockaddr, sameSockaddr } from '../base/sockaddr.ts';
import { createDataCrypto } from './create-data-crypto.ts';
import { DataChannel, P_DATA_V1, P_DATA_V2, P_OPCODE_SHIFT } from './data-channel.ts';
import { wipeDataKeys } from './data-crypto.ts';
import { DROP_REASON_SLOTS, DropReason } from './drop-reason.ts';
import { classifyPayload, PING_STRING, writeOcc, OccOpcode } from './framing.ts';
import { clampMss } from './mss.ts';
import { icmp6NoRoute, ICMP6_REPLY_MAX, isIpv6 } from './icmp6.ts';
import { LoopGuard } from './loop-guard.ts';
import { TcpCoalescer } from './tcp-coalesce.ts';
import { VNET_HDR_LEN } from '../tun/device.ts';
import type { Endpoint } from '../link/link.ts';
import { Counter, DROPS_BASE, Shared, type FromWorker, type ToWorker, type WorkerInit } from './worker-shared.ts';

/** The TUN and plaintext buffers: any packet a tun fd or a reassembly can hand over. */
const PACKET_MAX = 65536;
const ECONNREFUSED = 111;
const ERRNO_NAMES: Readonly<Record<number, string>> = { 1: 'EPERM', 90: 'EMSGSIZE', 101: 'ENETUNREACH', 105: 'ENOBUFS', 111: 'ECONNREFUSED', 113: 'EHOSTUNREACH' };

export class WorkerPump {
  readonly #io: BatchIo = batchIo();
  readonly #init: WorkerInit;
  readonly #port: MessagePort;
  readonly #c: Float64Array;
  readonly #rx: MmsgRing;
  readonly #tx: MmsgRing;
  /** TUN reads and writes: the packet at VNET_HDR_LEN, behind a header that stays zero. */
  readonly #tunFrame = new Uint8Array(VNET_HDR_LEN + PACKET_MAX);
  readonly #tunBuf = this.#tunFrame.subarray(VNET_HDR_LEN);
  readonly #plainFrame = new Uint8Array(VNET_HDR_LEN + PACKET_MAX + 256);
  readonly #plain = this.#plainFrame.subarray(VNET_HDR_LEN);
  readonly #reply6Frame = new Uint8Array(VNET_HDR_LEN + ICMP6_REPLY_MAX);
  readonly #reply6 = this.#reply6Frame.subarray(VNET_HDR_LEN);
  readonly #gro = new TcpCoalescer((buf, len, segments, bytes) => this.#writeTun(buf, len, segments, bytes));
  readonly #pollfds: Uint8Array;
  readonly #pv: DataView;
  readonly #efdBuf = new Uint8Array(8);
  readonly #clockSkew: number;
  #loopGuard: LoopGuard | undefined;
  #udpFd = -1;
  #float = false;
  #remote: Uint8Array = new Uint8Array(0);
  #channel: DataChannel | undefined;
  #tunFd = -1;
  /** The TUN fd's packets carry a virtio_net_hdr (IFF_VNET_HDR): TCP segments are joined. */
  #vnet = false;
  #mss = 0;
  #tunMtu = 1500;
  #block6: Uint8Array | undefined;
  /** Sealed datagrams in tx slots [#txHead, #txCount) still to be sent. */
  #txHead = 0;
  #txCount = 0;
  #renegPosted = false;
  #compressedPosted = false;
  #wakePostedAt = -1;
  readonly #reported = new Set<number>();
  #stopping = false;
  /** Runs of equal-size datagrams go out as one GSO send; off when asked, or once the kernel refuses one. */
  #gso: boolean;

  constructor(init: WorkerInit, port: MessagePort) {
    this.#init = init;
    this.#port = port;
    this.#c = new Float64Array(init.counters);
    this.#rx = new MmsgRing(init.slots, init.slotSize);
    this.#tx = new MmsgRing(init.slots, init.slotSize);
    this.#clockSkew = performance.timeOrigin - init.timeOrigin;
    this.#gso = init.gso;
    this.#pollfds = new Uint8Array(3 * POLLFD);
    this.#pv = new DataView(this.#pollfds.buffer);
    this.#pv.setInt32(0, init.eventFd, true);
    this.#pv.setInt16(4, POLLIN, true);
    this.#pv.setInt32(POLLFD, -1, true); // no socket, no TUN yet: poll ignores negative fds
    this.#pv.setInt32(2 * POLLFD, -1, true);
  }

  /** Runs until a `stop` message; then frees what it made (the fds belong to the main thread). */
  run(): void {
    this.#post({ kind: 'ready' });
    try {
      while (!this.#stopping) {
        this.#arm();
        const r = this.#io.poll(this.#pollfds, 3, -1);
        if (r < 0) {
          if (this.#io.errno() === EINTR) continue;
          throw new Error(`poll failed: errno ${this.#io.errno()}`);
        }
        const now = performance.now() + this.#clockSkew;
        this.#add(Counter.WAKEUPS, 1);
        if ((this.#pv.getInt16(6, true) & POLLIN) !== 0) this.#messages(now);
        const udp = this.#pv.getInt16(POLLFD + 6, true);
        if ((udp & POLLOUT) !== 0) this.#flush();
        if ((udp & (POLLIN | POLLERR)) !== 0) this.#receive(now);
        if (this.#txCount === 0 && (this.#pv.getInt16(2 * POLLFD + 6, true) & POLLIN) !== 0) this.#fromTun(now);
        this.#publish();
      }
    } finally {
      this.#channel?.close();
      this.#rx.free();
      this.#tx.free();
    }
  }

  #arm(): void {
    const pending = this.#txCount > 0;
    this.#pv.setInt32(POLLFD, this.#udpFd, true);
    this.#pv.setInt16(POLLFD + 4, pending ? POLLIN | POLLOUT : POLLIN, true);
    this.#pv.setInt32(2 * POLLFD, pending ? -1 : this.#tunFd, true);
    this.#pv.setInt16(2 * POLLFD + 4, POLLIN, true);
    for (let i = 0; i < 3; i++) this.#pv.setInt16(i * POLLFD + 6, 0, true);
  }

  #messages(now: number): void {
    this.#io.read(this.#init.eventFd, this.#efdBuf, 8);
    for (let m = receiveMessageOnPort(this.#port); m !== undefined; m = receiveMessageOnPort(this.#port)) {
      this.#apply(m.message as ToWorker, now);
    }
  }

  #apply(m: ToWorker, now: number): void {
    switch (m.kind) {
      case 'link':
        this.#udpFd = m.fd;
        this.#float = m.float;
        this.#setRemote(m.remote);
        this.#loopGuard = new LoopGuard(m.remote, 'udp');
        this.#c.fill(0, DROPS_BASE, DROPS_BASE + DROP_REASON_SLOTS); // the drops of this attempt's channel
        this.#post({ kind: 'ack', seq: m.seq });
        return;
      case 'unlink':
        this.#udpFd = -1;
        this.#tunFd = -1;
        this.#txHead = this.#txCount = 0;
        this.#channel?.close();
        this.#channel = undefined;
        this.#compressedPosted = false;
        this.#publish();
        this.#post({ kind: 'ack', seq: m.seq });
        return;
      case 'keys': {
        const o = m.channel;
        const channel = (this.#channel ??= new DataChannel({ compression: o.compression, replayWindow: o.replayWindow, replaySeconds: o.replaySeconds, fragment: o.fragment }));
        try {
          const backend = { backend: this.#init.backend };
          channel.install(m.keyId, createDataCrypto(m.cipher, m.auth, m.send, backend), createDataCrypto(m.cipher, m.auth, m.recv, backend), m.peerId);
        } finally {
          wipeDataKeys({ send: m.send, recv: m.recv });
        }
        this.#renegPosted = false;
        return;
      }
      case 'retire':
        this.#channel?.retire(m.keyId);
        return;
      case 'tun':
        this.#tunFd = m.fd;
        this.#vnet = m.vnetHdr;
        this.#mss = m.mss;
        this.#tunMtu = m.tunMtu;
        this.#block6 = m.block6;
        this.#post({ kind: 'ack', seq: m.seq });
        return;
      case 'untun':
        this.#tunFd = -1;
        this.#post({ kind: 'ack', seq: m.seq });
        return;
      case 'payload':
        this.#sendPayload(m.payload, now);
        return;
      case 'remote':
        this.#setRemote(m.remote);
        return;
      case 'stop':
        this.#stopping = true;
        this.#tunFd = -1;
        this.#publish();
        this.#post({ kind: 'ack', seq: m.seq });
        return;
    }
  }

  #setRemote(remote: Endpoint): void {
    this.#remote = encodeSockaddr(remote.address, remote.port, remote.family);
    for (const name of this.#tx.names) name.set(this.#remote);
  }

  /** Receives what is queued on the socket, a batch at a time (a bounded number of batches per wake-up). */
  #receive(now: number): void {
    const rx = this.#rx;
    const nowSeconds = Math.floor((this.#init.timeOrigin + now) / 1000);
    for (let round = 0; round < 4; round++) {
      rx.armReceive(rx.slots);
      const got = this.#io.recvmmsg(this.#udpFd, rx.hdrsFrom[0] as Uint8Array, rx.slots, MSG_DONTWAIT, null);
      if (got < 0) {
        const errno = this.#io.errno();
        if (errno !== EAGAIN && errno !== EINTR) this.#linkError(errno);
        return;
      }
      for (let i = 0; i < got; i++) this.#datagram(i, now, nowSeconds);
      this.#gro.flush();
      if (got < rx.slots) return;
    }
  }

  #datagram(i: number, now: number, nowSeconds: number): void {
    const rx = this.#rx;
    const len = rx.received(i);
    const view = rx.views[i] as Uint8Array;
    this.#add(Counter.LINK_RX_PKTS, 1);
    this.#add(Counter.LINK_RX_BYTES, len);
    if (len === 0) return;
    if (rx.truncated(i)) {
      this.#add(Counter.OVERSIZE_DROPS, 1);
      return;
    }
    const name = rx.names[i] as Uint8Array;
    const op = (view[0] ?? 0) >> P_OPCODE_SHIFT;
    if (op !== P_DATA_V1 && op !== P_DATA_V2) {
      const from = this.#float ? decodeSockaddr(name) : undefined;
      if (this.#float && from === undefined) return;
      this.#post({ kind: 'control', bytes: view.slice(0, len), from });
      return;
    }
    const channel = this.#channel;
    if (channel === undefined) return;
    const got = channel.openPacket(view, len, this.#plain, nowSeconds);
    if (got < 0) {
      if (got === DropReason.COMPRESSED && !this.#compressedPosted) {
        this.#compressedPosted = true;
        this.#post({ kind: 'event', event: 'compressed' });
      }
      return;
    }
    this.#add(Counter.AUTH_RX_PKTS, 1);
    this.#add(Counter.AUTH_RX_BYTES, len);
    this.#c[Counter.LAST_AUTH_RX_AT] = now;
    if (this.#float && !sameSockaddr(name, this.#remote)) {
      const from = decodeSockaddr(name);
      if (from !== undefined) this.#post({ kind: 'peer-moved', from });
    }
    if (got === 0) return; // a fragment that completes nothing yet
    const kind = classifyPayload(this.#plain, got);
    if (kind === 'ip') this.#toTun(this.#plain, got, now);
    else if (kind === 'occ-exit') this.#post({ kind: 'event', event: 'occ-exit' });
  }

  /** p is #plain (a packet behind VNET_HDR_LEN free bytes in #plainFrame). */
  #toTun(p: Uint8Array, len: number, now: number): void {
    if (this.#tunFd < 0) {
      this.#add(Counter.TUN_WRITE_DROPS, 1);
      return;
    }
    clampMss(p, len, this.#mss);
    this.#c[Counter.LAST_TUN_AT] = now;
    if (this.#vnet) this.#gro.push(this.#plainFrame, len);
    else this.#writeTun(p, len, 1, len);
  }

  /** One write to the TUN: a packet, or (vnet) a header and a packet of `segments` TCP segments, `bytes` as packets. */
  #writeTun(buf: Uint8Array, len: number, segments: number, bytes: number): void {
    if (this.#tunFd < 0 || this.#io.write(this.#tunFd, buf, len) !== len) {
      this.#add(Counter.TUN_WRITE_DROPS, segments);
      return;
    }
    this.#add(Counter.TUN_TX_PKTS, segments);
    if (segments > 1) this.#add(Counter.GRO_PKTS, segments);
    this.#add(Counter.TUN_TX_BYTES, bytes);
  }

  /** Reads up to a batch from the TUN, seals each packet into a tx slot, and sends the batch. */
  #fromTun(now: number): void {
    const channel = this.#channel;
    const buf = this.#tunBuf;
    let k = 0;
    while (k < this.#tx.slots) {
      // with a vnet header the packet lands at #tunBuf behind it (no offload is on: nothing to read in it)
      const len = this.#vnet ? this.#io.read(this.#tunFd, this.#tunFrame, this.#tunFrame.byteLength) - VNET_HDR_LEN : this.#io.read(this.#tunFd, buf, buf.byteLength);
      if (len <= 0) break;
      this.#add(Counter.TUN_RX_PKTS, 1);
      this.#add(Counter.TUN_RX_BYTES, len);
      this.#c[Counter.LAST_TUN_AT] = now;
      if (this.#loopGuard?.matches(buf, len) === true) {
        this.#add(Counter.LOOP_DROPS, 1);
        continue;
      }
      if (this.#block6 !== undefined && isIpv6(buf, len)) {
        this.#add(Counter.BLOCKED_IPV6, 1);
        const r = icmp6NoRoute(buf, len, this.#block6, this.#tunMtu, this.#reply6);
        const w = this.#vnet ? VNET_HDR_LEN + r : r;
        if (r > 0 && this.#io.write(this.#tunFd, this.#vnet ? this.#reply6Frame : this.#reply6, w) !== w) this.#add(Counter.TUN_WRITE_DROPS, 1);
        continue;
      }
      if (channel === undefined) continue;
      clampMss(buf, len, this.#mss);
      k = this.#seal(channel, buf, len, k);
    }
    this.#sendSealed(k, now);
  }

  /** Seals one packet (every fragment of it) into tx slots from k on; returns the next free slot. */
  #seal(channel: DataChannel, p: Uint8Array, len: number, k: number): number {
    const tx = this.#tx;
    const nameLen = this.#float ? this.#remote.byteLength : 0;
    for (let w = channel.sealPacket(p, len, tx.views[k] as Uint8Array); w > 0; w = channel.sealNextFragment(tx.views[k] as Uint8Array)) {
      tx.setSend(k, w, nameLen);
      this.#add(Counter.DATA_TX_BYTES, w);
      this.#add(Counter.DATA_TX_PKTS, 1);
      if (++k === tx.slots) {
        // a packet in more pieces than slots are left: send what is sealed, then go on
        this.#sendSealed(k, -1);
        if (this.#txCount > 0) break; // EAGAIN: the rest of this packet is lost whole, as a drop
        k = 0;
      }
    }
    if (channel.needsRenegotiation && !this.#renegPosted) {
      this.#renegPosted = true;
      this.#post({ kind: 'event', event: 'packet-id-exhausted' });
    }
    return k;
  }

  /** Slots [#txHead, count) are sealed: send them (#txHead is 0 unless a queue was waiting). */
  #sendSealed(count: number, now: number): void {
    if (count === this.#txCount) return;
    if (now >= 0) this.#c[Counter.LAST_DATA_TX_AT] = now;
    this.#txCount = count;
    this.#flush();
  }

  /**
   * Sends tx slots [#txHead, #txCount); stops at EAGAIN (poll asks for POLLOUT), skips what the
   * kernel refuses. With GSO a header is a run of slots; a GSO send the kernel cannot do (EIO: no
   * checksum offload on the route's device; EINVAL: a segment above the path MTU) turns GSO off
   * and the same slots go again one by one.
   */
  #flush(): void {
    const tx = this.#tx;
    while (this.#txHead < this.#txCount) {
      const runs = this.#gso && this.#txCount - this.#txHead > 1;
      const n = runs ? tx.packRuns(this.#txHead, this.#txCount) : this.#txCount - this.#txHead;
      const r = this.#io.sendmmsg(this.#udpFd, runs ? tx.runHdrs : (tx.hdrsFrom[this.#txHead] as Uint8Array), n, MSG_DONTWAIT);
      if (r > 0) {
        if (!runs) this.#txHead += r;
        for (let q = 0; runs && q < r; q++) {
          const end = tx.runEnd(q);
          if (end - this.#txHead > 1) this.#add(Counter.GSO_PKTS, end - this.#txHead);
          this.#txHead = end;
        }
        continue;
      }
      const errno = this.#io.errno();
      if (errno === EAGAIN || errno === EINTR) return;
      if (runs && tx.runEnd(0) - this.#txHead > 1 && (errno === EIO || errno === EINVAL)) {
        this.#gso = false;
        this.#post({ kind: 'event', event: 'gso-off', errno });
        continue;
      }
      const skip = runs ? tx.runEnd(0) - this.#txHead : 1;
      this.#add(Counter.SEND_DROPS, skip);
      this.#txHead += skip;
      this.#linkError(errno);
    }
    this.#txHead = 0;
    this.#txCount = 0;
  }

  /**
   * ping / occ-exit from the main thread, sealed with the primary key behind whatever is still
   * queued (packet ids stay in order on the wire); dropped when the queue is full.
   */
  #sendPayload(payload: 'ping' | 'occ-exit', now: number): void {
    const channel = this.#channel;
    if (channel === undefined || this.#udpFd < 0) return;
    if (this.#txCount === this.#tx.slots) {
      this.#add(Counter.SEND_DROPS, 1);
      return;
    }
    let src = PING_STRING;
    let len = PING_STRING.byteLength;
    if (payload === 'occ-exit') {
      src = this.#reply6; // any free buffer: the OCC message is 17 bytes
      len = writeOcc(src, OccOpcode.EXIT);
    }
    const queued = this.#txCount;
    const k = this.#seal(channel, src, len, queued);
    if (queued > 0) this.#txCount = k; // sent with the queue when the socket has room
    else this.#sendSealed(k, now);
  }

  /** The first of each errno goes to the main thread (ECONNREFUSED every time: the core counts them). */
  #linkError(errno: number): void {
    if (errno !== ECONNREFUSED && this.#reported.has(errno)) return;
    this.#reported.add(errno);
    const code = ERRNO_NAMES[errno] ?? `errno ${errno}`;
    this.#post({ kind: 'link-error', code, message: `${code} on the UDP socket` });
  }

  #add(i: number, v: number): void {
    this.#c[i] = (this.#c[i] as number) + v;
  }

  /** The channel's drop counts to the shared counters; a `wake` once a NOTIFY_* total is reached. */
  #publish(): void {
    const c = this.#c;
    const drops = this.#channel?.counters.drops;
    if (drops !== undefined) for (let i = 0; i < drops.length; i++) c[DROPS_BASE + i] = drops[i] as number;
    const bytes = c[Shared.NOTIFY_KEY_BYTES] as number;
    const pkts = c[Shared.NOTIFY_KEY_PKTS] as number;
    const keyBytes = (c[Counter.AUTH_RX_BYTES] as number) + (c[Counter.DATA_TX_BYTES] as number);
    const keyPkts = (c[Counter.AUTH_RX_PKTS] as number) + (c[Counter.DATA_TX_PKTS] as number);
    const due = (bytes > 0 && keyBytes >= bytes) || (pkts > 0 && keyPkts >= pkts);
    if (due && this.#wakePostedAt !== bytes + pkts) {
      this.#wakePostedAt = bytes + pkts;
      this.#post({ kind: 'event', event: 'wake' });
    }
  }

  #post(m: FromWorker): void {
    this.#port.postMessage(m);
  }
}
