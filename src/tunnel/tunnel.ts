/**
 * The Tunnel port: where decrypted packets go and where outgoing ones come from, plus the
 * system changes around it (addresses, routes, DNS). Adapters: NullTunnel (`dev null`), and
 * the TUN device with rtnetlink routing (tun-tunnel.ts).
 *
 *   open(pushed)   configure for this connection and start reading, calling `send` per packet
 *   write(p, n)    a decrypted IP packet for the OS
 *   detach(sig)    this connection ended: stop reading (keep the device with persist-tun)
 *   close(sig)     the process exits: undo every change, newest first
 *
 * The user's up / route-up / route-pre-down / down scripts run inside open/detach/close
 * (src/scripts/hooks.ts); `sig` is OpenVPN's signal text for them (sigterm, ping-restart, ...).
 */
import type { X509Certificate } from 'node:crypto';
import type { ClientOptions } from '../config/index.ts';
import type { Endpoint } from '../link/link.ts';
import type { ScriptHooks } from '../scripts/hooks.ts';
import { peerChain } from '../scripts/hooks.ts';
import type { TunnelFacts } from '../scripts/env.ts';
import type { ServerPath } from '../core/path-monitor.ts';

export type SendFromTunnel = (packet: Uint8Array, len: number) => void;

/** The TUN device's fd and per-packet rules, for a data path on another thread (the data-plane worker). */
export interface TunPacketSource {
  readonly fd: number;
  /** mssfix: the TCP MSS to clamp to (0: off). */
  readonly mss: number;
  readonly tunMtu: number;
  /** block-ipv6: the ICMPv6 no-route source, or undefined when IPv6 passes. */
  readonly block6: Uint8Array | undefined;
  /** Every packet on fd has a virtio_net_hdr first (IFF_VNET_HDR). */
  readonly vnetHdr: boolean;
}

/** What the connection knows that scripts see (ssl_verify.c: the server's certificate chain). */
export interface OpenInfo {
  readonly peerCert?: X509Certificate | undefined;
  /** Which <connection> profile is in use (tun-mtu, mssfix); the first when undefined. */
  readonly connectionIndex?: number | undefined;
  /** The negotiated data channel, for the MSS clamp (a CBC fallback has more overhead than GCM). */
  readonly dataChannel?: { readonly cipher: string; readonly auth: string | undefined } | undefined;
}

export interface Tunnel {
  /** With `send` undefined the tunnel starts no pump of its own: another thread takes packetSource(). */
  open(pushed: ClientOptions, remote: Endpoint, send: SendFromTunnel | undefined, info?: OpenInfo): Promise<void>;
  /** The open device's fd and rules (a device with an fd only), for a pump on another thread. */
  packetSource?(): TunPacketSource | undefined;
  write(packet: Uint8Array, len: number): void;
  detach(signal?: string): Promise<void>;
  close(signal?: string): Promise<void>;
  /** Roaming (TUN only): the uplink toward the server now, the tunnel's own routes left out. */
  serverPath?(remote: Endpoint): Promise<ServerPath | undefined>;
  /** Roaming (TUN only): point the bypass route to the server at `path`, journaled. */
  repointBypass?(remote: Endpoint, path: ServerPath): Promise<void>;
}

/** `dev null`: the whole session without a device; packets from the server are dropped. Scripts run with dev=null. */
export class NullTunnel implements Tunnel {
  readonly #hooks: ScriptHooks | undefined;
  #facts: TunnelFacts | undefined;
  dropped = 0;

  constructor(hooks?: ScriptHooks) {
    this.#hooks = hooks;
  }

  async open(pushed: ClientOptions, remote: Endpoint, _send: SendFromTunnel | undefined, info?: OpenInfo): Promise<void> {
    if (this.#hooks === undefined || this.#facts !== undefined) return;
    const tunMtu = pushed.connections[0]?.tunMtu ?? 1500;
    this.#facts = { options: pushed, remote, peerChain: peerChain(info?.peerCert), dev: 'null', devType: 'null', tunMtu, netGateway: undefined };
    await this.#hooks.up(this.#facts, 'init');
    await this.#hooks.routeUp(this.#facts, false);
  }

  write(): void {
    this.dropped++;
  }

  async detach(signal = 'sigusr1'): Promise<void> {
    await this.#down(signal);
  }

  async close(signal = 'sigterm'): Promise<void> {
    await this.#down(signal);
  }

  async #down(signal: string): Promise<void> {
    const f = this.#facts;
    if (this.#hooks === undefined || f === undefined) return;
    this.#facts = undefined;
    await this.#hooks.routePreDown(f, signal, false);
    await this.#hooks.down(f, 'init', signal, false);
  }
}
