/**
 * NetWatcher over rtnetlink: its own socket from the `netlink` package, joined to the
 * multicast groups RTNLGRP_LINK, RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR, RTNLGRP_IPV4_ROUTE
 * and RTNLGRP_IPV6_ROUTE (the package can subscribe, so no raw koffi socket is needed).
 * Every notification becomes one call of the listener with its kind; a receive error (the
 * socket's buffer overran during a burst: ENOBUFS) becomes 'overrun', which also means "look
 * again". The socket does not keep the process alive.
 * Never: send requests on this socket, log, throw from a notification.
 */
import { createRtNetlink, type RtNetlinkSocket } from 'netlink';
import type { NetChangeKind, NetChangeListener, NetWatcher } from './watch.ts';

const GROUPS = ['LINK', 'IPV4_IFADDR', 'IPV6_IFADDR', 'IPV4_ROUTE', 'IPV6_ROUTE'] as const;
/** Room for a burst (an interface going away sends a notification per route and address). */
const RECV_BUFFER_BYTES = 1 << 20;

export class NetlinkWatcher implements NetWatcher {
  readonly #sock: RtNetlinkSocket;
  #closed = false;

  constructor(onChange: NetChangeListener) {
    const sock = createRtNetlink();
    this.#sock = sock;
    try {
      for (const g of GROUPS) sock.addMembership(g);
      sock.socket.setRecvBufferSize(RECV_BUFFER_BYTES);
    } catch (e) {
      sock.socket.close();
      throw e;
    }
    sock.on('message', (msgs) => {
      if (this.#closed) return;
      for (const m of msgs) {
        const kind: NetChangeKind | undefined = m.kind === 'link' ? 'link' : m.kind === 'address' ? 'address' : m.kind === 'route' ? 'route' : undefined;
        if (kind !== undefined) onChange(kind);
      }
    });
    sock.on('invalid', () => {
      if (!this.#closed) onChange('overrun');
    });
    sock.socket.on('error', () => {
      if (!this.#closed) onChange('overrun');
    });
    sock.socket.unref();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sock.socket.close();
  }
}
