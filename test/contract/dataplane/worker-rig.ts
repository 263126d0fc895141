/**
 * What the data-plane worker's contract tests share: a SOCK_SEQPACKET socketpair standing in
 * for the TUN fd (one packet per read, as a tun fd), IP packets, fixed keys, and the peer's
 * DataChannel (node:crypto) that seals and opens what the worker (EVP) opens and seals.
 */
import assert from 'node:assert/strict';
import koffi from 'koffi';
import { DataChannel } from '../../../src/dataplane/data-channel.ts';
import { createDataCrypto } from '../../../src/dataplane/create-data-crypto.ts';
import { splitKey2 } from '../../../src/dataplane/data-crypto.ts';
import { DataPlaneWorker, type WorkerOptions } from '../../../src/dataplane/worker-host.ts';
import type { FromWorker } from '../../../src/dataplane/worker-shared.ts';

export const c = koffi.load('libc.so.6');
const socketpair = c.func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)');
const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;

export function tunPair(): [number, number] {
  const sv = [0, 0];
  assert.equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
  return [sv[0] as number, sv[1] as number];
}

/** An IPv4/UDP packet of `size` bytes (content varies with `seed`; no checksum needed for the tunnel). */
export function ipPacket(size: number, seed: number): Uint8Array {
  const p = new Uint8Array(size).map((_, i) => (i * 31 + seed) & 0xff);
  p[0] = 0x45;
  p[2] = size >> 8;
  p[3] = size & 0xff;
  p[9] = 17;
  p.set([10, 8, 0, 2, 10, 8, 0, 1], 12);
  return p;
}

export const KEY2 = new Uint8Array(256).map((_, i) => (i * 13 + 5) & 0xff);
export const CHANNEL = { compression: 'none' as const, replayWindow: 64, replaySeconds: 15, fragment: undefined };

export function peerChannel(role: 'client' | 'server', cipher = 'AES-256-GCM', auth: string | undefined = undefined): DataChannel {
  const k = splitKey2(KEY2.slice(), role);
  const ch = new DataChannel(CHANNEL);
  ch.install(0, createDataCrypto(cipher, auth, k.send, { backend: 'node' }), createDataCrypto(cipher, auth, k.recv, { backend: 'node' }), 7);
  return ch;
}

/** Hands the worker the client's keys (key id 0, peer-id 7), as the main thread does. */
export function installClientKeys(worker: DataPlaneWorker, cipher: string, auth: string | undefined): void {
  const k = splitKey2(KEY2.slice(), 'client');
  const copy = (b: Uint8Array): Uint8Array => b.slice();
  worker.post({ kind: 'keys', keyId: 0, cipher, auth, peerId: 7, send: { cipher: copy(k.send.cipher), hmac: copy(k.send.hmac) }, recv: { cipher: copy(k.recv.cipher), hmac: copy(k.recv.hmac) }, channel: CHANNEL });
}

/** A worker with 32 slots of 2048 bytes; what it posts lands in `events`. */
export async function startTestWorker(o: Partial<WorkerOptions> = {}): Promise<{ worker: DataPlaneWorker; events: FromWorker[] }> {
  const worker = await DataPlaneWorker.start({ slots: 32, slotSize: 2048, ...o });
  const events: FromWorker[] = [];
  worker.events = { message: (m) => events.push(m), exit: () => undefined };
  return { worker, events };
}

/** Once the worker has its link: the client's keys, and a socketpair as its TUN; returns [tun, testEnd]. */
export async function attachTestTun(worker: DataPlaneWorker, cipher: string, auth: string | undefined): Promise<[number, number]> {
  installClientKeys(worker, cipher, auth);
  const pair = tunPair();
  await worker.request({ kind: 'tun', fd: pair[0], mss: 0, tunMtu: 1500, block6: undefined, vnetHdr: false });
  return pair;
}
