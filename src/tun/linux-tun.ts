/**
 * Linux TUN adapter through koffi: open /dev/net/tun, TUNSETIFF(IFF_TUN | IFF_NO_PI [| IFF_VNET_HDR]), then
 *
 *   waitReadable(cb): koffi async poll([tun fd, eventfd], POLL_TIMEOUT_MS) on a libuv worker
 *                     -> tun readable: cb()   | timeout: poll again   | eventfd: closing, stop
 *   readInto(buf):    non-blocking read(2) straight into the caller's buffer; EAGAIN -> 0
 *   write(buf, len):  write(2) of one packet
 *   vnetHdr:          every packet on the fd has a virtio_net_hdr first (the data-plane worker
 *                     writes TCP super-packets through it: dataplane/tcp-coalesce.ts); readInto
 *                     and write go through a buffer of their own then and hide it (no offload is
 *                     turned on, so what the kernel hands over is one plain packet each time)
 *   close():          signals the eventfd so a pending poll returns at once, then closes the fds
 *                     (only after the poll has returned, so the fd number is never reused under it)
 *
 * ARCHITECTURE.md measured this (poll + drain 545-653k pps; fs.read 46-83k). The device is not
 * persistent: it disappears, with its addresses and routes, when the fd is closed.
 * Never: allocate per packet, throw per packet (count in `errors`), log, configure addresses.
 * The ioctl numbers are the asm-generic _IOW encoding (x86, arm, riscv), not mips/powerpc/sparc.
 */
import { AF_INET, errno as lastErrno, lib, O_CLOEXEC, O_NONBLOCK, SOCK_DGRAM, type Libc } from '../platform/libc.ts';
import { OsError } from '../base/errors.ts';
import { IFNAMSIZ, tunRequestName, VNET_HDR_LEN, type TunDevice } from './device.ts';

// linux/if_tun.h
const TUNSETIFF = 0x400454ca; // _IOW('T', 202, int)
// linux/sockios.h: set the transmit queue length (ifreq.ifr_qlen, an int after the name)
const SIOCSIFTXQLEN = 0x8943;
const IFF_TUN = 0x0001;
const IFF_NO_PI = 0x1000;
const IFF_VNET_HDR = 0x4000;
const PACKET_MAX = 65536;
// asm-generic/fcntl.h, sys/eventfd.h, poll.h
const O_RDWR = 0o2;
const EFD_NONBLOCK = O_NONBLOCK;
const EFD_CLOEXEC = O_CLOEXEC;
const POLLIN = 0x0001;
const EAGAIN = 11;
const EINTR = 4;
/** sizeof(struct ifreq) on 64-bit Linux. */
const IFREQ_SIZE = 40;
/** sizeof(struct pollfd). */
const POLLFD_SIZE = 8;
/** Upper bound on one poll so that a lost wake-up can never park a libuv worker for long. */
const POLL_TIMEOUT_MS = 1000;

const TUN_PATH = '/dev/net/tun';

const ERRNO_NAMES: Readonly<Record<number, string>> = { 1: 'EPERM', 2: 'ENOENT', 6: 'ENXIO', 13: 'EACCES', 16: 'EBUSY', 19: 'ENODEV', 22: 'EINVAL' };

function openError(step: string, errno: number, name: string): OsError {
  const c = lib();
  const sys = `${ERRNO_NAMES[errno] ?? `errno ${errno}`}: ${c.strerror(errno)}`;
  const cause = Object.assign(new Error(sys), { code: ERRNO_NAMES[errno] ?? String(errno) });
  const what = name === '' ? 'a tun device' : `tun device ${name}`;
  let hint: string;
  if (errno === 1 || errno === 13) {
    hint = 'needs CAP_NET_ADMIN: run as root, or in a container add --cap-add NET_ADMIN --device /dev/net/tun';
  } else if (errno === 2 || errno === 6 || errno === 19) {
    hint = `${TUN_PATH} is missing: load the tun module (modprobe tun), or in a container add --device /dev/net/tun`;
  } else if (errno === 16) {
    hint = `${name} is busy: another process (another VPN?) holds it, or it exists and is not a tun device`;
  } else {
    hint = sys;
  }
  return new OsError('TUN_OPEN', `cannot open ${what} (${step}): ${hint}`, { cause });
}

export interface LinuxTunOptions {
  /** `dev` as configured: `tun`, `tunN`, or any name with devType 'tun'. */
  readonly dev: string;
  readonly devType?: string;
  readonly mtu: number;
  /** `txqueuelen`: the device's transmit queue length; the kernel default when undefined. */
  readonly txqueuelen?: number | undefined;
  /** Open with IFF_VNET_HDR (for the data-plane worker's TCP coalescing). */
  readonly vnetHdr?: boolean;
}

/** Opens (creates) the TUN device. Throws OsError('TUN_OPEN') with the fix in the message. */
export function openLinuxTun(opts: LinuxTunOptions): LinuxTun {
  const req = tunRequestName(opts.dev, opts.devType);
  if ('error' in req) throw new OsError('TUN_OPEN', req.error);
  const c = lib();
  const fd = c.open(TUN_PATH, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) throw openError(`open ${TUN_PATH}`, lastErrno(), req.name);
  const ifr = new Uint8Array(IFREQ_SIZE);
  ifr.set(new TextEncoder().encode(req.name).subarray(0, IFNAMSIZ - 1));
  new DataView(ifr.buffer).setUint16(IFNAMSIZ, IFF_TUN | IFF_NO_PI | (opts.vnetHdr === true ? IFF_VNET_HDR : 0), true);
  if (c.ioctl(fd, TUNSETIFF, ifr) < 0) {
    const errno = lastErrno();
    c.close(fd);
    throw openError('TUNSETIFF', errno, req.name);
  }
  const end = ifr.indexOf(0);
  const name = new TextDecoder().decode(ifr.subarray(0, end < 0 || end > IFNAMSIZ ? IFNAMSIZ : end));
  if (opts.txqueuelen !== undefined) setTxQueueLen(c, fd, name, opts.txqueuelen);
  const efd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd < 0) {
    const errno = lastErrno();
    c.close(fd);
    throw openError('eventfd', errno, name);
  }
  return new LinuxTun(c, fd, efd, name, opts.mtu, opts.vnetHdr === true);
}

/** tun.c open_tun (Linux): SIOCSIFTXQLEN through any socket; on failure the tun fd is closed too. */
function setTxQueueLen(c: Libc, fd: number, name: string, qlen: number): void {
  const sock = c.socket(AF_INET, SOCK_DGRAM | O_CLOEXEC, 0);
  const ifr = new Uint8Array(IFREQ_SIZE);
  ifr.set(new TextEncoder().encode(name).subarray(0, IFNAMSIZ - 1));
  new DataView(ifr.buffer).setInt32(IFNAMSIZ, qlen, true);
  const ok = sock >= 0 && c.ioctl(sock, SIOCSIFTXQLEN, ifr) >= 0;
  const errno = ok ? 0 : lastErrno();
  if (sock >= 0) c.close(sock);
  if (!ok) {
    c.close(fd);
    throw openError(`txqueuelen ${qlen}`, errno, name);
  }
}

export class LinuxTun implements TunDevice {
  readonly name: string;
  readonly mtu: number;
  readonly #c: Libc;
  readonly #fd: number;
  readonly #efd: number;
  /** Two struct pollfd: [tun fd, POLLIN], [eventfd, POLLIN]; kept alive while a poll is in flight. */
  readonly #pollfds = new Uint8Array(2 * POLLFD_SIZE);
  readonly #one = new Uint8Array(8);
  #waiter: (() => void) | undefined;
  #polling = false;
  #closed = false;
  #fdsClosed = false;
  #errors = 0;
  readonly vnetHdr: boolean;
  /** With vnetHdr: a packet behind its (zero) header, for readInto and write. */
  readonly #framed: Uint8Array | undefined;

  constructor(c: Libc, fd: number, efd: number, name: string, mtu: number, vnetHdr = false) {
    this.vnetHdr = vnetHdr;
    this.#framed = vnetHdr ? new Uint8Array(VNET_HDR_LEN + PACKET_MAX) : undefined;
    this.#c = c;
    this.#fd = fd;
    this.#efd = efd;
    this.name = name;
    this.mtu = mtu;
    const v = new DataView(this.#pollfds.buffer);
    v.setInt32(0, fd, true);
    v.setInt16(4, POLLIN, true);
    v.setInt32(POLLFD_SIZE, efd, true);
    v.setInt16(POLLFD_SIZE + 4, POLLIN, true);
    new DataView(this.#one.buffer).setBigUint64(0, 1n, true);
  }

  get errors(): number {
    return this.#errors;
  }

  get fd(): number {
    return this.#fd;
  }

  readInto(buf: Uint8Array): number {
    if (this.#closed) return 0;
    const f = this.#framed;
    if (f !== undefined) {
      const n = this.#c.read(this.#fd, f, Math.min(f.length, VNET_HDR_LEN + buf.length));
      if (n >= VNET_HDR_LEN) {
        buf.set(f.subarray(VNET_HDR_LEN, n));
        return n - VNET_HDR_LEN;
      }
      if (n >= 0) return 0;
    } else {
      const n = this.#c.read(this.#fd, buf, buf.length);
      if (n >= 0) return n;
    }
    const errno = lastErrno();
    if (errno !== EAGAIN && errno !== EINTR) this.#errors++;
    return 0;
  }

  write(buf: Uint8Array, len: number): number {
    if (this.#closed || len > buf.length || len <= 0) {
      this.#errors++;
      return 0;
    }
    const f = this.#framed;
    if (f !== undefined) {
      if (len > PACKET_MAX) {
        this.#errors++;
        return 0;
      }
      f.set(buf.subarray(0, len), VNET_HDR_LEN); // the header stays zero: a plain packet
      if (this.#c.write(this.#fd, f, VNET_HDR_LEN + len) === VNET_HDR_LEN + len) return len;
      this.#errors++;
      return 0;
    }
    const n = this.#c.write(this.#fd, len === buf.length ? buf : buf.subarray(0, len), len);
    if (n === len) return n;
    this.#errors++;
    return 0;
  }

  waitReadable(cb: () => void): void {
    if (this.#closed) return;
    this.#waiter = cb;
    if (!this.#polling) this.#poll();
  }

  #poll(): void {
    this.#polling = true;
    this.#c.poll.async(this.#pollfds, 2, POLL_TIMEOUT_MS, (err, res) => {
      this.#polling = false;
      if (this.#closed) {
        this.#closeFds();
        return;
      }
      if (err !== null && err !== undefined) this.#errors++;
      // The eventfd only fires on close(), handled above: any other event is the tun fd.
      if (!(res > 0)) {
        this.#poll(); // timeout (or EINTR): keep waiting
        return;
      }
      const cb = this.#waiter;
      this.#waiter = undefined;
      cb?.();
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiter = undefined;
    if (this.#polling) this.#c.write(this.#efd, this.#one, 8); // the poll callback closes the fds
    else this.#closeFds();
  }

  #closeFds(): void {
    if (this.#fdsClosed) return;
    this.#fdsClosed = true;
    this.#c.close(this.#fd);
    this.#c.close(this.#efd);
  }
}
