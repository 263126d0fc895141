/**
 * The receiving end of a unix datagram socket, for tests that play systemd's NOTIFY_SOCKET or
 * syslog's /dev/log: bound to a path (koffi; Node has no unix datagrams), drained into
 * `messages` every 20 ms until close().
 */
import assert from 'node:assert/strict';
import { errno, lib } from '../../src/platform/libc.ts';
import { sockaddrUn } from '../../src/platform/unix-datagram.ts';

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;

export interface DatagramListener {
  readonly messages: string[];
  /** Reads what is queued now (also done by the timer). */
  drain(): void;
  close(): void;
}

export function listenUnixDatagrams(path: string): DatagramListener {
  const c = lib();
  const fd = c.socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  assert.ok(fd >= 0, `socket: errno ${errno()}`);
  const sa = sockaddrUn(path);
  assert.ok(sa !== undefined, `${path} is too long for a unix socket`);
  assert.equal(c.bind(fd, sa.addr, sa.len), 0, `bind ${path}: errno ${errno()}`);
  const messages: string[] = [];
  const buf = new Uint8Array(65536);
  const drain = (): void => {
    for (let n = c.read(fd, buf, buf.byteLength); n > 0; n = c.read(fd, buf, buf.byteLength)) messages.push(new TextDecoder().decode(buf.subarray(0, n)));
  };
  const timer = setInterval(drain, 20);
  return {
    messages,
    drain,
    close: () => {
      clearInterval(timer);
      drain();
      c.close(fd);
    },
  };
}
