/**
 * Batched packet I/O for the data-plane worker, through koffi: a blocking poll(2), and
 * recvmmsg(2)/sendmmsg(2) over rings of datagram slots in native memory.
 *
 *   MmsgRing (one per direction, made once):
 *     data   slots × slotSize bytes      one datagram per slot (views[i] is slot i)
 *     hdrs   slots × struct mmsghdr      iov → slot i, msg_name → names[i], msg_len out
 *     iovs   slots × struct iovec
 *     names  slots × sockaddr_in6        source (recv) or destination (send, unconnected)
 *     runs   slots × struct mmsghdr      send only: a run of equal-size datagrams as one
 *            + slots × cmsg UDP_SEGMENT  GSO send (iov → the run's slots, UDP_SEGMENT = size);
 *                                        over TCP, header 0 is one message over the queued
 *                                        slots: the byte stream, frame after frame
 *
 * The pointers inside the headers are written once, at construction; a batch only sets
 * lengths. Everything lives in memory koffi allocated, so the kernel and JS see the same bytes
 * and nothing moves under a call. Linux x86-64/aarch64 layouts (LP64). Never: allocate per
 * call, or use a ring after free().
 */
import koffi from 'koffi';

/** sizeof(struct mmsghdr) and the offsets in it (struct msghdr first, then msg_len). */
const MMSGHDR = 64;
const MSG_NAME = 0;
const MSG_NAMELEN = 8;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
const MSG_FLAGS = 48;
const MSG_LEN = 56;
/** sizeof(struct iovec). */
const IOVEC = 16;
/** CMSG_LEN(sizeof(uint16_t)) and CMSG_SPACE of it: a cmsghdr (16 bytes) and the u16 segment size. */
const CMSG_GSO_LEN = 18;
const CMSG_GSO = 24;
const CMSG_GSO_SPACE = 24n;
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
/** Segments per GSO send: UDP_MAX_SEGMENTS (64 until Linux 6.12 raised it to 128). */
const GSO_MAX_SEGMENTS = 64;
/** Bytes per GSO send: the largest UDP payload an IPv4 datagram carries. */
const GSO_MAX_BYTES = 65507;
/** sizeof(struct sockaddr_in6), large enough for either family. */
export const SOCKADDR_MAX = 28;
/** sizeof(struct pollfd). */
export const POLLFD = 8;

// poll.h, sys/socket.h, errno.h (Linux values)
export const POLLIN = 0x1;
export const POLLOUT = 0x4;
export const POLLERR = 0x8;
export const POLLHUP = 0x10;
export const MSG_DONTWAIT = 0x40;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_TRUNC = 0x20;
export const EAGAIN = 11;
export const EINTR = 4;
export const EIO = 5;
export const EINVAL = 22;

export interface BatchIo {
  poll(fds: Uint8Array, n: number, timeoutMs: number): number;
  recvmmsg(fd: number, hdrs: Uint8Array, n: number, flags: number, timeout: null): number;
  sendmmsg(fd: number, hdrs: Uint8Array, n: number, flags: number): number;
  read(fd: number, buf: Uint8Array, n: number): number;
  write(fd: number, buf: Uint8Array, n: number): number;
  send(fd: number, buf: Uint8Array, n: number, flags: number): number;
  sendto(fd: number, buf: Uint8Array, n: number, flags: number, addr: Uint8Array, addrLen: number): number;
  /** `len` is a u32 in/out (little-endian). */
  getsockname(fd: number, addr: Uint8Array, len: Uint8Array): number;
  errno(): number;
  nanosleep(ts: Uint8Array, rem: null): number;
  prctl(op: number, arg: number, a3: number, a4: number, a5: number): number;
}

let io: BatchIo | undefined;

/** The bindings, made once per thread (koffi functions are per isolate). */
export function batchIo(): BatchIo {
  if (io !== undefined) return io;
  const c = koffi.load('libc.so.6');
  io = {
    poll: c.func('int poll(void *fds, unsigned long n, int timeout)'),
    recvmmsg: c.func('int recvmmsg(int fd, void *vec, unsigned int n, int flags, void *timeout)'),
    sendmmsg: c.func('int sendmmsg(int fd, void *vec, unsigned int n, int flags)'),
    read: c.func('long read(int fd, void *buf, size_t n)'),
    write: c.func('long write(int fd, const void *buf, size_t n)'),
    send: c.func('long send(int fd, const void *buf, size_t n, int flags)'),
    sendto: c.func('long sendto(int fd, const void *buf, size_t n, int flags, const void *addr, uint32_t len)'),
    getsockname: c.func('int getsockname(int fd, void *addr, void *len)'),
    errno: () => koffi.errno(),
    nanosleep: c.func('int nanosleep(const void *req, void *rem)'),
    prctl: c.func('int prctl(int op, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)'),
  };
  return io;
}

/** Native memory of `size` bytes as a Uint8Array, and its address; free with koffi.free(ptr). */
function nativeBytes(size: number): { readonly ptr: unknown; readonly bytes: Uint8Array; readonly address: bigint } {
  const ptr = koffi.alloc('uint8', size);
  const bytes = new Uint8Array(koffi.view(ptr, size));
  bytes.fill(0);
  return { ptr, bytes, address: koffi.address(ptr) };
}

function dataView(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export class MmsgRing {
  readonly slots: number;
  readonly slotSize: number;
  /** views[i]: slot i's bytes (made once). */
  readonly views: readonly Uint8Array[];
  /** names[i]: slot i's sockaddr (made once). */
  readonly names: readonly Uint8Array[];
  /** hdrsFrom[i]: the header array from slot i on, for a send that resumes at i. */
  readonly hdrsFrom: readonly Uint8Array[];
  /** The run headers (after packRuns) for sendmmsg. */
  readonly runHdrs: Uint8Array;
  readonly #h: DataView;
  readonly #iov: DataView;
  readonly #runs: DataView;
  readonly #cmsgs: DataView;
  /** Addresses made once (a run header points into the rings without a BigInt per send). */
  readonly #iovAt: bigint[] = [];
  readonly #nameAt: bigint[] = [];
  readonly #slotAt: bigint[] = [];
  readonly #cmsgAt: bigint[] = [];
  readonly #count: bigint[] = [0n];
  /** #runEnd[r]: the slot after run r of the last packRuns. */
  readonly #runEnd: Int32Array;
  readonly #ptrs: unknown[];
  #freed = false;

  constructor(slots: number, slotSize: number) {
    this.slots = slots;
    this.slotSize = slotSize;
    const data = nativeBytes(slots * slotSize);
    const hdrs = nativeBytes(slots * MMSGHDR);
    const iovs = nativeBytes(slots * IOVEC);
    const names = nativeBytes(slots * SOCKADDR_MAX);
    const runs = nativeBytes(slots * MMSGHDR);
    const cmsgs = nativeBytes(slots * CMSG_GSO);
    this.#ptrs = [data.ptr, hdrs.ptr, iovs.ptr, names.ptr, runs.ptr, cmsgs.ptr];
    this.#h = dataView(hdrs.bytes);
    this.#iov = dataView(iovs.bytes);
    this.#runs = dataView(runs.bytes);
    this.#cmsgs = dataView(cmsgs.bytes);
    this.runHdrs = runs.bytes;
    this.#runEnd = new Int32Array(slots);
    const views: Uint8Array[] = [];
    const nameViews: Uint8Array[] = [];
    const from: Uint8Array[] = [];
    for (let i = 0; i < slots; i++) {
      views.push(data.bytes.subarray(i * slotSize, (i + 1) * slotSize));
      nameViews.push(names.bytes.subarray(i * SOCKADDR_MAX, (i + 1) * SOCKADDR_MAX));
      from.push(hdrs.bytes.subarray(i * MMSGHDR));
      this.#iov.setBigUint64(i * IOVEC, data.address + BigInt(i * slotSize), true);
      this.#iov.setBigUint64(i * IOVEC + 8, BigInt(slotSize), true);
      const h = i * MMSGHDR;
      this.#h.setBigUint64(h + MSG_NAME, names.address + BigInt(i * SOCKADDR_MAX), true);
      this.#h.setUint32(h + MSG_NAMELEN, SOCKADDR_MAX, true);
      this.#h.setBigUint64(h + MSG_IOV, iovs.address + BigInt(i * IOVEC), true);
      this.#h.setBigUint64(h + MSG_IOVLEN, 1n, true);
      this.#iovAt.push(iovs.address + BigInt(i * IOVEC));
      this.#nameAt.push(names.address + BigInt(i * SOCKADDR_MAX));
      this.#slotAt.push(data.address + BigInt(i * slotSize));
      this.#cmsgAt.push(cmsgs.address + BigInt(i * CMSG_GSO));
      this.#count.push(BigInt(i + 1));
      this.#cmsgs.setBigUint64(i * CMSG_GSO, BigInt(CMSG_GSO_LEN), true);
      this.#cmsgs.setInt32(i * CMSG_GSO + 8, SOL_UDP, true);
      this.#cmsgs.setInt32(i * CMSG_GSO + 12, UDP_SEGMENT, true);
    }
    this.views = views;
    this.names = nameViews;
    this.hdrsFrom = from;
  }

  /** Before a recvmmsg of `n` slots: full-size buffers, room for any source address. */
  armReceive(n: number): void {
    for (let i = 0; i < n; i++) {
      this.#iov.setUint32(i * IOVEC + 8, this.slotSize, true);
      this.#h.setUint32(i * MMSGHDR + MSG_NAMELEN, SOCKADDR_MAX, true);
    }
  }

  /** Bytes received into slot i (msg_len). */
  received(i: number): number {
    return this.#h.getUint32(i * MMSGHDR + MSG_LEN, true);
  }

  /** The datagram in slot i was cut (it did not fit the slot). */
  truncated(i: number): boolean {
    return (this.#h.getInt32(i * MMSGHDR + MSG_FLAGS, true) & MSG_TRUNC) !== 0;
  }

  /** Slot i holds a datagram of `len` bytes to send; to `name` (a sockaddr) or, with none, the connected peer. */
  setSend(i: number, len: number, nameLen: number): void {
    this.#iov.setUint32(i * IOVEC + 8, len, true);
    this.#h.setUint32(i * MMSGHDR + MSG_NAMELEN, nameLen, true); // 0: the kernel ignores msg_name
  }

  /**
   * Groups the sealed slots [from, to) into runs for a GSO send: a run is consecutive datagrams
   * of one size, the last may be shorter, within the kernel's segment and byte limits; a run of
   * one is a plain datagram (no cmsg). Writes a header per run into runHdrs; returns how many.
   */
  packRuns(from: number, to: number): number {
    const iov = this.#iov;
    const runs = this.#runs;
    let r = 0;
    for (let i = from; i < to; r++) {
      const size = iov.getUint32(i * IOVEC + 8, true);
      const most = Math.min(GSO_MAX_SEGMENTS, Math.floor(GSO_MAX_BYTES / size));
      let end = i + 1;
      while (end < to && end - i < most) {
        const len = iov.getUint32(end * IOVEC + 8, true);
        if (len > size) break;
        end++;
        if (len < size) break;
      }
      const h = r * MMSGHDR;
      runs.setBigUint64(h + MSG_NAME, this.#nameAt[i] as bigint, true);
      runs.setUint32(h + MSG_NAMELEN, this.#h.getUint32(i * MMSGHDR + MSG_NAMELEN, true), true);
      runs.setBigUint64(h + MSG_IOV, this.#iovAt[i] as bigint, true);
      runs.setBigUint64(h + MSG_IOVLEN, this.#count[end - i] as bigint, true);
      if (end - i > 1) {
        this.#cmsgs.setUint16(r * CMSG_GSO + 16, size, true);
        runs.setBigUint64(h + MSG_CONTROL, this.#cmsgAt[r] as bigint, true);
        runs.setBigUint64(h + MSG_CONTROLLEN, CMSG_GSO_SPACE, true);
      } else {
        runs.setBigUint64(h + MSG_CONTROLLEN, 0n, true);
      }
      this.#runEnd[r] = end;
      i = end;
    }
    return r;
  }

  /** TCP: slot i holds a frame of `len` bytes from its start (the u16 length, then the packet). */
  setFrame(i: number, len: number): void {
    this.#iov.setBigUint64(i * IOVEC, this.#slotAt[i] as bigint, true);
    this.#iov.setUint32(i * IOVEC + 8, len, true);
  }

  /** Bytes slot i still has to send (its iovec's length). */
  pending(i: number): number {
    return this.#iov.getUint32(i * IOVEC + 8, true);
  }

  /** TCP: the kernel took the first `n` bytes of what slot i still has to send (a short write). */
  consumed(i: number, n: number): void {
    const at = i * IOVEC;
    this.#iov.setBigUint64(at, this.#iov.getBigUint64(at, true) + BigInt(n), true);
    this.#iov.setUint32(at + 8, this.#iov.getUint32(at + 8, true) - n, true);
  }

  /** TCP: runHdrs[0] becomes one message over slots [from, to), for a sendmmsg of one header. */
  packStream(from: number, to: number): void {
    const runs = this.#runs;
    runs.setBigUint64(MSG_NAME, 0n, true);
    runs.setUint32(MSG_NAMELEN, 0, true);
    runs.setBigUint64(MSG_IOV, this.#iovAt[from] as bigint, true);
    runs.setBigUint64(MSG_IOVLEN, this.#count[to - from] as bigint, true);
    runs.setBigUint64(MSG_CONTROLLEN, 0n, true);
  }

  /** Bytes the kernel took of the packStream message (its msg_len). */
  streamSent(): number {
    return this.#runs.getUint32(MSG_LEN, true);
  }

  /** The slot after run r of the last packRuns. */
  runEnd(r: number): number {
    return this.#runEnd[r] as number;
  }

  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    for (const p of this.#ptrs) koffi.free(p);
  }
}
