/**
 * UDP adapter for the Link port over node:dgram.
 *
 * Without `float` the socket is connect()ed to the server: the kernel then drops datagrams
 * from any other address, and an ICMP port unreachable comes back as ECONNREFUSED so the
 * client can fail fast instead of waiting for a timeout. With `float` it stays unconnected
 * and the shell sees every sender.
 *
 * Sending (the Link send contract, link.ts): node:dgram does not copy. When the kernel says
 * EAGAIN (socket buffer full, e.g. behind a slow uplink) it queues the send with a pointer to
 * the caller's memory, and without `connect` every send waits a tick for the address lookup;
 * a caller that reuses one tx buffer would then put the last packet on the wire many times.
 * So send() hands dgram its own pooled copy, and dgram's queue is bounded:
 *
 *   send(bytes) ─▶ queue ≥ SEND_QUEUE_LIMIT? ─yes─▶ drop whole, count (counters.queueDrops; the first is reported)
 *                        │ no
 *                        ▼
 *                  Buffer.from(bytes) (pooled copy) ─▶ dgram ─▶ kernel (or dgram's queue on EAGAIN)
 *                                                        └─▶ error? count; report the first of each code
 *
 * Never: throw from send(), report the same kind of send failure twice, write memory dgram holds.
 */
import dgram from 'node:dgram';
import { OsError } from '../base/errors.ts';
import type { Endpoint, Link, LinkEvents } from './link.ts';
import { encodeSockaddr } from '../base/sockaddr.ts';
import { descriptorOf, reconnectUdpSocket } from './socket-options.ts';

export interface UdpLinkOptions {
  readonly remote: Endpoint;
  readonly float: boolean;
  /** `local`/`lport`/`bind`; undefined = any address, ephemeral port (`nobind`). */
  readonly local?: { readonly address?: string | undefined; readonly port?: number | undefined } | undefined;
  readonly sndbuf?: number | undefined;
  readonly rcvbuf?: number | undefined;
  /** A socket already made and bound, with options Node cannot set (socket-options.ts); `local` is then unused. */
  readonly fd?: number | undefined;
  /** `bind-dev` of that socket: set again after a roaming refresh (the kernel drops it with the association). */
  readonly bindDev?: string | undefined;
}

/** What the adapter dropped or saw fail on the send side, since it was opened. */
export interface UdpLinkCounters {
  /** Datagrams dropped whole because dgram already held SEND_QUEUE_LIMIT bytes for the kernel. */
  queueDrops: number;
  /** Sends the OS (or dgram) refused; the first of each error code went to LinkEvents.error. */
  sendErrors: number;
}

export interface UdpLink extends Link {
  readonly counters: Readonly<UdpLinkCounters>;
  /** The address and port the socket is bound to (the kernel's choice with `nobind`). */
  readonly local: Endpoint;
}

/**
 * Bytes node:dgram may hold for the kernel (sends queued on EAGAIN) before send() drops whole
 * datagrams: about the kernel's default UDP send buffer again, so a burst is absorbed but a
 * slow uplink shows up as loss (as when OpenVPN stops reading its TUN) instead of growing
 * memory and latency without bound. (With `float`, sends still waiting for their lookup tick
 * are not in dgram's queue yet.)
 */
export const SEND_QUEUE_LIMIT = 256 * 1024;

export async function openUdpLink(opts: UdpLinkOptions, on: LinkEvents): Promise<UdpLink> {
  const sock = dgram.createSocket({ type: opts.remote.family === 6 ? 'udp6' : 'udp4' });
  sock.on('message', (msg, rinfo) => {
    on.packet(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), {
      address: rinfo.address,
      port: rinfo.port,
      family: rinfo.family === 'IPv6' ? 6 : 4,
    });
  });
  sock.on('error', (err) => on.error(err));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(opts.fd !== undefined ? { fd: opts.fd } : { port: opts.local?.port ?? 0, ...(opts.local?.address === undefined ? {} : { address: opts.local.address }) }, () => {
      sock.off('error', reject);
      resolve();
    });
  }).catch((cause: unknown) => {
    sock.close();
    throw new OsError('SOCKET', `cannot bind the UDP socket: ${(cause as Error).message}`, { cause });
  });
  if (opts.sndbuf !== undefined) sock.setSendBufferSize(opts.sndbuf);
  if (opts.rcvbuf !== undefined) sock.setRecvBufferSize(opts.rcvbuf);
  if (!opts.float) {
    await new Promise<void>((resolve) => sock.connect(opts.remote.port, opts.remote.address, () => resolve()));
  }
  let closed = false;
  let remote = opts.remote;
  const counters: UdpLinkCounters = { queueDrops: 0, sendErrors: 0 };
  const reported = new Set<string>();
  // The error as dgram gives it (errno `code`, e.g. ECONNREFUSED, which the shell acts on).
  const sendFailed = (err: Error): void => {
    if (closed) return; // sends still queued at close() come back cancelled
    counters.sendErrors++;
    const code = (err as NodeJS.ErrnoException).code ?? err.name;
    if (reported.has(code)) return;
    reported.add(code);
    on.error(err);
  };
  // One callback for every send (no closure per packet): it is how dgram reports send errors.
  const afterSend = (err: Error | null): void => {
    if (err !== null) sendFailed(err);
  };
  const bound = sock.address();
  return {
    proto: 'udp',
    counters,
    local: { address: bound.address, port: bound.port, family: bound.family === 'IPv6' ? 6 : 4 },
    send(bytes) {
      if (closed) return;
      if (sock.getSendQueueSize() >= SEND_QUEUE_LIMIT) {
        if (counters.queueDrops++ === 0) {
          on.error(new OsError('SOCKET', `UDP send queue full (${SEND_QUEUE_LIMIT >> 10} KiB waiting for the kernel): the uplink is slower than the tunnel; packets are dropped and counted`));
        }
        return;
      }
      const owned = Buffer.from(bytes); // a copy (from Node's pool when small): the caller may reuse `bytes`
      try {
        if (opts.float) sock.send(owned, remote.port, remote.address, afterSend);
        else sock.send(owned, afterSend);
      } catch (e) {
        sendFailed(e as Error);
      }
    },
    setRemote(next) {
      if (opts.float) remote = next;
    },
    async refreshSource() {
      // Unconnected (float) sockets choose per datagram; one bound to an address cannot move.
      if (closed || opts.float || opts.local?.address !== undefined) return;
      // on the descriptor, so the port is kept (dgram's disconnect + connect would get a new one)
      const fd = descriptorOf(sock);
      if (fd === undefined) throw new OsError('SOCKET', 'the UDP socket has no file descriptor');
      reconnectUdpSocket(fd, encodeSockaddr(remote.address, remote.port, remote.family), remote.family, { bindDev: opts.bindDev });
    },
    setBufferSizes({ sndbuf, rcvbuf }) {
      if (closed) return;
      try {
        if (sndbuf !== undefined) sock.setSendBufferSize(sndbuf);
        if (rcvbuf !== undefined) sock.setRecvBufferSize(rcvbuf);
      } catch (e) {
        on.error(e as Error);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      sock.close();
    },
  };
}
