/**
 * The Tunnel port: where decrypted packets go and where outgoing ones come from, plus the
 * system changes around it (addresses, routes, DNS). Adapters: NullTunnel (`dev null`), and
 * the TUN device with rtnetlink routing (tun-tunnel.ts).
 *
 *   open(pushed)   configure for this connection and start reading, calling `send` per packet
 *   write(p, n)    a decrypted IP packet for the OS
 *   detach()       this connection ended: stop reading (keep the device with persist-tun)
 *   close()        the process exits: undo every change, newest first
 */
import type { ClientOptions } from './config/index.ts';
import type { Endpoint } from './link/link.ts';

export type SendFromTunnel = (packet: Uint8Array, len: number) => void;

export interface Tunnel {
  open(pushed: ClientOptions, remote: Endpoint, send: SendFromTunnel): Promise<void>;
  write(packet: Uint8Array, len: number): void;
  detach(): Promise<void>;
  close(): Promise<void>;
}

/** `dev null`: the whole session without a device; packets from the server are dropped. */
export class NullTunnel implements Tunnel {
  dropped = 0;
  async open(): Promise<void> {}
  write(): void {
    this.dropped++;
  }
  async detach(): Promise<void> {}
  async close(): Promise<void> {}
}
