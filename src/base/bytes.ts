/**
 * Bounds-checked big-endian reader and a growable writer for wire codecs.
 * A read past the end throws RemoteProtocolError('PACKET_TRUNCATED'): callers on the
 * packet path catch it at one place and count the drop.
 */
import { RemoteProtocolError } from './errors.ts';

export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #off = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get offset(): number {
    return this.#off;
  }

  get remaining(): number {
    return this.#bytes.byteLength - this.#off;
  }

  u8(): number {
    this.#need(1);
    return this.#view.getUint8(this.#off++);
  }

  u16(): number {
    this.#need(2);
    const v = this.#view.getUint16(this.#off);
    this.#off += 2;
    return v;
  }

  u24(): number {
    this.#need(3);
    const v = (this.#view.getUint8(this.#off) << 16) | this.#view.getUint16(this.#off + 1);
    this.#off += 3;
    return v;
  }

  u32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.#off);
    this.#off += 4;
    return v;
  }

  /** A view (not a copy) of the next n bytes. */
  bytes(n: number): Uint8Array {
    this.#need(n);
    const out = this.#bytes.subarray(this.#off, this.#off + n);
    this.#off += n;
    return out;
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }

  #need(n: number): void {
    if (n > this.remaining) {
      throw new RemoteProtocolError('PACKET_TRUNCATED', `need ${n} bytes at offset ${this.#off}, have ${this.remaining}`);
    }
  }
}

export class ByteWriter {
  #buf: Uint8Array;
  #view: DataView;
  #len = 0;

  constructor(initial = 256) {
    this.#buf = new Uint8Array(initial);
    this.#view = new DataView(this.#buf.buffer);
  }

  get length(): number {
    return this.#len;
  }

  u8(v: number): this {
    this.#grow(1);
    this.#view.setUint8(this.#len, v);
    this.#len += 1;
    return this;
  }

  u16(v: number): this {
    this.#grow(2);
    this.#view.setUint16(this.#len, v);
    this.#len += 2;
    return this;
  }

  u24(v: number): this {
    this.#grow(3);
    this.#view.setUint8(this.#len, (v >>> 16) & 0xff);
    this.#view.setUint16(this.#len + 1, v & 0xffff);
    this.#len += 3;
    return this;
  }

  u32(v: number): this {
    this.#grow(4);
    this.#view.setUint32(this.#len, v >>> 0);
    this.#len += 4;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#grow(b.byteLength);
    this.#buf.set(b, this.#len);
    this.#len += b.byteLength;
    return this;
  }

  /** A copy of what was written. */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }

  #grow(n: number): void {
    if (this.#len + n <= this.#buf.byteLength) return;
    let size = this.#buf.byteLength * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
}

const HEX = '0123456789abcdef';

export function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += HEX[x >> 4]! + HEX[x & 15]!;
  return s;
}

export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new TypeError(`not a hex string: ${s.slice(0, 32)}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Decodes standard base64 (the caller has checked the alphabet and the length). */
export function fromBase64(s: string): Uint8Array {
  const clean = s.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let j = 0;
  for (const c of clean) {
    acc = (acc << 6) | B64.indexOf(c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
