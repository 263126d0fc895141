/**
 * Runs the Link contract against MemoryLinkPair (virtual time) and the UDP adapter on
 * 127.0.0.1 (two connected dgram sockets; no root needed).
 */
import dgram from 'node:dgram';
import { FakeClock, SeededRandom } from '../../../src/base/clock.ts';
import type { Endpoint } from '../../../src/link/link.ts';
import { MemoryLinkPair, VirtualTimers } from '../../../src/link/memory-link.ts';
import { openUdpLink } from '../../../src/link/udp-link.ts';
import { linkContract } from './link.contract.ts';

/** How long a UDP packet on loopback may take before the test gives up on it. */
const UDP_WAIT_MS = 1000;
/** How long to wait when expecting that nothing (more) arrives. */
const UDP_QUIET_MS = 100;
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

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

linkContract({
  name: 'UDP adapter on 127.0.0.1',
  async open(a, b) {
    const endpointA: Endpoint = { address: '127.0.0.1', port: await freePort(), family: 4 };
    const endpointB: Endpoint = { address: '127.0.0.1', port: await freePort(), family: 4 };
    const linkB = await openUdpLink({ remote: endpointA, float: false, local: { address: endpointB.address, port: endpointB.port } }, b);
    const linkA = await openUdpLink({ remote: endpointB, float: false, local: { address: endpointA.address, port: endpointA.port } }, a);
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
});
