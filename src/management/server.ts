/**
 * The management interface's socket: `management IP PORT` (TCP) or `management PATH unix`,
 * serving one client at a time as OpenVPN does (later clients wait, accepted in turn). All the
 * protocol is in protocol.ts; this file only moves bytes, runs the bytecount timer and checks
 * `management-client-user` / `-group` on unix sockets (SO_PEERCRED through koffi).
 *
 *   net.Server ─accept─▶ [peer uid/gid ok?] ─▶ Management.connect(write)
 *   socket data (latin1) ─▶ Management.receive() ─ true ─▶ close ─▶ Management.disconnect()
 *
 * Never: keep a second client active, or leave the unix socket file behind on close.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { OsError } from '../base/errors.ts';
import { errno, lib } from '../platform/libc.ts';
import type { Management } from './protocol.ts';

export interface ManagementEndpoint {
  /** TCP: host and port; unix: the socket path. */
  readonly address: string;
  readonly port?: number | undefined;
  readonly unix: boolean;
  /** Only peers with this uid / gid may connect to a unix socket (management-client-user/-group). */
  readonly uid?: number | undefined;
  readonly gid?: number | undefined;
}

export interface ManagementServerEvents {
  /** One line for the process log (D_MANAGEMENT, verb 3 in ovpn-ts). */
  note(msg: string): void;
}

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

/** SO_PEERCRED of a connected unix socket: { pid, uid, gid } or undefined when unavailable. */
function peerCred(sock: Socket): { uid: number; gid: number } | undefined {
  const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) return undefined;
  const buf = new Uint8Array(12);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, 12, true);
  if (lib().getsockopt(fd, SOL_SOCKET, SO_PEERCRED, buf, len) !== 0) return undefined;
  const v = new DataView(buf.buffer);
  return { uid: v.getUint32(4, true), gid: v.getUint32(8, true) };
}

export class ManagementServer {
  readonly #mgmt: Management;
  readonly #ep: ManagementEndpoint;
  readonly #events: ManagementServerEvents;
  readonly #server: Server;
  readonly #waiting: Socket[] = [];
  #active: Socket | undefined;
  #bytecount: ReturnType<typeof setInterval> | undefined;
  #closing = false;

  private constructor(mgmt: Management, ep: ManagementEndpoint, events: ManagementServerEvents) {
    this.#mgmt = mgmt;
    this.#ep = ep;
    this.#events = events;
    this.#server = createServer({ allowHalfOpen: false }, (s) => this.#onConnection(s));
  }

  /** Listens (bound before the first connection attempt, as OpenVPN's open_management). */
  static async listen(mgmt: Management, ep: ManagementEndpoint, events: ManagementServerEvents): Promise<ManagementServer> {
    const server = new ManagementServer(mgmt, ep, events);
    if (ep.unix) rmSync(ep.address, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new OsError('OS', `management: cannot listen on ${ep.unix ? ep.address : `${ep.address}:${ep.port ?? 0}`}: ${e.message}`, { cause: e })),
      );
      if (ep.unix) server.#server.listen(ep.address, resolve);
      else server.#server.listen(ep.port ?? 0, ep.address, resolve);
    });
    const addr = server.#server.address();
    events.note(ep.unix ? `MANAGEMENT: unix domain socket listening on ${ep.address}` : `MANAGEMENT: TCP Socket listening on ${typeof addr === 'object' && addr !== null ? `[AF_INET${addr.family === 'IPv6' ? '6' : ''}]${addr.address}:${addr.port}` : ep.address}`);
    return server;
  }

  /** The port actually bound (TCP). */
  get port(): number | undefined {
    const a = this.#server.address();
    return typeof a === 'object' && a !== null ? a.port : undefined;
  }

  /** `bytecount n`: the protocol asks for a new interval (0 = off). */
  setBytecountInterval(seconds: number): void {
    if (this.#bytecount !== undefined) clearInterval(this.#bytecount);
    this.#bytecount = seconds > 0 ? setInterval(() => this.#mgmt.bytecount(), seconds * 1000) : undefined;
  }

  /** Stops listening and closes the client; writes already queued are flushed first. */
  async close(): Promise<void> {
    this.#closing = true;
    this.setBytecountInterval(0);
    for (const s of this.#waiting) s.destroy();
    this.#waiting.length = 0;
    const active = this.#active;
    if (active !== undefined) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 500);
        active.end(() => {
          clearTimeout(t);
          resolve();
        });
      });
      active.destroy();
    }
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (this.#ep.unix) rmSync(this.#ep.address, { force: true });
  }

  #onConnection(s: Socket): void {
    s.on('error', () => undefined);
    if (this.#ep.unix && !this.#peerAllowed(s)) {
      s.destroy();
      return;
    }
    if (this.#active !== undefined) {
      s.pause();
      this.#waiting.push(s);
      s.once('close', () => {
        const i = this.#waiting.indexOf(s);
        if (i >= 0) this.#waiting.splice(i, 1);
      });
      return;
    }
    this.#activate(s);
  }

  #activate(s: Socket): void {
    this.#active = s;
    s.setEncoding('latin1');
    s.setNoDelay(true);
    const remote = this.#ep.unix ? this.#ep.address : `[AF_INET${s.remoteFamily === 'IPv6' ? '6' : ''}]${s.remoteAddress ?? '?'}:${s.remotePort ?? 0}`;
    this.#events.note(`MANAGEMENT: Client connected from ${remote}`);
    let closed = false;
    const onClose = (): void => {
      if (closed) return;
      closed = true;
      this.#active = undefined;
      if (this.#closing) return;
      this.#events.note('MANAGEMENT: Client disconnected');
      this.#mgmt.disconnect();
      const next = this.#waiting.shift();
      if (next !== undefined) {
        next.resume();
        this.#activate(next);
      }
    };
    s.on('data', (chunk: string) => {
      if (closed) return;
      if (this.#mgmt.receive(chunk)) {
        s.end();
        onClose();
      }
    });
    s.once('close', onClose);
    this.#mgmt.connect((text) => {
      if (!closed) s.write(text, 'latin1');
    });
    s.resume();
  }

  #peerAllowed(s: Socket): boolean {
    const { uid, gid } = this.#ep;
    if (uid === undefined && gid === undefined) return true;
    const cred = peerCred(s);
    const prefix = 'MANAGEMENT: unix domain socket client connection rejected --';
    if (cred === undefined) {
      this.#events.note(`${prefix} cannot get UID/GID of socket peer (errno ${errno()})`);
      return false;
    }
    if (uid !== undefined && cred.uid !== uid) {
      this.#events.note(`${prefix} UID of socket peer (${cred.uid}) doesn't match required value (${uid}) as given by --management-client-user`);
      return false;
    }
    if (gid !== undefined && cred.gid !== gid) {
      this.#events.note(`${prefix} GID of socket peer (${cred.gid}) doesn't match required value (${gid}) as given by --management-client-group`);
      return false;
    }
    return true;
  }
}
