/**
 * In-memory TunDevice (cf. wireguard-go tun/tuntest.ChannelTUN): tests inject packets "from the
 * OS" and see what the VPN wrote "to the OS". Same semantics as the real device: readInto returns
 * 0 when empty and truncates a packet longer than the buffer (as read(2) on a tun fd does);
 * waitReadable is one-shot and fires on a later microtask, never after close().
 * Never: touch the OS.
 */
import type { TunDevice } from './device.ts';

export class MemoryTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  /** Packets the VPN wrote, copied. */
  readonly written: Uint8Array[] = [];
  #queue: Uint8Array[] = [];
  #waiter: (() => void) | undefined;
  #closed = false;
  #errors = 0;

  constructor(opts: { readonly name?: string; readonly mtu?: number } = {}) {
    this.name = opts.name ?? 'memtun0';
    this.mtu = opts.mtu ?? 1500;
  }

  get errors(): number {
    return this.#errors;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** A packet "the OS routed into the tunnel". */
  inject(packet: Uint8Array): void {
    if (this.#closed) return;
    this.#queue.push(packet.slice());
    this.#wake();
  }

  readInto(buf: Uint8Array): number {
    const p = this.#queue.shift();
    if (p === undefined || this.#closed) return 0;
    const n = Math.min(p.length, buf.length);
    buf.set(p.subarray(0, n));
    return n;
  }

  write(buf: Uint8Array, len: number): number {
    if (this.#closed || len > buf.length || len <= 0) {
      this.#errors++;
      return 0;
    }
    this.written.push(buf.slice(0, len));
    return len;
  }

  waitReadable(cb: () => void): void {
    this.#waiter = cb;
    if (this.#queue.length > 0) this.#wake();
  }

  close(): void {
    this.#closed = true;
    this.#waiter = undefined;
    this.#queue = [];
  }

  #wake(): void {
    const cb = this.#waiter;
    if (cb === undefined) return;
    this.#waiter = undefined;
    queueMicrotask(() => {
      if (!this.#closed) cb();
    });
  }
}
