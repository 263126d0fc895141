/**
 * The data-plane worker against real sockets: a UDP socket on loopback to a dgram "server",
 * and a SOCK_SEQPACKET socketpair standing in for the TUN fd (one packet per read, as a tun fd).
 *
 *   test ──write──▶ [seqpacket] ─tun fd─▶ worker ─seal─▶ udp ──▶ server (dgram)
 *   test ◀──read─── [seqpacket] ◀─tun fd─ worker ◀─open─ udp ◀── server
 *
 * The worker's datagrams must be byte for byte what a main-thread DataChannel seals with the
 * same keys and packet ids (node:crypto there, EVP in the worker).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { attachTestTun, c, ipPacket, peerChannel, startTestWorker } from './worker-rig.ts';
import { DataPlaneWorker } from '../../../src/dataplane/worker-host.ts';
import { Counter, DROPS_BASE, type FromWorker } from '../../../src/dataplane/worker-shared.ts';
import { DropReason } from '../../../src/dataplane/drop-reason.ts';
import { openUdpSocket, sockaddr } from '../../../src/link/socket-options.ts';
import { lib } from '../../../src/platform/libc.ts';
import { until } from '../../netns/helpers/until.ts';

interface Rig {
  readonly worker: DataPlaneWorker;
  readonly server: dgram.Socket;
  readonly serverGot: Uint8Array[];
  readonly events: FromWorker[];
  readonly udpFd: number;
  readonly tun: number;
  readonly testEnd: number;
  close(): Promise<void>;
}

async function rig(cipher = 'AES-256-GCM', auth: string | undefined = undefined, gso = true, batchWaitUs = 0): Promise<Rig> {
  const { worker, events } = await startTestWorker({ gso, batchWaitUs });
  const server = dgram.createSocket('udp4');
  const serverGot: Uint8Array[] = [];
  server.on('message', (m) => serverGot.push(new Uint8Array(m)));
  server.bind(0, '127.0.0.1');
  await once(server, 'listening');
  const port = server.address().port;
  const udpFd = openUdpSocket(4, {}, { address: '127.0.0.1' });
  const addr = sockaddr('127.0.0.1', port, 4);
  assert.equal(lib().connect(udpFd, addr, addr.byteLength), 0);
  const remote = { address: '127.0.0.1', port, family: 4 as const };
  await worker.request({ kind: 'link', proto: 'udp', early: undefined, fd: udpFd, remote, float: false });
  const [tun, testEnd] = await attachTestTun(worker, cipher, auth);
  return {
    worker,
    server,
    serverGot,
    events,
    udpFd,
    tun,
    testEnd,
    async close() {
      await worker.request({ kind: 'unlink' });
      await worker.stop();
      for (const fd of [udpFd, tun, testEnd]) lib().close(fd);
      server.close();
    },
  };
}

for (const [cipher, auth] of [['AES-256-GCM', undefined], ['CHACHA20-POLY1305', undefined], ['AES-256-CBC', 'SHA256']] as const) {
  test(`${cipher}: TUN packets leave as what a main-thread DataChannel seals (the same bytes for AEAD), and come back intact`, async () => {
    const r = await rig(cipher, auth);
    try {
      const reference = peerChannel('client', cipher, auth);
      const server = peerChannel('server', cipher, auth);
      const packets = Array.from({ length: 100 }, (_, i) => ipPacket(60 + ((i * 97) % 1340), i));
      for (const p of packets) assert.equal(lib().write(r.testEnd, p, p.byteLength), p.byteLength);
      assert.ok(await until(() => r.serverGot.length === packets.length, 5000), 'all datagrams at the server');
      const wire = new Uint8Array(2048);
      const plain = new Uint8Array(2048);
      packets.forEach((p, i) => {
        const n = reference.sealPacket(p, p.byteLength, wire);
        const got = r.serverGot[i] as Uint8Array;
        // AEAD is deterministic for the same key and packet id; CBC draws a random IV per packet
        if (auth === undefined) assert.deepEqual(got, wire.subarray(0, n), `datagram ${i}`);
        else assert.deepEqual(got.subarray(0, 4), wire.subarray(0, 4), `datagram ${i} header`);
        const m = server.openPacket(got, got.byteLength, plain, 0);
        assert.deepEqual(plain.subarray(0, m), p, `datagram ${i} opens to packet ${i}`);
      });
      // and back: the server seals, the worker opens and writes to the TUN
      const sent: Uint8Array[] = [];
      for (const p of packets.slice(0, 50)) {
        const n = server.sealPacket(p, p.byteLength, wire);
        sent.push(p);
        r.server.send(wire.slice(0, n), localPort(r.udpFd), '127.0.0.1'); // dgram keeps the buffer until sent
      }
      const got: Uint8Array[] = [];
      const buf = new Uint8Array(2048);
      assert.ok(await until(() => {
        for (let n = lib().read(r.testEnd, buf, buf.byteLength); n > 0; n = lib().read(r.testEnd, buf, buf.byteLength)) got.push(buf.slice(0, n));
        return got.length === sent.length;
      }, 5000), `all packets on the TUN: ${got.length}, counters ${Array.from(r.worker.counters).join(',')}`);
      got.forEach((p, i) => assert.deepEqual(p, sent[i], `packet ${i}`));
      const counters = r.worker.counters;
      assert.equal(counters[Counter.TUN_RX_PKTS], 100);
      assert.equal(counters[Counter.DATA_TX_PKTS], 100);
      assert.equal(counters[Counter.AUTH_RX_PKTS], 50);
      assert.equal(counters[Counter.TUN_TX_PKTS], 50);
    } finally {
      await r.close();
    }
  });
}

for (const gso of [true, false]) {
  test(`runs of equal-size packets ${gso ? 'leave as UDP GSO sends' : 'leave one by one (GSO off)'}: every datagram arrives separately, in order, the same bytes`, async () => {
    const r = await rig('AES-256-GCM', undefined, gso);
    try {
      const reference = peerChannel('client');
      // full-size runs (as a TCP stream makes), a shorter one closing a run, a run longer than
      // a batch of slots, and small packets between them
      const sizes = [...Array<number>(20).fill(1400), 900, ...Array<number>(45).fill(1400), 60, 60, 1200, 1200, 1201, ...Array<number>(3).fill(1400)];
      const packets = sizes.map((n, i) => ipPacket(n, i));
      for (const p of packets) assert.equal(lib().write(r.testEnd, p, p.byteLength), p.byteLength);
      assert.ok(await until(() => r.serverGot.length === packets.length, 5000), `all datagrams at the server: ${r.serverGot.length} of ${packets.length}`);
      const wire = new Uint8Array(2048);
      packets.forEach((p, i) => {
        const n = reference.sealPacket(p, p.byteLength, wire);
        assert.deepEqual(r.serverGot[i], wire.subarray(0, n), `datagram ${i} (${p.byteLength} bytes)`);
      });
      const viaGso = r.worker.counters[Counter.GSO_PKTS] as number;
      if (gso) assert.ok(viaGso >= 40, `most datagrams left in GSO runs: ${viaGso}`);
      else assert.equal(viaGso, 0);
      assert.equal(r.worker.counters[Counter.SEND_DROPS], 0);
      assert.equal(r.events.filter((e) => e.kind === 'event' && e.event === 'gso-off').length, 0, 'loopback takes GSO sends');
    } finally {
      await r.close();
    }
  });
}

const getsockname = c.func('int getsockname(int fd, _Out_ uint8_t *addr, _Inout_ uint32_t *len)');
function localPort(fd: number): number {
  const addr = new Uint8Array(28);
  const len = [28];
  assert.equal(getsockname(fd, addr, len), 0);
  return (addr[2] as number) * 256 + (addr[3] as number);
}

test('control packets reach the main thread unchanged; forged and malformed datagrams are dropped and counted', async () => {
  const r = await rig();
  try {
    const port = localPort(r.udpFd);
    const control = Uint8Array.of(0x20, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0);
    r.server.send(control, port, '127.0.0.1');
    const forged = new Uint8Array(100).fill(0xab);
    forged[0] = (9 << 3) | 0; // P_DATA_V2, key 0, garbage after
    r.server.send(forged, port, '127.0.0.1');
    r.server.send(Uint8Array.of((9 << 3) | 5, 0, 0, 7, 1, 2, 3, 4), port, '127.0.0.1'); // unknown key id
    assert.ok(await until(() => r.worker.counters[Counter.LINK_RX_PKTS] === 3, 5000), 'three datagrams received');
    assert.ok(await until(() => r.events.some((e) => e.kind === 'control'), 5000), 'the control packet relayed');
    const ev = r.events.find((e) => e.kind === 'control');
    assert.deepEqual(ev?.kind === 'control' ? ev.bytes : undefined, control);
    assert.equal(r.worker.counters[DROPS_BASE - DropReason.AUTH], 1);
    assert.equal(r.worker.counters[DROPS_BASE - DropReason.UNKNOWN_KEY_ID], 1);
    assert.equal(r.worker.counters[Counter.TUN_TX_PKTS], 0);
  } finally {
    await r.close();
  }
});

test('while datagrams keep coming, a batch wait gathers them: far fewer wake-ups, every packet intact and in order', async () => {
  const seen: { wakeups: number; waits: number }[] = [];
  for (const wait of [0, 2000]) {
    const r = await rig('AES-256-GCM', undefined, true, wait);
    try {
      const server = peerChannel('server');
      const wire = new Uint8Array(2048);
      const packets = Array.from({ length: 150 }, (_, i) => ipPacket(60 + (i % 7) * 10, i));
      const port = localPort(r.udpFd);
      const got: Uint8Array[] = [];
      const buf = new Uint8Array(2048);
      const drain = (): void => {
        for (let n = lib().read(r.testEnd, buf, buf.byteLength); n > 0; n = lib().read(r.testEnd, buf, buf.byteLength)) got.push(buf.slice(0, n));
      };
      // one datagram per turn of the event loop: a stream, tens of µs apart
      for (const p of packets) {
        r.server.send(wire.slice(0, server.sealPacket(p, p.byteLength, wire)), port, '127.0.0.1');
        await new Promise((resolve) => setImmediate(resolve));
        drain();
      }
      const deadline = Date.now() + 5000;
      while (got.length < packets.length && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
        drain();
      }
      assert.equal(got.length, packets.length, `all packets on the TUN (write drops: ${r.worker.counters[Counter.TUN_WRITE_DROPS]})`);
      got.forEach((p, i) => assert.deepEqual(p, packets[i], `packet ${i}`));
      seen.push({ wakeups: r.worker.counters[Counter.WAKEUPS] as number, waits: r.worker.counters[Counter.BATCH_WAITS] as number });
    } finally {
      await r.close();
    }
  }
  const [plain, waiting] = seen as [{ wakeups: number; waits: number }, { wakeups: number; waits: number }];
  console.log(`# batch wait: ${waiting.wakeups} wake-ups with it (${waiting.waits} waits), ${plain.wakeups} without`);
  assert.equal(plain.waits, 0, 'no wait when it is off');
  assert.ok(waiting.waits > 0, 'the worker waited for batches');
  assert.ok(waiting.wakeups * 3 < plain.wakeups, `wake-ups with the wait ${waiting.wakeups}, without ${plain.wakeups}`);
});
