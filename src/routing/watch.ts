/**
 * The NetWatcher port: "something changed in the host's links, addresses or routes", as
 * rtnetlink notifications (RTNLGRP_LINK, IPV4/IPV6_IFADDR, IPV4/IPV6_ROUTE) say it. Roaming
 * (core/path-monitor.ts) needs only the fact and its time, never the details: after a
 * change the shell asks the NetBackend for the path to the server again.
 *
 *   netlink-watch.ts  NetlinkWatcher: a second rtnetlink socket joined to the five groups
 *   this file         MemoryNetWatcher: the in-memory twin over MemoryNetBackend's changes
 *
 * The kernel flushes IPv4 routes of a device that goes down without a route notification;
 * the link notification covers that, which is why links are watched too.
 * Never: I/O here, interpret events (that is the path monitor's job), log.
 */
import type { MemoryNetBackend } from './memory-backend.ts';

export type NetChangeKind = 'link' | 'address' | 'route' | 'overrun';

export interface NetWatcher {
  /** Stops the notifications; idempotent. */
  close(): void;
}

export type NetChangeListener = (kind: NetChangeKind) => void;

/** The twin: every link, address or route change the memory backend makes. */
export class MemoryNetWatcher implements NetWatcher {
  readonly #stop: () => void;

  constructor(net: MemoryNetBackend, onChange: NetChangeListener) {
    this.#stop = net.watch(onChange);
  }

  close(): void {
    this.#stop();
  }
}
