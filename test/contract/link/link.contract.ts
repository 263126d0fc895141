/**
 * Link contract: one suite for every adapter of the Link port (MemoryLinkPair in virtual time;
 * the node:dgram UDP adapter on 127.0.0.1, connected and unconnected). Registers node:test tests for a named harness.
 *
 *   a.send(p) ─▶ b receives exactly p, once, from a's endpoint; and back
 *   the sender may reuse its buffer as soon as send() returns (the Attempt does: one tx buffer);
 *   udp-backpressure.test.ts holds the UDP adapter to the same through a rate-limited veth
 *   close() stops delivery both ways, is idempotent, and send() after close() is a no-op
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint, Link, LinkEvents } from '../../../src/link/link.ts';
import { FLOOD_BUFFER_SIZE, FloodTally, writeFloodDatagram } from './flood.ts';

/** Few enough that a loopback receiver's socket buffer holds them all while the sender runs. */
const FLOOD_IN_PROCESS = 64;

export interface LinkPairUnderTest {
  readonly a: Link;
  readonly b: Link;
  readonly endpointA: Endpoint;
  readonly endpointB: Endpoint;
  /**
   * Lets packets in flight arrive: until `until()` holds (or a bound passes) when given,
   * otherwise long enough that anything sent has arrived.
   */
  settle(until?: () => boolean): Promise<void>;
  dispose(): Promise<void>;
}

export interface LinkHarness {
  readonly name: string;
  open(a: LinkEvents, b: LinkEvents): Promise<LinkPairUnderTest>;
}

interface Received {
  readonly bytes: Uint8Array;
  readonly from: Endpoint;
}

function recorder(): { events: LinkEvents; packets: Received[]; errors: Error[] } {
  const packets: Received[] = [];
  const errors: Error[] = [];
  return {
    packets,
    errors,
    events: {
      packet: (bytes, from) => packets.push({ bytes: bytes.slice(), from }),
      error: (err) => errors.push(err),
    },
  };
}

function pattern(len: number, seed: number): Uint8Array {
  const p = new Uint8Array(len);
  for (let i = 0; i < len; i++) p[i] = (seed * 31 + i * 7) & 0xff;
  return p;
}

async function withPair(h: LinkHarness, body: (pair: LinkPairUnderTest, ra: ReturnType<typeof recorder>, rb: ReturnType<typeof recorder>) => Promise<void>): Promise<void> {
  const ra = recorder();
  const rb = recorder();
  const pair = await h.open(ra.events, rb.events);
  try {
    await body(pair, ra, rb);
  } finally {
    await pair.dispose();
  }
}

export function linkContract(h: LinkHarness): void {
  test(`Link contract (${h.name}): packets arrive intact, once, both ways, from the peer's endpoint`, async () => {
    await withPair(h, async (pair, ra, rb) => {
      assert.equal(pair.a.proto, 'udp');
      const sizes = [1, 54, 1250, 1400];
      for (const [i, n] of sizes.entries()) pair.a.send(pattern(n, i));
      await pair.settle(() => rb.packets.length >= sizes.length);
      pair.b.send(pattern(300, 99));
      await pair.settle(() => ra.packets.length >= 1);
      await pair.settle();
      assert.deepEqual(rb.packets.map((p) => p.bytes), sizes.map((n, i) => pattern(n, i)));
      for (const p of rb.packets) assert.deepEqual(p.from, pair.endpointA);
      assert.deepEqual(ra.packets.map((p) => p.bytes), [pattern(300, 99)]);
      assert.deepEqual(ra.packets[0]?.from, pair.endpointB);
      assert.deepEqual([...ra.errors, ...rb.errors], []);
    });
  });

  test(`Link contract (${h.name}): send() copies: ${FLOOD_IN_PROCESS} datagrams from one reused buffer arrive intact and distinct`, async () => {
    await withPair(h, async (pair, _ra, rb) => {
      const tally = new FloodTally(FLOOD_IN_PROCESS);
      const events = rb.packets;
      const tx = new Uint8Array(FLOOD_BUFFER_SIZE);
      // back to back, overwriting the buffer at once, as the Attempt's packet pump does
      for (let seq = 0; seq < FLOOD_IN_PROCESS; seq++) pair.a.send(tx.subarray(0, writeFloodDatagram(seq, tx)));
      tx.fill(0xee);
      await pair.settle(() => events.length >= FLOOD_IN_PROCESS);
      await pair.settle();
      for (const p of events) tally.add(p.bytes);
      assert.deepEqual(tally.counts(), { intact: FLOOD_IN_PROCESS, duplicate: 0, corrupt: 0 });
    });
  });

  test(`Link contract (${h.name}): close() stops delivery both ways; send after close is a no-op`, async () => {
    await withPair(h, async (pair, ra, rb) => {
      pair.a.send(pattern(10, 1));
      await pair.settle(() => rb.packets.length >= 1);
      assert.equal(rb.packets.length, 1);
      pair.b.close();
      pair.b.close(); // idempotent
      pair.a.send(pattern(10, 2));
      assert.doesNotThrow(() => pair.b.send(pattern(10, 3)));
      await pair.settle();
      assert.equal(rb.packets.length, 1, 'a closed end still received');
      assert.equal(ra.packets.length, 0, 'a closed end still sent');
      pair.a.close();
      assert.doesNotThrow(() => pair.a.send(pattern(10, 4)));
    });
  });
}
