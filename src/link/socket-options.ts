/**
 * Socket options Node cannot set itself, through libc via koffi: `mark` (SO_MARK), `bind-dev`
 * (SO_BINDTODEVICE), `mtu-disc` (IP_MTU_DISCOVER / IPV6_MTU_DISCOVER) and `sndbuf`/`rcvbuf`
 * (SO_SNDBUF/SO_RCVBUF, as OpenVPN sets them). They must be on the socket before its first
 * packet (a TCP SYN must carry the mark), so the socket is made here and handed to Node:
 *
 *   UDP: socket -> options -> bind(local) -> dgram bind({ fd })
 *   TCP: socket(non-blocking) -> options -> [bind(local)] -> connect -> poll(POLLOUT, sliced,
 *        bounded by connect-timeout) -> SO_ERROR -> new net.Socket({ fd })
 *
 * Linux only; the constants are the generic ones (x86, arm, riscv). Never: block the event
 * loop (the poll runs on a libuv worker, in slices of at most 250 ms), leak an fd on failure.
 */
import { AF_INET, AF_INET6, errno as lastErrno, lib, O_CLOEXEC, O_NONBLOCK, SOCK_DGRAM, SOCK_STREAM } from '../platform/libc.ts';
import { decodeSockaddr, encodeSockaddr, SOCKADDR_IN, SOCKADDR_IN6 } from '../base/sockaddr.ts';
import { batchIo } from '../platform/batch-io.ts';
import { OsError } from '../base/errors.ts';
import type { Endpoint } from './link.ts';

export interface SocketOptions {
  /** `mark N`: fwmark for policy routing. */
  readonly mark?: number | undefined;
  /** `bind-dev DEV`: send and receive only through this device (a VRF, usually). */
  readonly bindDev?: string | undefined;
  readonly sndbuf?: number | undefined;
  readonly rcvbuf?: number | undefined;
  /** `mtu-disc`: no (never set DF), maybe (per route), yes (always DF). */
  readonly mtuDisc?: 'no' | 'maybe' | 'yes' | undefined;
}

export function hasSocketOptions(o: SocketOptions | undefined): boolean {
  return o !== undefined && (o.mark !== undefined || o.bindDev !== undefined || o.sndbuf !== undefined || o.rcvbuf !== undefined || o.mtuDisc !== undefined);
}

/** What --check and the log say about them (nothing secret). */
export function describeSocketOptions(o: SocketOptions): string[] {
  const out: string[] = [];
  if (o.sndbuf !== undefined) out.push(`sndbuf ${o.sndbuf}`);
  if (o.rcvbuf !== undefined) out.push(`rcvbuf ${o.rcvbuf}`);
  if (o.mark !== undefined) out.push(`mark ${o.mark}`);
  if (o.bindDev !== undefined) out.push(`bind-dev ${o.bindDev}`);
  if (o.mtuDisc !== undefined) out.push(`mtu-disc ${o.mtuDisc}`);
  return out;
}

// sys/socket.h, netinet/in.h, linux/in.h, linux/in6.h, asm-generic/socket.h, errno.h
const SOCK_NONBLOCK = O_NONBLOCK;
const SOCK_CLOEXEC = O_CLOEXEC;
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_ERROR = 4;
const SO_BINDTODEVICE = 25;
const SO_MARK = 36;
const IPPROTO_IP = 0;
const IPPROTO_IPV6 = 41;
const IP_MTU_DISCOVER = 10;
const IPV6_MTU_DISCOVER = 23;
const PMTUDISC: Readonly<Record<'no' | 'maybe' | 'yes', number>> = { no: 0, maybe: 1, yes: 2 };
const POLLOUT = 0x0004;
const EINPROGRESS = 115;
const POLL_SLICE_MS = 250;

const ERRNO: Readonly<Record<number, string>> = {
  1: 'EPERM', 13: 'EACCES', 19: 'ENODEV', 22: 'EINVAL', 98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL', 101: 'ENETUNREACH',
  104: 'ECONNRESET', 110: 'ETIMEDOUT', 111: 'ECONNREFUSED', 113: 'EHOSTUNREACH',
};

function sysError(what: string, errno: number): OsError {
  const name = ERRNO[errno] ?? `errno ${errno}`;
  const cause = Object.assign(new Error(`${name}: ${lib().strerror(errno)}`), { code: name, errno });
  return new OsError('SOCKET', `${what}: ${cause.message}`, { cause });
}

function int(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, v, true);
  return b;
}

/** sockaddr_in / sockaddr_in6 for an address literal and port. */
export const sockaddr = encodeSockaddr;

function set(fd: number, level: number, name: number, val: Uint8Array, what: string): void {
  if (lib().setsockopt(fd, level, name, val, val.byteLength) < 0) throw sysError(what, lastErrno());
}

/** Applies the options to an open socket (before bind/connect). */
export function applySocketOptions(fd: number, family: 4 | 6, o: SocketOptions): void {
  if (o.sndbuf !== undefined) set(fd, SOL_SOCKET, SO_SNDBUF, int(o.sndbuf), `sndbuf ${o.sndbuf}`);
  if (o.rcvbuf !== undefined) set(fd, SOL_SOCKET, SO_RCVBUF, int(o.rcvbuf), `rcvbuf ${o.rcvbuf}`);
  if (o.mark !== undefined) set(fd, SOL_SOCKET, SO_MARK, int(o.mark), `mark ${o.mark} (SO_MARK needs CAP_NET_ADMIN)`);
  if (o.bindDev !== undefined) {
    const name = new TextEncoder().encode(`${o.bindDev}\0`);
    set(fd, SOL_SOCKET, SO_BINDTODEVICE, name, `bind-dev ${o.bindDev} (is there such a device?)`);
  }
  if (o.mtuDisc !== undefined) {
    const v = int(PMTUDISC[o.mtuDisc]);
    if (family === 4) set(fd, IPPROTO_IP, IP_MTU_DISCOVER, v, `mtu-disc ${o.mtuDisc}`);
    else set(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, v, `mtu-disc ${o.mtuDisc}`);
  }
}

type Local = { readonly address?: string | undefined; readonly port?: number | undefined } | undefined;

function openWith(type: number, family: 4 | 6, o: SocketOptions, local: Local): number {
  const c = lib();
  const fd = c.socket(family === 4 ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sysError('cannot create a socket', lastErrno());
  try {
    applySocketOptions(fd, family, o);
    if (local !== undefined) {
      const any = family === 4 ? '0.0.0.0' : '::';
      const addr = sockaddr(local.address ?? any, local.port ?? 0, family);
      if (c.bind(fd, addr, addr.byteLength) < 0) throw sysError(`cannot bind to ${local.address ?? any}:${local.port ?? 0}`, lastErrno());
    }
    return fd;
  } catch (e) {
    c.close(fd);
    throw e;
  }
}

/** A UDP socket with the options set and bound (to `local`, or any address and an ephemeral port), for dgram's bind({ fd }). */
export function openUdpSocket(family: 4 | 6, o: SocketOptions, local: Local): number {
  return openWith(SOCK_DGRAM, family, o, local ?? {});
}

/** The address and port a socket is bound to (getsockname); port 0 while it has none. */
export function localEndpoint(fd: number): Endpoint | undefined {
  const addr = new Uint8Array(SOCKADDR_IN6);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, addr.byteLength, true);
  return batchIo().getsockname(fd, addr, len) < 0 ? undefined : decodeSockaddr(addr);
}

/** The descriptor under a node:net or node:dgram socket (Node keeps it on its internal handle). */
export function descriptorOf(sock: object): number | undefined {
  const fd = (sock as { _handle?: { fd?: number } })._handle?.fd;
  return fd === undefined || fd < 0 ? undefined : fd;
}

/** A connected node:net socket's own address, when the OS gave it one (for status reports). */
export function localOfSocket(sock: { localAddress?: string | undefined; localPort?: number | undefined; localFamily?: string | undefined }): Endpoint | undefined {
  if (sock.localAddress === undefined || sock.localPort === undefined) return undefined;
  return { address: sock.localAddress, port: sock.localPort, family: sock.localFamily === 'IPv6' ? 6 : 4 };
}

/**
 * Takes a connected node:net socket's connection away from Node: its reading stops, the bytes
 * Node already read are returned, a close-on-exec duplicate of its descriptor is made, and the
 * socket is destroyed (libuv closes its own descriptor, without shutdown: the connection lives on
 * in the duplicate). The caller owns the returned fd. Call it synchronously after the socket's
 * last event, so nothing arrives in between.
 */
export function detachDescriptor(sock: { pause(): unknown; read(): unknown; destroy(): unknown; _handle?: unknown }): { fd: number; buffered: Uint8Array } {
  const fd = descriptorOf(sock);
  if (fd === undefined) throw new OsError('SOCKET', 'the TCP socket has no file descriptor');
  sock.pause();
  (sock._handle as { readStop?: () => number } | undefined)?.readStop?.();
  const chunk = sock.read() as Uint8Array | null;
  const own = lib().dupCloexec(fd);
  if (own < 0) throw new OsError('SOCKET', `cannot take over the TCP socket: errno ${lastErrno()}`);
  sock.destroy();
  return { fd: own, buffered: chunk === null ? new Uint8Array(0) : new Uint8Array(chunk) };
}

/**
 * Connects a connected UDP socket anew, so the kernel picks the source address of the route the
 * remote has now (roaming). Dissolving the association (AF_UNSPEC) also makes the kernel let go
 * of SO_BINDTODEVICE and of an ephemeral port: both are taken back, so the server sees the same
 * port (bound explicitly now, the port survives the next time too). Returns the port when it
 * could not be kept (another socket took it; the kernel picks a new one).
 */
export function reconnectUdpSocket(fd: number, remote: Uint8Array, family: 4 | 6, o: SocketOptions): number | undefined {
  const c = lib();
  const port = localEndpoint(fd)?.port ?? 0;
  const unspec = new Uint8Array(SOCKADDR_IN);
  c.connect(fd, unspec, unspec.byteLength);
  if (o.bindDev !== undefined) applySocketOptions(fd, family, { bindDev: o.bindDev });
  let lost: number | undefined;
  if (port !== 0 && (localEndpoint(fd)?.port ?? 0) === 0) {
    const any = encodeSockaddr(family === 4 ? '0.0.0.0' : '::', port, family);
    if (c.bind(fd, any, any.byteLength) < 0) lost = port;
  }
  if (c.connect(fd, remote, remote.byteLength) < 0) throw sysError('cannot reconnect the UDP socket', lastErrno());
  return lost;
}

/** A connected TCP socket with the options set before the SYN, for new net.Socket({ fd }). */
export async function connectTcpSocket(remote: Endpoint, o: SocketOptions, local: Local, timeoutMs: number): Promise<number> {
  const c = lib();
  const fd = openWith(SOCK_STREAM | SOCK_NONBLOCK, remote.family, o, local);
  try {
    const addr = sockaddr(remote.address, remote.port, remote.family);
    if (c.connect(fd, addr, addr.byteLength) < 0) {
      const errno = lastErrno();
      if (errno !== EINPROGRESS) throw sysError(`connect to ${remote.address}:${remote.port}`, errno);
      await waitWritable(fd, timeoutMs, `${remote.address}:${remote.port}`);
    }
    const err = new Uint8Array(4);
    const len = int(4);
    if (c.getsockopt(fd, SOL_SOCKET, SO_ERROR, err, len) < 0) throw sysError('getsockopt(SO_ERROR)', lastErrno());
    const soError = new DataView(err.buffer).getInt32(0, true);
    if (soError !== 0) throw sysError(`connect to ${remote.address}:${remote.port}`, soError);
    return fd;
  } catch (e) {
    c.close(fd);
    throw e;
  }
}

async function waitWritable(fd: number, timeoutMs: number, what: string): Promise<void> {
  const pfd = new Uint8Array(8);
  const v = new DataView(pfd.buffer);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new OsError('SOCKET', `connect to ${what} timed out`);
    v.setInt32(0, fd, true);
    v.setInt16(4, POLLOUT, true);
    v.setInt16(6, 0, true);
    const n = await new Promise<number>((resolve, reject) => {
      lib().poll.async(pfd, 1, Math.min(POLL_SLICE_MS, left), (err, res) => (err === null || err === undefined ? resolve(res) : reject(err as Error)));
    });
    if (n > 0) return;
  }
}
