/**
 * Reliability layer: exact retransmission timing (2 s, 4 s, 8 s ...), send window of 6,
 * early resend after 3 later ACKs, receive window of 12 with re-ACKed duplicates, the ACK MRU,
 * and a seeded simulation with loss, reordering and duplication in both directions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../src/base/clock.ts';
import { Opcode } from '../../../src/tls/packet.ts';
import { ReliableReceiver, ReliableSender } from '../../../src/tls/reliable.ts';

const msg = (n: number): Uint8Array => Uint8Array.of(n & 0xff, (n >> 8) & 0xff);
const ids = (out: readonly { id: number }[]): number[] => out.map((o) => o.id);

test('first send at once, then retransmits after 2 s, 4 s, 8 s, 16 s', () => {
  const s = new ReliableSender();
  s.enqueue(msg(0), Opcode.CONTROL_HARD_RESET_CLIENT_V2);
  assert.equal(s.nextDeadline(), 0);
  const first = s.poll(0);
  assert.deepEqual(first, [{ id: 0, opcode: Opcode.CONTROL_HARD_RESET_CLIENT_V2, payload: msg(0), retransmit: false }]);
  const sendTimes = [0];
  let now = 0;
  for (let i = 0; i < 4; i++) {
    const deadline = s.nextDeadline();
    assert.ok(deadline !== undefined);
    assert.deepEqual(s.poll(deadline - 1), []);
    now = deadline;
    const out = s.poll(now);
    assert.deepEqual(ids(out), [0]);
    assert.equal(out[0]?.retransmit, true);
    sendTimes.push(now);
  }
  assert.deepEqual(sendTimes, [0, 2000, 6000, 14000, 30000]);
  assert.equal(s.onAck(0), true);
  assert.equal(s.nextDeadline(), undefined);
  assert.equal(s.pending, 0);
  assert.equal(s.onAck(0), false);
});

test('--tls-timeout sets the first interval', () => {
  const s = new ReliableSender({ timeoutMs: 5000 });
  s.enqueue(msg(0));
  s.poll(100);
  assert.equal(s.nextDeadline(), 5100);
  s.poll(5100);
  assert.equal(s.nextDeadline(), 15100);
});

test('at most 6 unacked messages, and a new id must stay below lowest unacked + 6', () => {
  const s = new ReliableSender();
  for (let i = 0; i < 8; i++) s.enqueue(msg(i));
  assert.deepEqual(ids(s.poll(0)), [0, 1, 2, 3, 4, 5]);
  assert.equal(s.pending, 8);
  assert.equal(s.inFlight, 6);
  s.onAck(1);
  assert.equal(s.inFlight, 5);
  assert.equal(s.nextId, 6); // id 6 would be lowest (0) + 6: blocked
  assert.deepEqual(s.poll(10), []);
  s.onAck(0);
  assert.equal(s.nextId, 8);
  assert.deepEqual(ids(s.poll(10)), [6, 7]);
  assert.equal(s.pending, 6);
});

test('three ACKs for later ids trigger an early resend (N_ACK_RETRANSMIT)', () => {
  const s = new ReliableSender();
  for (let i = 0; i < 4; i++) s.enqueue(msg(i));
  s.poll(0);
  s.onAck(1);
  s.onAck(2);
  assert.equal(s.nextDeadline(), 2000);
  assert.deepEqual(s.poll(100), []);
  s.onAck(3);
  assert.equal(s.nextDeadline(), 0);
  const out = s.poll(100);
  assert.deepEqual(ids(out), [0]);
  assert.equal(out[0]?.retransmit, true);
  assert.equal(s.nextDeadline(), 100 + 4000);
});

test('scheduleNow makes everything due with the initial timeout again', () => {
  const s = new ReliableSender();
  s.enqueue(msg(0));
  s.enqueue(msg(1));
  s.poll(0);
  s.poll(2000);
  s.scheduleNow(2500);
  assert.deepEqual(ids(s.poll(2500)), [0, 1]);
  assert.equal(s.nextDeadline(), 4500);
});

test('receiver delivers in order, re-ACKs duplicates, drops ids >= next + 12 without ACK', () => {
  const r = new ReliableReceiver();
  assert.equal(r.receive(0, msg(0)), 'accepted');
  assert.deepEqual(r.takeInOrder(), [msg(0)]);
  assert.equal(r.receive(2, msg(2)), 'accepted');
  assert.deepEqual(r.takeInOrder(), []);
  assert.equal(r.receive(1, msg(1)), 'accepted');
  assert.deepEqual(r.takeInOrder(), [msg(1), msg(2)]);
  assert.equal(r.nextExpected, 3);
  assert.equal(r.receive(1, msg(1)), 'duplicate');
  assert.equal(r.receive(14, msg(14)), 'accepted');
  assert.equal(r.receive(14, msg(14)), 'duplicate');
  assert.equal(r.receive(15, msg(15)), 'out-of-window');
  assert.equal(r.ackPending, 4); // 0, 2, 1, 14: a duplicate already queued is queued once; 15 never
  assert.deepEqual(r.takeAcks(8), [0, 2, 1, 14]);
});

test('when all 12 slots are full nothing is stored or ACKed (reliable_can_get)', () => {
  const r = new ReliableReceiver();
  for (let id = 1; id <= 11; id++) assert.equal(r.receive(id, msg(id)), 'accepted');
  assert.equal(r.receive(12, msg(12)), 'out-of-window');
  assert.equal(r.receive(0, msg(0)), 'accepted');
  r.takeAcks(8);
  r.takeAcks(8);
  assert.equal(r.ackPending, 0);
  assert.equal(r.receive(5, msg(5)), 'out-of-window');
  assert.equal(r.ackPending, 0);
  assert.equal(r.takeInOrder().length, 12);
  assert.equal(r.receive(5, msg(5)), 'duplicate');
  assert.equal(r.ackPending, 1);
});

test('ACK queue holds 8; takeAcks refills from the MRU of recently acked ids', () => {
  const r = new ReliableReceiver();
  for (let id = 0; id < 10; id++) r.receive(id, msg(id));
  assert.equal(r.ackPending, 8); // 8 and 9 did not fit; their retransmissions will be ACKed
  assert.deepEqual(r.takeAcks(4), [0, 1, 2, 3]);
  assert.deepEqual(r.takeAcks(4), [4, 5, 6, 7]);
  assert.equal(r.ackPending, 0);
  assert.deepEqual(r.takeAcks(4), [4, 5, 6, 7]);
  assert.deepEqual(r.takeAcks(8), [4, 5, 6, 7, 0, 1, 2, 3]);
  r.receive(2, msg(2));
  assert.deepEqual(r.takeAcks(4), [2, 4, 5, 6]);
  assert.deepEqual(r.takeAcks(8), [2, 4, 5, 6, 7, 0, 1, 3]);
  r.receive(8, msg(8));
  assert.deepEqual(r.takeAcks(8), [8, 2, 4, 5, 6, 7, 0, 1]);
  assert.deepEqual(new ReliableReceiver().takeAcks(4), []);
});

interface InFlight {
  readonly at: number;
  readonly toReceiver: boolean;
  readonly id: number;
  readonly payload: Uint8Array;
  readonly acks: readonly number[];
}

/**
 * Sender and receiver over a link that drops `loss` of the packets in each direction,
 * delays each by 10..250 ms (so packets overtake each other) and duplicates 10 %.
 */
function simulate(seed: number, loss: number, messages: number): { delivered: number[]; endedAt: number; sends: number } {
  const rnd = new SeededRandom(seed);
  const sender = new ReliableSender();
  const receiver = new ReliableReceiver();
  const link: InFlight[] = [];
  const delivered: number[] = [];
  let sends = 0;
  const transmit = (now: number, p: Omit<InFlight, 'at'>): void => {
    sends++;
    if (rnd.float() < loss) return;
    link.push({ ...p, at: now + 10 + Math.floor(rnd.float() * 240) });
    if (rnd.float() < 0.1) link.push({ ...p, at: now + 10 + Math.floor(rnd.float() * 240) });
  };
  for (let i = 0; i < messages; i++) sender.enqueue(msg(i));
  let now = 0;
  for (let step = 0; step < 100_000 && delivered.length < messages; step++) {
    for (const o of sender.poll(now)) transmit(now, { toReceiver: true, id: o.id, payload: o.payload, acks: [] });
    const deadline = sender.nextDeadline();
    let next = deadline ?? Infinity;
    for (const p of link) next = Math.min(next, p.at);
    if (next === Infinity) break;
    now = Math.max(now, next);
    for (let i = link.length - 1; i >= 0; i--) {
      const p = link[i];
      if (p === undefined || p.at > now) continue;
      link.splice(i, 1);
      if (p.toReceiver) {
        receiver.receive(p.id, p.payload);
        for (const m of receiver.takeInOrder()) delivered.push((m[0] ?? 0) | ((m[1] ?? 0) << 8));
        if (receiver.ackPending > 0) transmit(now, { toReceiver: false, id: -1, payload: msg(0), acks: receiver.takeAcks(8) });
      } else {
        for (const id of p.acks) sender.onAck(id);
      }
    }
  }
  return { delivered, endedAt: now, sends };
}

for (const [seed, loss] of [[1, 0.1], [7, 0.1], [42, 0.2], [1234, 0.3], [99, 0.3]] as const) {
  test(`loss ${loss * 100} %, reorder and duplication (seed ${seed}): all delivered once, in order`, () => {
    const n = 150;
    const { delivered, endedAt, sends } = simulate(seed, loss, n);
    assert.deepEqual(delivered, Array.from({ length: n }, (_, i) => i));
    assert.ok(endedAt < 600_000, `took ${endedAt} ms of virtual time`);
    assert.ok(sends > n, 'losses must have caused retransmissions');
  });
}

test('the simulation is deterministic for a seed, and loss costs time', () => {
  assert.deepEqual(simulate(5, 0.2, 40), simulate(5, 0.2, 40));
  assert.ok(simulate(5, 0, 40).endedAt < simulate(5, 0.3, 40).endedAt);
});
