/**
 * The data path in the data-plane worker thread (src/dataplane/worker-pump.ts), for a UDP attempt
 * without a SOCKS proxy and for a TCP attempt. It also is the attempt's Link: the worker receives
 * everything on the socket and hands control packets back. UDP control packets go out from this
 * thread with one send(2) each; TCP ones go to the worker, which frames them into its stream.
 *
 *   open   udp: socket (socket options, bind) ─▶ connect (unless float) ─▶ worker 'link'
 *          tcp: stream.ts connects (directly or through the proxy) ─▶ the descriptor is taken
 *               from node:net (detachDescriptor) ─▶ worker 'link' with the bytes read ahead
 *   keys   split ─▶ copied into fresh buffers, transferred to the worker ─▶ ours zeroed
 *   tunnel the TUN's packetSource() ─▶ worker 'tun' (the tunnel starts no pump of its own)
 *   sync   counters in the SharedArrayBuffer ─▶ deltas ─▶ core (keepalive, reneg, inactive), stats
 *   close  worker 'unlink' (acknowledged: it no longer touches the fds) ─▶ close the socket
 *
 * Never: close an fd before the worker let go of it, or keep key bytes on this thread.
 */
import { OsError } from '../base/errors.ts';
import { encodeSockaddr } from '../base/sockaddr.ts';
import type { DataParams } from '../core/negotiate.ts';
import type { Endpoint, Link, LinkEvents } from '../link/link.ts';
import { applySocketOptions, detachDescriptor, localEndpoint, localOfSocket, openUdpSocket, reconnectUdpSocket } from '../link/socket-options.ts';
import { concatBytes } from '../base/bytes.ts';
import { openStream } from '../link/stream.ts';
import { batchIo, EAGAIN, MSG_DONTWAIT } from '../platform/batch-io.ts';
import { lib } from '../platform/libc.ts';
import { splitKey2, wipeDataKeys } from '../dataplane/data-crypto.ts';
import { COMPRESSED_MESSAGE } from '../dataplane/drop-reason.ts';
import type { DataPlaneWorker } from '../dataplane/worker-host.ts';
import { Counter, DROPS_BASE, type ChannelOptions, type FromWorker } from '../dataplane/worker-shared.ts';
import { channelOptions } from './data-setup.ts';
import { dropsByName, type DataPath, type DataPathHost } from './data-path.ts';
import type { OpenLinkOptions } from './open-link.ts';

const ECONNREFUSED = 111;
/** The counters the verb-3 exit line reports, per link (the worker outlives links). */
const OFFLOAD_COUNTERS = [Counter.DATA_TX_PKTS, Counter.GSO_PKTS, Counter.TUN_TX_PKTS, Counter.GRO_PKTS, Counter.LINK_RX_PKTS, Counter.WAKEUPS] as const;

/** The counters as the last sync saw them. */
class Seen {
  authRxPkts = 0;
  authRxBytes = 0;
  dataTxPkts = 0;
  dataTxBytes = 0;
  linkRxBytes = 0;
  tunRxBytes = 0;
  tunTxBytes = 0;
}

export class WorkerDataPath implements DataPath {
  readonly link: Link;
  readonly sendFromTunnel = undefined;
  readonly #w: DataPlaneWorker;
  readonly #h: DataPathHost;
  readonly #fd: number;
  readonly #float: boolean;
  readonly #events: LinkEvents;
  readonly #seen = new Seen();
  /** OFFLOAD_COUNTERS when this link started. */
  readonly #offloadBase: number[];
  readonly #reported = new Set<string>();
  #remote: Uint8Array;
  #channel: ChannelOptions | undefined;
  #closing: Promise<void> | undefined;
  #compressedLogged = false;
  /** Bytes of control packets relayed since the last sync (in the worker's LINK_RX_BYTES too). */
  #controlRx = 0;

  private constructor(worker: DataPlaneWorker, host: DataPathHost, fd: number, o: OpenLinkOptions, events: LinkEvents, local: Endpoint | undefined) {
    this.#w = worker;
    this.#h = host;
    this.#fd = fd;
    this.#float = o.float && o.proto === 'udp';
    this.#events = events;
    this.#remote = encodeSockaddr(o.remote.address, o.remote.port, o.remote.family);
    const c = worker.counters;
    const s = this.#seen;
    s.authRxPkts = c[Counter.AUTH_RX_PKTS] ?? 0;
    s.authRxBytes = c[Counter.AUTH_RX_BYTES] ?? 0;
    s.dataTxPkts = c[Counter.DATA_TX_PKTS] ?? 0;
    s.dataTxBytes = c[Counter.DATA_TX_BYTES] ?? 0;
    s.linkRxBytes = c[Counter.LINK_RX_BYTES] ?? 0;
    s.tunRxBytes = c[Counter.TUN_RX_BYTES] ?? 0;
    s.tunTxBytes = c[Counter.TUN_TX_BYTES] ?? 0;
    this.#offloadBase = OFFLOAD_COUNTERS.map((k) => c[k] ?? 0);
    this.link = this.#makeLink(o, local);
  }

  /** Makes the socket (or, for TCP, the connection) and hands it to the worker; throws as the node links do. */
  static async open(worker: DataPlaneWorker, host: DataPathHost, o: OpenLinkOptions, events: LinkEvents): Promise<WorkerDataPath> {
    const { remote } = o;
    let fd = -1;
    try {
      let local: Endpoint | undefined;
      let early: Uint8Array | undefined;
      if (o.proto === 'tcp') {
        const via = o.via ?? {};
        const opened = await openStream({ remote, local: o.local, connectTimeoutMs: o.connectTimeoutMs, socket: via.socket, proxy: via.proxy, target: via.target });
        const { sock } = opened;
        local = localOfSocket(sock);
        const taken = detachDescriptor(sock);
        fd = taken.fd;
        const ahead = concatBytes(opened.leftover, taken.buffered);
        early = ahead.byteLength > 0 ? ahead : undefined;
      } else {
        fd = openUdpSocket(remote.family, o.via?.socket ?? {}, o.local);
        if (!o.float) {
          const addr = encodeSockaddr(remote.address, remote.port, remote.family);
          if (lib().connect(fd, addr, addr.byteLength) < 0) throw new OsError('SOCKET', `cannot connect the UDP socket to ${remote.address}:${remote.port}: errno ${batchIo().errno()}`);
        }
        if (o.local?.address !== undefined) local = localEndpoint(fd);
      }
      const path = new WorkerDataPath(worker, host, fd, o, events, local);
      worker.events = { message: (m) => path.#onWorker(m), exit: (reason) => events.error(Object.assign(new Error(reason), { code: 'EWORKER' })) };
      await worker.request({ kind: 'link', proto: o.proto, fd, remote, float: path.#float, early });
      return path;
    } catch (e) {
      if (fd >= 0) lib().close(fd);
      throw e;
    }
  }

  #makeLink(o: OpenLinkOptions, local: Endpoint | undefined): Link {
    return o.proto === 'tcp' ? this.#tcpLink(o, local) : this.#udpLink(o, local);
  }

  /** TCP: control packets go to the worker, which frames them into the stream behind its data. */
  #tcpLink(o: OpenLinkOptions, local: Endpoint | undefined): Link {
    return {
      proto: 'tcp',
      local,
      send: (bytes) => {
        if (this.#closing !== undefined) return;
        const own = bytes.slice(); // the caller may reuse `bytes`; the copy is moved, not cloned
        this.#w.post({ kind: 'send', bytes: own }, [own.buffer as ArrayBuffer]);
      },
      setBufferSizes: (sizes) => this.#setBufferSizes(o, sizes),
      close: () => void this.close(),
    };
  }

  #setBufferSizes(o: OpenLinkOptions, sizes: { readonly sndbuf?: number | undefined; readonly rcvbuf?: number | undefined }): void {
    try {
      applySocketOptions(this.#fd, o.remote.family, { sndbuf: sizes.sndbuf, rcvbuf: sizes.rcvbuf });
    } catch (e) {
      this.#events.error(e as Error);
    }
  }

  #udpLink(o: OpenLinkOptions, local: Endpoint | undefined): Link {
    const io = batchIo();
    return {
      proto: 'udp',
      local,
      send: (bytes) => {
        if (this.#closing !== undefined) return;
        const n = this.#float ? io.sendto(this.#fd, bytes, bytes.byteLength, MSG_DONTWAIT, this.#remote, this.#remote.byteLength) : io.send(this.#fd, bytes, bytes.byteLength, MSG_DONTWAIT);
        if (n === bytes.byteLength) return;
        const errno = io.errno();
        if (errno !== EAGAIN) this.#linkError(errno === ECONNREFUSED ? 'ECONNREFUSED' : `errno ${errno}`, `send failed (errno ${errno})`);
      },
      setBufferSizes: (sizes) => this.#setBufferSizes(o, sizes),
      setRemote: (next) => {
        if (!this.#float) return;
        this.#remote = encodeSockaddr(next.address, next.port, next.family);
        this.#w.post({ kind: 'remote', remote: next });
      },
      refreshSource: async () => {
        // Unconnected (float) sockets choose per datagram; one bound to an address cannot move.
        if (this.#float || o.local?.address !== undefined || this.#closing !== undefined) return;
        const taken = reconnectUdpSocket(this.#fd, this.#remote, o.remote.family, o.via?.socket ?? {});
        if (taken !== undefined) this.#h.log.verb(3, `roaming: local port ${taken} is taken now: a new one, the server follows it`);
      },
      close: () => void this.close(),
    };
  }

  #onWorker(m: Exclude<FromWorker, { kind: 'ready' } | { kind: 'ack' }>): void {
    const h = this.#h;
    if (this.#closing !== undefined) return;
    switch (m.kind) {
      case 'control':
        this.#controlRx += m.bytes.byteLength;
        this.#events.packet(m.bytes, m.from ?? h.remote());
        return;
      case 'peer-moved':
        h.feed({ kind: 'peer-moved', from: m.from });
        return;
      case 'event':
        if (m.event === 'compressed') {
          if (!this.#compressedLogged) h.log.error(COMPRESSED_MESSAGE);
          this.#compressedLogged = true;
        } else if (m.event === 'gso-off') {
          h.log.info(`data plane: the kernel refused a UDP GSO send (errno ${m.errno}); datagrams are sent one by one`);
        } else if (m.event === 'wake') h.feed({ kind: 'timer' });
        else h.feed({ kind: m.event });
        return;
      case 'link-error':
        this.#events.error(Object.assign(new Error(m.message), { code: m.code }));
        return;
      case 'fatal':
        this.#events.error(Object.assign(new Error(`data-plane worker: ${m.message}`), { code: 'EWORKER' }));
        return;
    }
  }

  #linkError(code: string, message: string): void {
    if (code !== 'ECONNREFUSED' && this.#reported.has(code)) return;
    this.#reported.add(code);
    this.#events.error(Object.assign(new Error(message), { code }));
  }

  install(keyId: number, key2: Uint8Array, p: DataParams): void {
    const keys = splitKey2(key2, 'client');
    key2.fill(0);
    this.#channel ??= channelOptions(this.#h.setup, p);
    // fresh buffers the worker takes over (transferred: nothing of them stays here)
    const own = (b: Uint8Array): Uint8Array => b.slice();
    const send = { cipher: own(keys.send.cipher), hmac: own(keys.send.hmac) };
    const recv = { cipher: own(keys.recv.cipher), hmac: own(keys.recv.hmac) };
    wipeDataKeys(keys);
    const transfer = [send.cipher, send.hmac, recv.cipher, recv.hmac].map((b) => b.buffer as ArrayBuffer);
    this.#w.post({ kind: 'keys', keyId, cipher: p.cipher, auth: p.auth, peerId: p.peerId, send, recv, channel: this.#channel }, transfer);
    this.sync();
  }

  retire(keyId: number): void {
    this.#w.post({ kind: 'retire', keyId });
  }

  sendPayload(payload: 'ping' | 'occ-exit'): void {
    this.#w.post({ kind: 'payload', payload });
  }

  async tunnelOpened(): Promise<void> {
    const src = this.#h.tunnel.packetSource?.();
    if (src === undefined || this.#closing !== undefined) return;
    await this.#w.request({ kind: 'tun', fd: src.fd, mss: src.mss, tunMtu: src.tunMtu, block6: src.block6, vnetHdr: src.vnetHdr });
  }

  onData(): void {
    // the worker opens data packets; none reach this thread
  }

  sync(): void {
    const c = this.#w.counters;
    const s = this.#seen;
    const h = this.#h;
    const core = h.core;
    const at = (i: number): number => c[i] ?? 0;
    const rxPkts = at(Counter.AUTH_RX_PKTS) - s.authRxPkts;
    const rxBytes = at(Counter.AUTH_RX_BYTES) - s.authRxBytes;
    const txPkts = at(Counter.DATA_TX_PKTS) - s.dataTxPkts;
    const txBytes = at(Counter.DATA_TX_BYTES) - s.dataTxBytes;
    const linkRx = at(Counter.LINK_RX_BYTES) - s.linkRxBytes;
    const tunRx = at(Counter.TUN_RX_BYTES) - s.tunRxBytes;
    const tunTx = at(Counter.TUN_TX_BYTES) - s.tunTxBytes;
    let limit = false;
    if (rxPkts > 0) limit = core.dataReceived(at(Counter.LAST_AUTH_RX_AT), rxBytes, rxPkts) || limit;
    if (txPkts > 0) limit = core.dataSent(at(Counter.LAST_DATA_TX_AT), txBytes, txPkts) || limit;
    if (tunRx + tunTx > 0) core.tunnelTraffic(tunRx + tunTx, at(Counter.LAST_TUN_AT));
    if (limit) h.feed({ kind: 'data-limit' });
    // the attempt counted the control packets it was handed already
    h.stats.linkReadBytes += linkRx - this.#controlRx;
    this.#controlRx = 0;
    h.stats.linkWriteBytes += txBytes;
    h.stats.authReadBytes += rxBytes;
    h.stats.tunReadBytes += tunRx;
    h.stats.tunWriteBytes += tunTx;
    s.authRxPkts += rxPkts;
    s.authRxBytes += rxBytes;
    s.dataTxPkts += txPkts;
    s.dataTxBytes += txBytes;
    s.linkRxBytes += linkRx;
    s.tunRxBytes += tunRx;
    s.tunTxBytes += tunTx;
    // reneg-bytes / reneg-pkts: the worker says when the primary key's remaining allowance is used up
    const left = core.renegRemaining();
    const keyBytes = s.authRxBytes + s.dataTxBytes;
    const keyPkts = s.authRxPkts + s.dataTxPkts;
    this.#w.notifyAt(left.bytes === Infinity ? 0 : keyBytes + Math.max(1, left.bytes), left.packets === Infinity ? 0 : keyPkts + Math.max(1, left.packets));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#w.request({ kind: 'unlink' });
      this.sync();
      this.#logOffloads();
      this.#w.events = undefined;
      lib().close(this.#fd);
    })();
    return this.#closing;
  }

  /** At --verb 3: how much of this link's traffic the kernel took in batches (UDP GSO out, coalesced TCP in). */
  #logOffloads(): void {
    const c = this.#w.counters;
    const [tx, gso, tun, gro, rx, wakeups] = OFFLOAD_COUNTERS.map((k, i) => (c[k] ?? 0) - (this.#offloadBase[i] ?? 0));
    const udp = this.link.proto === 'udp' ? `${gso} of ${tx} datagrams left in UDP GSO sends; ` : '';
    this.#h.log.verb(3, `data plane: ${udp}${gro} of ${tun} packets reached the TUN in coalesced TCP writes; ${rx} packets received and ${tx} sent in ${wakeups} wake-ups`);
  }

  drops(): Record<string, number> {
    const c = this.#w.counters;
    const out = dropsByName((code) => c[DROPS_BASE - code] ?? 0);
    const loop = c[Counter.LOOP_DROPS] ?? 0;
    if (loop > 0) out['LOOP'] = loop;
    const oversize = c[Counter.OVERSIZE_DROPS] ?? 0;
    if (oversize > 0) out['OVERSIZE'] = oversize;
    return out;
  }
}
