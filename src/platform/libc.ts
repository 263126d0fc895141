/**
 * The few libc calls the Linux adapters make through koffi (the TUN device, socket options),
 * bound once on first use. Only declarations: what each call means belongs to its caller.
 * Never: call anything here on the hot path that allocates, or from the pure modules.
 */
import koffi from 'koffi';

export interface Libc {
  open(path: string, flags: number): number;
  ioctl(fd: number, req: number, arg: Uint8Array): number;
  read(fd: number, buf: Uint8Array, n: number): number;
  write(fd: number, buf: Uint8Array, n: number): number;
  close(fd: number): number;
  /** A second descriptor for fd's open file, close-on-exec (fcntl F_DUPFD_CLOEXEC). */
  dupCloexec(fd: number): number;
  eventfd(init: number, flags: number): number;
  socket(domain: number, type: number, proto: number): number;
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  connect(fd: number, addr: Uint8Array, len: number): number;
  poll: { async(fds: Uint8Array, n: number, timeout: number, cb: (err: unknown, res: number) => void): void };
  strerror(errnum: number): string;
}

// Constants more than one adapter passes to these calls (x86-64/aarch64 Linux values).
// sys/socket.h, asm-generic/fcntl.h: address families, socket types and open flags.
export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

/** fcntl.h */
const F_DUPFD_CLOEXEC = 1030;

let libc: Libc | undefined;

export function lib(): Libc {
  if (libc !== undefined) return libc;
  const c = koffi.load('libc.so.6');
  libc = {
    open: c.func('int open(const char *path, int flags)'),
    ioctl: c.func('int ioctl(int fd, unsigned long req, void *arg)'),
    read: c.func('long read(int fd, void *buf, size_t n)'),
    write: c.func('long write(int fd, const void *buf, size_t n)'),
    close: c.func('int close(int fd)'),
    dupCloexec: (() => {
      const fcntl = c.func('int fcntl(int fd, int cmd, ...)');
      return (fd: number): number => fcntl(fd, F_DUPFD_CLOEXEC, 'int', 0) as number;
    })(),
    eventfd: c.func('int eventfd(unsigned int init, int flags)'),
    socket: c.func('int socket(int domain, int type, int protocol)'),
    setsockopt: c.func('int setsockopt(int fd, int level, int name, const void *val, uint32_t len)'),
    getsockopt: c.func('int getsockopt(int fd, int level, int name, void *val, void *len)'),
    bind: c.func('int bind(int fd, const void *addr, uint32_t len)'),
    connect: c.func('int connect(int fd, const void *addr, uint32_t len)'),
    poll: c.func('int poll(void *fds, unsigned long n, int timeout)'),
    strerror: c.func('const char *strerror(int errnum)'),
  };
  return libc;
}

/** malloc.h: mallopt's parameter for the most arenas glibc's malloc makes. */
const M_ARENA_MAX = -8;

/**
 * Caps glibc's malloc arenas for threads that start from now on (the data-plane worker, V8's
 * and libuv's helpers): each arena holds its own free memory, which adds megabytes of RSS
 * under load for no gain here (docs/benchmarks.md, Memory). A libc without mallopt is left alone.
 */
export function limitMallocArenas(max: number): void {
  try {
    koffi.load('libc.so.6').func('int mallopt(int param, int value)')(M_ARENA_MAX, max);
  } catch {
    // not glibc: its allocator keeps its own defaults
  }
}

/** errno of the last failed call on this thread. */
export function errno(): number {
  return koffi.errno();
}
