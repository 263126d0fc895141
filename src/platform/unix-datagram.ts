/**
 * A connected AF_UNIX datagram socket through koffi (Node's dgram has no unix datagrams), for
 * sd_notify(3) ($NOTIFY_SOCKET: a path, or an abstract name written with a leading '@') and
 * syslog (/dev/log). No native module.
 *
 * Non-blocking: a full receive queue drops the message. Never: block, or throw at the caller.
 */
import { errno, lib } from './libc.ts';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
/** sizeof(sockaddr_un.sun_path) */
const SUN_PATH = 108;

/** sockaddr_un for a path, or for an abstract name ('@name' → "\0name"); undefined if too long. */
export function sockaddrUn(name: string): { addr: Uint8Array; len: number } | undefined {
  const abstract = name.startsWith('@');
  const path = new TextEncoder().encode(abstract ? name.slice(1) : name);
  const pathLen = path.byteLength + 1; // abstract: the leading NUL; path: the trailing NUL
  if (pathLen > SUN_PATH) return undefined;
  const addr = new Uint8Array(2 + SUN_PATH);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(path, abstract ? 3 : 2);
  // abstract names count exactly their bytes (no trailing NUL), as sd_notify does
  return { addr, len: 2 + pathLen };
}

export class UnixDatagramSocket {
  #fd: number;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Connects to a socket path or @abstract name; undefined when unset or unusable (the reason in `why`). */
  static open(socketName: string | undefined, why?: (msg: string) => void): UnixDatagramSocket | undefined {
    if (socketName === undefined || socketName === '') return undefined;
    if (!socketName.startsWith('/') && !socketName.startsWith('@')) {
      why?.(`${socketName}: only unix socket paths and @abstract names are supported`);
      return undefined;
    }
    const sa = sockaddrUn(socketName);
    if (sa === undefined) {
      why?.(`${socketName}: longer than a unix socket name may be`);
      return undefined;
    }
    const c = lib();
    const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      why?.(`socket(AF_UNIX, SOCK_DGRAM): ${c.strerror(errno())}`);
      return undefined;
    }
    if (c.connect(fd, sa.addr, sa.len) !== 0) {
      why?.(`connect(${socketName}): ${c.strerror(errno())}`);
      c.close(fd);
      return undefined;
    }
    return new UnixDatagramSocket(fd);
  }

  /** Sends one datagram; false when the kernel refused it (queue full, listener gone). */
  send(fields: string): boolean {
    if (this.#fd < 0) return false;
    const bytes = new TextEncoder().encode(fields);
    return lib().write(this.#fd, bytes, bytes.byteLength) === bytes.byteLength;
  }

  close(): void {
    if (this.#fd >= 0) lib().close(this.#fd);
    this.#fd = -1;
  }
}
