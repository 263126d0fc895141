/**
 * The data-plane worker's loop: it owns the hot path of a UDP or TCP connection while the main
 * thread keeps the control channel.
 *
 *   poll([tun POLLIN (unless a send is pending), link POLLIN (+POLLOUT while one is), eventfd]);
 *   while a stream flows (wake-ups < 1 ms apart, each with less than a batch from the link) the
 *   worker first sleeps batchWaitUs and then polls without blocking: the sender's datagrams
 *   gather into batches (a download: ~2 per wake-up without the wait, ~10 with 100 µs), and
 *   fewer, larger writes reach the TUN, coalesced
 *     eventfd  messages from the main thread (keys, tun, ping, TCP control packets, stop)
 *     udp      recvmmsg ≤ slots datagrams ─┐
 *     tcp      read ≤ 256 KiB of stream ─▶ frames (u16 length) ─┤
 *                 data: open ─▶ ip: mssfix ─▶ write(tun), or with a vnet header: TCP segments
 *                                             of one flow joined first (tcp-coalesce.ts)
 *                                             ping: (counted) │ occ-exit: event
 *                 control: copy ─▶ main thread
 *     tun      read ≤ slots packets ─▶ loop guard ─▶ block-ipv6 ─▶ mssfix ─▶ seal into tx slot
 *              ─▶ udp: sendmmsg, runs of equal-size datagrams as one UDP GSO send each
 *                 tcp: one sendmsg over the slots' frames (a short write resumes mid-frame)
 *              what EAGAIN leaves stays queued, and the TUN is not read until it left
 *   then the counters go to the SharedArrayBuffer (worker-shared.ts), one `now` per wake-up.
 *
 * Buffers: the rx and tx rings (platform/batch-io.ts), one TUN buffer and one plaintext buffer
 * (each with room for a vnet header in front), the coalescer's, and for TCP one stream buffer
 * (made with the first TCP link); no allocation per packet. A slot handed to the kernel is not
 * written again until it took all of it; over TCP a frame is never cut or dropped once begun.
 * Malformed or forged packets are dropped and counted, never thrown. Never: log, or post a
 * message per data packet.
 */
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { batchIo, EAGAIN, EINTR, EINVAL, EIO, MmsgRing, MSG_DONTWAIT, MSG_NOSIGNAL, POLLERR, POLLFD, POLLHUP, POLLIN, POLLOUT, type BatchIo } from '../platform/batch-io.ts';
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
/** Wake-ups closer than this (ms) mean a stream is flowing: the next poll waits for a batch first. */
const BUSY_GAP_MS = 1;
/** prctl(2): the worker's timer slack, so that a batch wait of 100 µs is not 150 µs. */
const PR_SET_TIMERSLACK = 29;
const TIMER_SLACK_NS = 1000;
/** TCP: the stream bytes one read may take (a frame is at most 2 + 65535). */
const STREAM_READ = 262144;
const ECONNREFUSED = 111;
const ERRNO_NAMES: Readonly<Record<number, string>> = {
  1: 'EPERM',
  32: 'EPIPE',
  90: 'EMSGSIZE',
  101: 'ENETUNREACH',
  104: 'ECONNRESET',
  105: 'ENOBUFS',
  110: 'ETIMEDOUT',
  111: 'ECONNREFUSED',
  113: 'EHOSTUNREACH',
};

function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/** struct timespec of `us` microseconds. */
function timespec(us: number): Uint8Array {
  const ts = new Uint8Array(16);
  const v = new DataView(ts.buffer);
  v.setBigInt64(0, BigInt(Math.floor(us / 1e6)), true);
  v.setBigInt64(8, BigInt((us % 1e6) * 1000), true);
  return ts;
}

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
  #linkFd = -1;
  #tcp = false;
  #float = false;
  /**
   * TCP: [0, PACKET_MAX) the frame being handled (a packet is moved here from the stream, as a
   * datagram sits in its slot), then the stream bytes read and not yet handled (#inLen of them).
   */
  #in: Uint8Array | undefined;
  #inLen = 0;
  /** TCP: the frame view of each tx slot (the packet behind its u16 length). */
  #txFramed: readonly Uint8Array[] = [];
  /** TCP: control packets that found the tx ring full, sent once it drains. */
  readonly #ctlQueue: Uint8Array[] = [];
  /** TCP: stream bytes that came with the proxy's answer, handled after our first control packet. */
  #early: Uint8Array | undefined;
  #dataErrorPosted = false;
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
      const wait = this.#init.batchWaitUs > 0 ? timespec(this.#init.batchWaitUs) : undefined;
      if (wait !== undefined) this.#io.prctl(PR_SET_TIMERSLACK, TIMER_SLACK_NS, 0, 0, 0);
      let prevWake = -Infinity;
      let busy = false;
      while (!this.#stopping) {
        this.#arm();
        // busy: let a few more datagrams arrive, then take whatever is ready without blocking
        if (busy && wait !== undefined) this.#io.nanosleep(wait, null);
        const r = this.#io.poll(this.#pollfds, 3, busy ? 0 : -1);
        if (r === 0) {
          busy = false;
          continue;
        }
        if (r < 0) {
          if (this.#io.errno() === EINTR) continue;
          throw new Error(`poll failed: errno ${this.#io.errno()}`);
        }
        const now = performance.now() + this.#clockSkew;
        this.#add(Counter.WAKEUPS, 1);
        const rx0 = this.#c[Counter.LINK_RX_PKTS] as number;
        if ((this.#pv.getInt16(6, true) & POLLIN) !== 0) this.#messages(now);
        const link = this.#pv.getInt16(POLLFD + 6, true);
        if ((link & POLLOUT) !== 0) this.#flush();
        if ((link & (POLLIN | POLLERR | POLLHUP)) !== 0) {
          if (this.#tcp) this.#receiveStream(now);
          else this.#receive(now);
        }
        if (this.#txCount === 0 && (this.#pv.getInt16(2 * POLLFD + 6, true) & POLLIN) !== 0) this.#fromTun(now);
        this.#publish();
        // a stream is flowing and the link had less than a batch: wait before the next poll
        const got = (this.#c[Counter.LINK_RX_PKTS] as number) - rx0;
        busy = wait !== undefined && got > 0 && (this.#tcp || got < this.#rx.slots) && now - prevWake < BUSY_GAP_MS;
        if (busy) this.#add(Counter.BATCH_WAITS, 1);
        prevWake = now;
      }
    } finally {
      this.#channel?.close();
      this.#rx.free();
      this.#tx.free();
    }
  }

  #arm(): void {
    const pending = this.#txCount > 0;
    this.#pv.setInt32(POLLFD, this.#linkFd, true);
    this.#pv.setInt16(POLLFD + 4, pending ? POLLIN | POLLOUT : POLLIN, true);
    this.#pv.setInt32(2 * POLLFD, pending || this.#linkFd < 0 ? -1 : this.#tunFd, true);
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
        this.#linkFd = m.fd;
        this.#tcp = m.proto === 'tcp';
        this.#float = m.float;
        this.#setRemote(m.remote);
        this.#loopGuard = new LoopGuard(m.remote, m.proto);
        if (this.#tcp) this.#startStream(m.early);
        this.#c.fill(0, DROPS_BASE, DROPS_BASE + DROP_REASON_SLOTS); // the drops of this attempt's channel
        this.#post({ kind: 'ack', seq: m.seq });
        return;
      case 'unlink':
        this.#linkFd = -1;
        this.#tunFd = -1;
        this.#txHead = this.#txCount = 0;
        this.#ctlQueue.length = 0;
        this.#inLen = 0;
        this.#early = undefined;
        this.#dataErrorPosted = false;
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
      case 'send':
        this.#sendControl(m.bytes);
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
      const got = this.#io.recvmmsg(this.#linkFd, rx.hdrsFrom[0] as Uint8Array, rx.slots, MSG_DONTWAIT, null);
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
    this.#packet(view, len, rx.names[i] as Uint8Array, now, nowSeconds);
  }

  /** One packet from the link: view[0, len), from `name` (a UDP source; undefined over TCP). */
  #packet(view: Uint8Array, len: number, name: Uint8Array | undefined, now: number, nowSeconds: number): void {
    const op = (view[0] ?? 0) >> P_OPCODE_SHIFT;
    if (op !== P_DATA_V1 && op !== P_DATA_V2) {
      const from = this.#float && name !== undefined ? decodeSockaddr(name) : undefined;
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
      const broken = got === DropReason.AUTH || got === DropReason.DECRYPT || got === DropReason.REPLAY || got === DropReason.REPLAY_OLD;
      if (this.#tcp && broken && !this.#dataErrorPosted) {
        this.#dataErrorPosted = true;
        this.#post({ kind: 'event', event: 'data-error' });
      }
      return;
    }
    this.#add(Counter.AUTH_RX_PKTS, 1);
    this.#add(Counter.AUTH_RX_BYTES, len);
    this.#c[Counter.LAST_AUTH_RX_AT] = now;
    if (this.#float && name !== undefined && !sameSockaddr(name, this.#remote)) {
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
    const dst = this.#tcp ? this.#txFramed : tx.views;
    for (let w = channel.sealPacket(p, len, dst[k] as Uint8Array); w > 0; w = channel.sealNextFragment(dst[k] as Uint8Array)) {
      if (!this.#tcp) tx.setSend(k, w, nameLen);
      else if (w <= 0xffff) this.#frame(k, w);
      else {
        this.#add(Counter.SEND_DROPS, 1); // a u16 length cannot carry it (tun-mtu near 64 KiB)
        continue;
      }
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
    if (this.#tcp) {
      this.#flushStream();
      return;
    }
    const tx = this.#tx;
    while (this.#txHead < this.#txCount) {
      const runs = this.#gso && this.#txCount - this.#txHead > 1;
      const n = runs ? tx.packRuns(this.#txHead, this.#txCount) : this.#txCount - this.#txHead;
      const r = this.#io.sendmmsg(this.#linkFd, runs ? tx.runHdrs : (tx.hdrsFrom[this.#txHead] as Uint8Array), n, MSG_DONTWAIT);
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
      if (errno === EAGAIN || errno === EINTR) {
        this.#add(Counter.SEND_WAITS, 1);
        return;
      }
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
    if (channel === undefined || this.#linkFd < 0) return;
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

  /** TCP: the stream buffer (made once), the slots' frame views, and the proxy's extra bytes. */
  #startStream(early: Uint8Array | undefined): void {
    this.#in ??= new Uint8Array(PACKET_MAX + STREAM_READ);
    if (this.#txFramed.length === 0) this.#txFramed = this.#tx.views.map((v) => v.subarray(2));
    this.#inLen = 0;
    this.#early = early !== undefined && early.byteLength > 0 ? early : undefined;
  }

  /** TCP: slot k holds a sealed packet of `len` bytes behind its u16 length. */
  #frame(k: number, len: number): void {
    const v = this.#tx.views[k] as Uint8Array;
    v[0] = len >> 8;
    v[1] = len & 0xff;
    this.#tx.setFrame(k, len + 2);
  }

  /** TCP: slot k holds a control packet behind its u16 length. */
  #frameControl(k: number, bytes: Uint8Array): void {
    (this.#tx.views[k] as Uint8Array).set(bytes, 2);
    this.#frame(k, bytes.byteLength);
  }

  /** TCP: reads what the stream holds (a bounded number of reads per wake-up) and handles its frames. */
  #receiveStream(now: number): void {
    const area = this.#in as Uint8Array;
    for (let round = 0; round < 4 && this.#linkFd >= 0; round++) {
      const room = STREAM_READ - this.#inLen;
      const n = this.#io.read(this.#linkFd, area.subarray(PACKET_MAX + this.#inLen), room);
      if (n < 0) {
        const errno = this.#io.errno();
        if (errno !== EAGAIN && errno !== EINTR) this.#streamFailed(errno);
        return;
      }
      if (n === 0) {
        this.#streamBroken('ECONNRESET', 'the server closed the TCP connection');
        return;
      }
      this.#inLen += n;
      this.#frames(now);
      if (n < room) return;
    }
  }

  /** TCP: handles every whole frame in the stream buffer; what is left of the last waits for more. */
  #frames(now: number): void {
    const area = this.#in as Uint8Array;
    const nowSeconds = Math.floor((this.#init.timeOrigin + now) / 1000);
    const end = PACKET_MAX + this.#inLen;
    let off = PACKET_MAX;
    while (end - off >= 2 && this.#linkFd >= 0) {
      const len = ((area[off] as number) << 8) | (area[off + 1] as number);
      if (len === 0) {
        this.#streamBroken('EPROTO', 'bad TCP framing from the server: BAD_FRAME_LENGTH');
        return;
      }
      if (end - off - 2 < len) break;
      area.copyWithin(0, off + 2, off + 2 + len); // to the frame at [0, len), as a datagram in its slot
      off += 2 + len;
      this.#add(Counter.LINK_RX_PKTS, 1);
      this.#add(Counter.LINK_RX_BYTES, len);
      this.#packet(area, len, undefined, now, nowSeconds);
    }
    this.#gro.flush();
    area.copyWithin(PACKET_MAX, off, end);
    this.#inLen = end - off;
  }

  /** TCP: a control packet from the main thread, framed behind what is queued (or queued itself while the ring is full). */
  #sendControl(bytes: Uint8Array): void {
    if (this.#linkFd < 0 || !this.#tcp) return;
    const tx = this.#tx;
    if (bytes.byteLength + 2 > tx.slotSize) {
      this.#add(Counter.SEND_DROPS, 1);
      return;
    }
    if (this.#txCount === tx.slots || this.#ctlQueue.length > 0) {
      this.#ctlQueue.push(bytes);
      return;
    }
    const k = this.#txCount;
    this.#frameControl(k, bytes);
    if (k > 0) this.#txCount = k + 1; // sent with the queue when the socket has room
    else this.#sendSealed(1, -1);
    if (this.#early !== undefined) {
      // the server answers our first packet: what the proxy read ahead is handled now
      const early = this.#early;
      this.#early = undefined;
      (this.#in as Uint8Array).set(early, PACKET_MAX + this.#inLen);
      this.#inLen += early.byteLength;
      this.#frames(performance.now() + this.#clockSkew);
    }
  }

  /**
   * TCP: sends tx slots [#txHead, #txCount) as one message; a short write leaves the rest of a
   * frame at the head (the next send resumes inside it). Stops at EAGAIN (poll asks for
   * POLLOUT); any other error breaks the stream.
   */
  #flushStream(): void {
    const tx = this.#tx;
    while (this.#txHead < this.#txCount && this.#linkFd >= 0) {
      tx.packStream(this.#txHead, this.#txCount);
      if (this.#io.sendmmsg(this.#linkFd, tx.runHdrs, 1, MSG_DONTWAIT | MSG_NOSIGNAL) !== 1) {
        const errno = this.#io.errno();
        if (errno === EAGAIN || errno === EINTR) {
          this.#add(Counter.SEND_WAITS, 1);
          return;
        }
        this.#streamFailed(errno);
        return;
      }
      let sent = tx.streamSent();
      while (sent > 0) {
        const left = tx.pending(this.#txHead);
        if (sent < left) {
          tx.consumed(this.#txHead, sent);
          this.#add(Counter.SEND_WAITS, 1);
          break;
        }
        sent -= left;
        this.#txHead++;
      }
    }
    this.#txHead = 0;
    this.#txCount = 0;
    // control packets that waited for room: framed now, in the order they came
    while (this.#ctlQueue.length > 0 && this.#txCount < tx.slots) {
      this.#frameControl(this.#txCount++, this.#ctlQueue.shift() as Uint8Array);
    }
    if (this.#txCount > 0) this.#flushStream();
  }

  /** TCP: a read or send failed with errno. */
  #streamFailed(errno: number): void {
    const code = errnoName(errno);
    this.#streamBroken(code, `${code} on the TCP connection`);
  }

  /** TCP: the stream is unusable (closed, reset, bad framing): tell the main thread once and stop using it. */
  #streamBroken(code: string, message: string): void {
    this.#linkFd = -1;
    this.#txHead = this.#txCount = 0;
    this.#ctlQueue.length = 0;
    this.#post({ kind: 'link-error', code, message });
  }

  /** The first of each errno goes to the main thread (ECONNREFUSED every time: the core counts them). */
  #linkError(errno: number): void {
    if (errno !== ECONNREFUSED && this.#reported.has(errno)) return;
    this.#reported.add(errno);
    const code = errnoName(errno);
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
