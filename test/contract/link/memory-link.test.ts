/**
 * What only the in-memory twin does: virtual-time delivery, seeded loss / reorder / duplication,
 * reproducibility, and VirtualTimers ordering.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, SeededRandom } from '../../../src/base/clock.ts';
import type { LinkEvents } from '../../../src/link/link.ts';
import { MemoryLinkPair, VirtualTimers, type LinkConditions } from '../../../src/link/memory-link.ts';

function setup(seed: number, conditions: LinkConditions): { timers: VirtualTimers; pair: MemoryLinkPair; got: number[]; send: (n: number) => void } {
  const timers = new VirtualTimers(new FakeClock(0));
  const pair = new MemoryLinkPair({ timers, random: new SeededRandom(seed), conditions });
  const got: number[] = [];
  const sink: LinkEvents = { packet: (b) => got.push(((b[0] ?? 0) << 8) | (b[1] ?? 0)), error: () => {} };
  const a = pair.openA({ packet: () => {}, error: () => {} });
  pair.openB(sink);
  return { timers, pair, got, send: (n) => a.send(Uint8Array.of(n >> 8, n & 0xff)) };
}

test('MemoryLinkPair: nothing is delivered until virtual time reaches the delay', () => {
  const { timers, got, send } = setup(1, { delayMs: 20 });
  send(1);
  assert.deepEqual(got, []);
  timers.advanceTo(19);
  assert.deepEqual(got, []);
  timers.advanceTo(20);
  assert.deepEqual(got, [1]);
  assert.equal(timers.clock.now(), 20);
});

test('MemoryLinkPair: seeded loss drops about the configured share, and the same seed drops the same packets', () => {
  const run = (seed: number): number[] => {
    const { timers, got, send, pair } = setup(seed, { loss: 0.3 });
    for (let i = 0; i < 2000; i++) send(i);
    timers.advanceTo(1000);
    assert.equal(pair.counters['a-to-b'].lost + got.length, 2000);
    return got;
  };
  const first = run(5);
  const lossRate = 1 - first.length / 2000;
  assert.ok(lossRate > 0.25 && lossRate < 0.35, `loss ${lossRate}`);
  assert.deepEqual(run(5), first);
  assert.notDeepEqual(run(6), first);
});

test('MemoryLinkPair: reordered packets are overtaken by later ones; duplicates arrive twice', () => {
  const r = setup(3, { reorder: 0.5, delayMs: 5, reorderDelayMs: 40 });
  for (let i = 0; i < 100; i++) r.send(i);
  r.timers.advanceTo(1000);
  assert.equal(r.got.length, 100);
  assert.deepEqual([...r.got].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  assert.notDeepEqual(r.got, Array.from({ length: 100 }, (_, i) => i), 'nothing was reordered');
  assert.equal(r.pair.counters['a-to-b'].reordered > 30, true);

  const d = setup(4, { duplicate: 1 });
  d.send(7);
  d.send(8);
  d.timers.advanceTo(1000);
  assert.deepEqual([...d.got].sort((x, y) => x - y), [7, 7, 8, 8]);
  assert.equal(d.pair.counters['a-to-b'].duplicated, 2);
});

test('MemoryLinkPair: per-direction conditions, taps and injection', () => {
  const timers = new VirtualTimers(new FakeClock(0));
  const pair = new MemoryLinkPair({ timers, random: new SeededRandom(9), conditions: {}, bToA: { loss: 1 } });
  const atA: Uint8Array[] = [];
  const atB: Uint8Array[] = [];
  const tapped: string[] = [];
  pair.tap((dir, bytes) => tapped.push(`${dir}:${bytes[0]}`));
  const a = pair.openA({ packet: (b) => atA.push(b), error: () => {} });
  const b = pair.openB({ packet: (p) => atB.push(p), error: () => {} });
  a.send(Uint8Array.of(1));
  b.send(Uint8Array.of(2));
  timers.advanceTo(100);
  assert.deepEqual(atB, [Uint8Array.of(1)]);
  assert.deepEqual(atA, []);
  assert.deepEqual(tapped, ['a-to-b:1', 'b-to-a:2']);
  pair.inject('b-to-a', Uint8Array.of(3)); // bypasses the loss
  pair.setConditions('b-to-a', {});
  b.send(Uint8Array.of(4));
  timers.advanceTo(200);
  assert.deepEqual(atA, [Uint8Array.of(3), Uint8Array.of(4)]);
  assert.throws(() => pair.openA({ packet: () => {}, error: () => {} }), /already open/);
});

test('VirtualTimers: callbacks run in time order, then in the order set; clear() cancels; runNext jumps to the next due time', () => {
  const timers = new VirtualTimers(new FakeClock(100));
  const order: string[] = [];
  timers.set(50, () => order.push('b@150'));
  const c = timers.set(10, () => order.push('cleared'));
  timers.set(10, () => {
    order.push('a@110');
    timers.set(0, () => order.push('a2@110'));
  });
  timers.set(50, () => order.push('c@150'));
  timers.clear(c);
  assert.equal(timers.nextAt(), 110);
  assert.equal(timers.runNext(), true);
  // A timer set by a callback runs on a later step, even with delay 0 (as Node's setTimeout(0)).
  assert.deepEqual(order, ['a@110']);
  assert.equal(timers.clock.now(), 110);
  assert.equal(timers.nextAt(), 110);
  assert.equal(timers.runNext(), true);
  assert.deepEqual(order, ['a@110', 'a2@110']);
  timers.advanceTo(1000);
  assert.deepEqual(order, ['a@110', 'a2@110', 'b@150', 'c@150']);
  assert.equal(timers.clock.now(), 1000);
  assert.equal(timers.runNext(), false);
  assert.equal(timers.pending, 0);
});
