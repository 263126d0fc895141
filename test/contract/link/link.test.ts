/**
 * Runs the Link contract against MemoryLinkPair (virtual time) and the UDP adapter on
 * 127.0.0.1 (a connected adapter, and an unconnected one as with `float`, each against an
 * unconnected peer; no root needed); then what only the UDP adapter does with a send the OS refuses.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { test } from 'node:test';
import { FakeClock, SeededRandom } from '../../../src/base/clock.ts';
import type { Endpoint } from '../../../src/link/link.ts';
import { MemoryLinkPair, VirtualTimers } from '../../../src/link/memory-link.ts';
import { openTcpLink } from '../../../src/link/tcp-link.ts';
import { openUdpLink } from '../../../src/link/udp-link.ts';
import { TCP_MAX_FRAME } from '../../../src/tls/packet.ts';
import { linkContract, type LinkHarness } from './link.contract.ts';

/** How long a UDP packet on loopback may take before the test gives up on it. */
const UDP_WAIT_MS = 1000;
/** How long to wait when expecting that nothing (more) arrives. */
const UDP_QUIET_MS = 100;
/** The largest UDP payload over IPv4 (65535 - 20 - 8); one byte more is EMSGSIZE. */
const MAX_UDP4_PAYLOAD = 65_507;
const OVERSIZED_SENDS = 5;
/** Virtual time that covers every memory-link delay. */
const MEMORY_SETTLE_MS = 1000;

linkContract({
  name: 'MemoryLinkPair',
  async open(a, b) {
    const timers = new VirtualTimers(new FakeClock(0));
    const endpointA: Endpoint = { address: '127.0.0.2', port: 40001, family: 4 };
    const endpointB: Endpoint = { address: '127.0.0.1', port: 1194, family: 4 };
    const pair = new MemoryLinkPair({ timers, random: new SeededRandom(7), endpointA, endpointB });
    return {
      a: pair.openA(a),
      b: pair.openB(b),
      endpointA,
      endpointB,
      async settle() {
        timers.advanceTo(timers.clock.now() + MEMORY_SETTLE_MS);
      },
      async dispose() {},
    };
  },
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Two UDP adapters on 127.0.0.1, each bound by the kernel to a port of its choosing (never a
 * port picked by binding and closing a socket first: another test could take it meanwhile).
 * B is unconnected and learns A's address from A's `local`; A is connected to B unless `float`.
 */
function udpHarness(float: boolean): LinkHarness {
  return {
    name: `UDP adapter on 127.0.0.1${float ? ', unconnected (float)' : ', connected'}`,
    async open(a, b) {
      const nowhere: Endpoint = { address: '127.0.0.1', port: 9, family: 4 };
      const linkB = await openUdpLink({ remote: nowhere, float: true, local: { address: '127.0.0.1', port: 0 } }, b);
      const endpointB = linkB.local;
      const linkA = await openUdpLink({ remote: endpointB, float, local: { address: '127.0.0.1', port: 0 } }, a);
      const endpointA = linkA.local;
      linkB.setRemote?.(endpointA);
      return {
        a: linkA,
        b: linkB,
        endpointA,
        endpointB,
        async settle(until) {
          if (until === undefined) {
            await sleep(UDP_QUIET_MS);
            return;
          }
          const end = performance.now() + UDP_WAIT_MS;
          while (!until() && performance.now() < end) await sleep(2);
        },
        async dispose() {
          linkA.close();
          linkB.close();
        },
      };
    },
  };
}

linkContract(udpHarness(false));
// Unconnected, every dgram send waits a tick for its address lookup: a reused buffer is
// overwritten before it is sent even without backpressure.
linkContract(udpHarness(true));

test('UDP adapter: a failing send never throws; it is counted, reported once per error code, and the link keeps working', async () => {
  const errors: Error[] = [];
  const got: Uint8Array[] = [];
  const b = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => b.bind(0, '127.0.0.1', () => resolve()));
  const endpointB: Endpoint = { address: '127.0.0.1', port: b.address().port, family: 4 };
  b.on('message', (m) => got.push(new Uint8Array(m)));
  const a = await openUdpLink({ remote: endpointB, float: false }, { packet: () => {}, error: (e) => errors.push(e) });
  try {
    const tooBig = new Uint8Array(MAX_UDP4_PAYLOAD + 1);
    for (let i = 0; i < OVERSIZED_SENDS; i++) assert.doesNotThrow(() => a.send(tooBig));
    a.send(Uint8Array.of(1, 2, 3));
    const end = performance.now() + UDP_WAIT_MS;
    while ((a.counters.sendErrors < OVERSIZED_SENDS || got.length < 1) && performance.now() < end) await sleep(2);
    assert.equal(a.counters.sendErrors, OVERSIZED_SENDS);
    assert.deepEqual(errors.map((e) => (e as NodeJS.ErrnoException).code), ['EMSGSIZE']);
    assert.deepEqual(got, [Uint8Array.of(1, 2, 3)]);
  } finally {
    a.close();
    b.close();
  }
});

test('TCP adapter: a packet the length prefix cannot carry never throws; reported once, and the link keeps working', async () => {
  const server = net.createServer();
  const received: Buffer[] = [];
  const connected = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  const errors: Error[] = [];
  const a = await openTcpLink({ remote: { address: '127.0.0.1', port, family: 4 } }, { packet: () => {}, error: (e) => errors.push(e) });
  const peer = await connected;
  peer.on('data', (d: Buffer) => received.push(d));
  try {
    for (let i = 0; i < OVERSIZED_SENDS; i++) assert.doesNotThrow(() => a.send(new Uint8Array(TCP_MAX_FRAME + 1)));
    assert.doesNotThrow(() => a.send(new Uint8Array(0)));
    a.send(Uint8Array.of(7, 8, 9));
    const end = performance.now() + UDP_WAIT_MS;
    while (Buffer.concat(received).byteLength < 5 && performance.now() < end) await sleep(2);
    assert.deepEqual([...Buffer.concat(received)], [0, 3, 7, 8, 9], 'only the packet that fits went out, framed');
    assert.equal(errors.length, 1, errors.map((e) => e.message).join('; '));
  } finally {
    a.close();
    peer.destroy();
    server.close();
  }
});
