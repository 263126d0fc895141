/**
 * The data-plane worker over TCP, on a real loopback connection that node:net made and the
 * worker took over (detachDescriptor), as worker-data-path.ts does for a TCP attempt:
 *
 *   test ──write──▶ [seqpacket] ─tun fd─▶ worker ─seal, u16 frame─▶ tcp ──▶ server (net + TcpFramer)
 *   test ◀──read─── [seqpacket] ◀─tun fd─ worker ◀─unframe, open── tcp ◀── server
 *
 * A frame is never cut, doubled or reordered, whatever the kernel takes per write and however
 * the stream arrives in pieces.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { EAGAIN } from '../../../src/platform/batch-io.ts';
import { DataPlaneWorker } from '../../../src/dataplane/worker-host.ts';
import { Counter, type FromWorker } from '../../../src/dataplane/worker-shared.ts';
import { applySocketOptions, descriptorOf, detachDescriptor } from '../../../src/link/socket-options.ts';
import { errno, lib } from '../../../src/platform/libc.ts';
import { frameTcp, TcpFramer } from '../../../src/tls/packet.ts';
import { until } from '../../netns/helpers/until.ts';
import { attachTestTun, ipPacket, peerChannel, startTestWorker } from './worker-rig.ts';

interface TcpRig {
  readonly worker: DataPlaneWorker;
  /** The server's end of the connection. */
  readonly peer: net.Socket;
  /** What the server received, unframed. */
  readonly peerGot: Uint8Array[];
  readonly events: FromWorker[];
  readonly testEnd: number;
  close(): Promise<void>;
}

/** A loopback TCP connection: our end (node:net), the server's end, and the server's port. */
async function connectedPair(): Promise<{ sock: net.Socket; peer: net.Socket; port: number }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const sock = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await once(sock, 'connect');
  const [peer] = await accepted;
  server.close();
  return { sock, peer, port };
}

/** `early`: bytes the server sends before the worker has the connection (as a proxy reads ahead). */
async function tcpRig(o: { early?: Uint8Array; sndbuf?: number } = {}): Promise<TcpRig> {
  const { worker, events } = await startTestWorker();
  const { sock, peer, port } = await connectedPair();
  if (o.early !== undefined) {
    peer.write(o.early);
    await until(() => sock.readableLength >= (o.early?.byteLength ?? 0), 2000);
  }
  const { fd, buffered } = detachDescriptor(sock);
  if (o.sndbuf !== undefined) applySocketOptions(fd, 4, { sndbuf: o.sndbuf });
  const framer = new TcpFramer();
  const peerGot: Uint8Array[] = [];
  peer.on('data', (chunk: Buffer) => peerGot.push(...framer.push(new Uint8Array(chunk))));
  await worker.request({ kind: 'link', proto: 'tcp', fd, remote: { address: '127.0.0.1', port, family: 4 }, float: false, early: buffered.byteLength > 0 ? buffered : undefined });
  const [tun, testEnd] = await attachTestTun(worker, 'AES-256-GCM', undefined);
  return {
    worker,
    peer,
    peerGot,
    events,
    testEnd,
    async close() {
      await worker.request({ kind: 'unlink' });
      await worker.stop();
      for (const f of [fd, tun, testEnd]) lib().close(f);
      peer.destroy();
    },
  };
}

/** Writes each packet to the TUN side, waiting while the worker does not read (bounded). */
async function writeAll(fd: number, packets: readonly Uint8Array[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const p of packets) {
    while (lib().write(fd, p, p.byteLength) !== p.byteLength) {
      assert.equal(errno(), EAGAIN, 'the TUN side only waits');
      assert.ok(Date.now() < deadline, 'the worker went on reading the TUN');
      await sleep(1);
    }
  }
}

/** Reads what the TUN side has until `count` packets came (bounded). */
async function readPackets(fd: number, count: number): Promise<Uint8Array[]> {
  const got: Uint8Array[] = [];
  const buf = new Uint8Array(2048);
  await until(() => {
    for (let n = lib().read(fd, buf, buf.byteLength); n > 0; n = lib().read(fd, buf, buf.byteLength)) got.push(buf.slice(0, n));
    return got.length >= count;
  }, 10_000);
  return got;
}

test('TCP: TUN packets leave as u16-framed packets, the same bytes a main-thread DataChannel seals; under backpressure none is cut, doubled or reordered', async () => {
  // a small send buffer and a server that does not read at first: the kernel takes part of a frame, then nothing
  const r = await tcpRig({ sndbuf: 4096 });
  try {
    r.peer.pause();
    const packets = Array.from({ length: 2000 }, (_, i) => ipPacket(60 + ((i * 211) % 1340), i));
    const writing = writeAll(r.testEnd, packets);
    assert.ok(await until(() => (r.worker.counters[Counter.SEND_WAITS] as number) > 0, 5000), 'the kernel made the worker wait');
    await sleep(200);
    r.peer.resume();
    await writing;
    assert.ok(await until(() => r.peerGot.length >= packets.length, 10_000), `all frames at the server: ${r.peerGot.length} of ${packets.length}`);
    await sleep(100);
    assert.equal(r.peerGot.length, packets.length, 'no frame twice');
    const reference = peerChannel('client');
    const wire = new Uint8Array(2048);
    packets.forEach((p, i) => {
      const n = reference.sealPacket(p, p.byteLength, wire);
      assert.deepEqual(r.peerGot[i], wire.subarray(0, n), `frame ${i} (${p.byteLength} bytes)`);
    });
    assert.equal(r.worker.counters[Counter.DATA_TX_PKTS], packets.length);
    assert.equal(r.worker.counters[Counter.SEND_DROPS], 0);
  } finally {
    await r.close();
  }
});

test('TCP: a stream that arrives in pieces of any size gives every packet once; control frames reach the main thread; bytes read ahead wait for our first packet', async () => {
  const server = peerChannel('server');
  const wire = new Uint8Array(2048);
  const ahead = Uint8Array.of(0x40, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0, 0); // a P_CONTROL_V1 frame the "proxy" read ahead
  const r = await tcpRig({ early: frameTcp(ahead) });
  try {
    await sleep(100);
    assert.equal(r.events.filter((e) => e.kind === 'control').length, 0, 'nothing handled before our first packet');
    const hello = Uint8Array.of(0x38, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0);
    r.worker.post({ kind: 'send', bytes: hello });
    assert.ok(await until(() => r.peerGot.length === 1, 5000), 'our control packet at the server');
    assert.deepEqual(r.peerGot[0], hello);
    assert.ok(await until(() => r.events.some((e) => e.kind === 'control'), 5000), 'the read-ahead frame handled after it');

    const packets = Array.from({ length: 300 }, (_, i) => ipPacket(60 + ((i * 97) % 1340), i));
    const control = Uint8Array.of(0x28, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0);
    const frames: Uint8Array[] = [];
    packets.forEach((p, i) => {
      frames.push(frameTcp(wire.subarray(0, server.sealPacket(p, p.byteLength, wire))));
      if (i === 150) frames.push(frameTcp(control));
    });
    const stream = Buffer.concat(frames);
    // pieces of 1 to 3000 bytes, each its own write: frames and their length prefixes split anywhere
    const reading = readPackets(r.testEnd, packets.length);
    for (let off = 0, i = 0; off < stream.byteLength; i++) {
      const size = [1, 2, 3, 700, 1499, 3000, 37][i % 7] as number;
      r.peer.write(stream.subarray(off, off + size));
      off += size;
      await sleep(1); // the seqpacket pair holds ~100 packets: the test reads every 50 ms
    }
    const got = await reading;
    assert.equal(got.length, packets.length, `packets on the TUN (write drops: ${r.worker.counters[Counter.TUN_WRITE_DROPS]})`);
    got.forEach((p, i) => assert.deepEqual(p, packets[i], `packet ${i}`));
    const relayed = r.events.filter((e) => e.kind === 'control').map((e) => (e.kind === 'control' ? e.bytes : undefined));
    assert.deepEqual(relayed, [ahead, control]);
    assert.equal(r.worker.counters[Counter.AUTH_RX_PKTS], packets.length);
  } finally {
    await r.close();
  }
});

test('TCP: a forged data packet is a data-error (the stream is broken); bad framing and the server closing are link errors', async () => {
  const r = await tcpRig();
  try {
    const forged = new Uint8Array(100).fill(0xab);
    forged[0] = (9 << 3) | 0; // P_DATA_V2, key 0, garbage after
    r.peer.write(frameTcp(forged));
    assert.ok(await until(() => r.events.some((e) => e.kind === 'event' && e.event === 'data-error'), 5000), 'data-error posted');
    r.peer.write(Uint8Array.of(0, 0, 1, 2, 3));
    assert.ok(await until(() => r.events.some((e) => e.kind === 'link-error'), 5000), 'a zero-length frame breaks the stream');
    const e = r.events.find((m) => m.kind === 'link-error');
    assert.match(e?.kind === 'link-error' ? e.message : '', /bad TCP framing/);
  } finally {
    await r.close();
  }
  const s = await tcpRig();
  try {
    s.peer.end();
    assert.ok(await until(() => s.events.some((e) => e.kind === 'link-error'), 5000), 'the close is reported');
    const e = s.events.find((m) => m.kind === 'link-error');
    assert.deepEqual(e?.kind === 'link-error' ? [e.code, e.message] : [], ['ECONNRESET', 'the server closed the TCP connection']);
  } finally {
    await s.close();
  }
});

test('detachDescriptor: the connection outlives the node:net socket, and Node read nothing of it', async () => {
  const { sock, peer } = await connectedPair();
  const before = descriptorOf(sock);
  const { fd, buffered } = detachDescriptor(sock);
  try {
    assert.notEqual(fd, before);
    assert.equal(buffered.byteLength, 0);
    await sleep(50);
    assert.equal(peer.destroyed, false, 'no FIN or reset reached the peer');
    peer.write('abc');
    const buf = new Uint8Array(16);
    assert.ok(await until(() => lib().read(fd, buf, 16) === 3, 2000), 'our descriptor reads what the peer sends');
    assert.deepEqual(buf.subarray(0, 3), Uint8Array.of(97, 98, 99));
  } finally {
    lib().close(fd);
    peer.destroy();
  }
});
