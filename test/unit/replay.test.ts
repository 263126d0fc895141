/**
 * ReplayWindow against OpenVPN's packet_id_test / packet_id_add / packet_id_reap rules,
 * as numbered table steps: [action, id, time, now, expected verdict].
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplayWindow, type ReplayVerdict } from '../../src/base/replay.ts';

type Step = readonly ['check' | 'accept', number, number | undefined, number, ReplayVerdict?];

/** 'accept' steps first assert the check verdict (default 'ok'), then record the id. */
function run(w: ReplayWindow, steps: readonly Step[]): void {
  steps.forEach(([action, id, time, now, expected], i) => {
    const verdict = w.check(id, time, now);
    assert.equal(verdict, expected ?? 'ok', `step ${i + 1}: ${action} ${id} time=${String(time)} now=${now}`);
    if (action === 'accept') w.accept(id, time, now);
  });
}

test('short form (data channel): in order, reordered, replayed, zero', () => {
  run(new ReplayWindow(), [
    ['check', 0, undefined, 100, 'zero'],
    ['accept', 1, undefined, 100],
    ['check', 1, undefined, 100, 'replay'],
    ['accept', 5, undefined, 100],
    ['accept', 3, undefined, 100],
    ['check', 3, undefined, 100, 'replay'],
    ['check', 5, undefined, 100, 'replay'],
    ['check', 4, undefined, 100, 'ok'],
    ['check', 4, undefined, 100, 'ok'], // check alone never records
    ['accept', 4, undefined, 100],
    ['accept', 2, undefined, 100],
    ['check', 2, undefined, 100, 'replay'],
    ['accept', 6, undefined, 100],
  ]);
});

test('ids more than the window behind the highest are too old', () => {
  run(new ReplayWindow(64, 15), [
    ['accept', 1, undefined, 100],
    ['accept', 100, undefined, 100],
    ['check', 36, undefined, 100, 'too-old'],
    ['check', 37, undefined, 100, 'ok'],
    ['check', 99, undefined, 100, 'ok'],
    ['check', 100, undefined, 100, 'replay'],
    ['accept', 101, undefined, 100],
    ['check', 37, undefined, 100, 'too-old'],
    ['accept', 38, undefined, 100],
    ['check', 38, undefined, 100, 'replay'],
  ]);
});

test('a jump larger than the window resets it', () => {
  run(new ReplayWindow(8, 15), [
    ['accept', 3, undefined, 100],
    ['accept', 1000, undefined, 100],
    ['check', 3, undefined, 100, 'too-old'],
    ['check', 992, undefined, 100, 'too-old'],
    ['check', 993, undefined, 100, 'ok'],
    ['check', 1000, undefined, 100, 'replay'],
  ]);
});

test('long form (tls-auth / tls-crypt): time going back is rejected, time going forward starts over', () => {
  run(new ReplayWindow(), [
    ['accept', 1, 1000, 100],
    ['accept', 2, 1000, 100],
    ['check', 3, 999, 100, 'time-backtrack'],
    ['check', 1, 1000, 100, 'replay'],
    ['check', 1, 1001, 100, 'ok'],
    ['accept', 7, 1001, 100],
    ['check', 2, 1000, 100, 'time-backtrack'],
    ['check', 6, 1001, 100, 'ok'],
    ['check', 7, 1001, 100, 'replay'],
    ['check', 0, 1001, 100, 'zero'],
  ]);
});

test('entries age out after `seconds`, from the first stale mark backwards (packet_id_reap)', () => {
  run(new ReplayWindow(64, 15), [
    ['accept', 1, 5000, 100],
    ['accept', 3, 5000, 100],
    ['check', 2, 5000, 110, 'ok'],
    ['check', 2, 5000, 116, 'too-old'],
    ['check', 1, 5000, 116, 'too-old'],
    ['check', 4, 5000, 116, 'ok'],
  ]);
  run(new ReplayWindow(64, 15), [
    ['accept', 1, 5000, 100],
    ['accept', 3, 5000, 114],
    ['check', 1, 5000, 116, 'replay'], // reaped at 114, when id 1 was still fresh
    ['check', 2, 5000, 120, 'ok'], // id 3 is still fresh: only id 1 and older expire
    ['check', 1, 5000, 120, 'too-old'],
    ['check', 3, 5000, 120, 'replay'],
  ]);
});

test('reaping runs at most every 5 seconds, as OpenVPN does', () => {
  run(new ReplayWindow(64, 15), [
    ['accept', 1, 5000, 100],
    ['accept', 3, 5000, 100],
    ['check', 2, 5000, 104, 'ok'], // reaped at 100, next reap not before 105
    ['check', 2, 5000, 115, 'ok'], // reaped at 115: mark 100 + 15 is not < 115
    ['check', 2, 5000, 119, 'ok'], // no reap before 120
    ['check', 2, 5000, 120, 'too-old'],
  ]);
});

test('seconds = 0 never ages entries out', () => {
  run(new ReplayWindow(64, 0), [
    ['accept', 1, 5000, 100],
    ['accept', 3, 5000, 100],
    ['check', 2, 5000, 100000, 'ok'],
    ['check', 3, 5000, 100000, 'replay'],
  ]);
});

test('window 0 is the strict sequential mode', () => {
  run(new ReplayWindow(0, 15), [
    ['accept', 1, 7, 100],
    ['accept', 2, 7, 100],
    ['check', 4, 7, 100, 'replay'],
    ['check', 2, 7, 100, 'replay'],
    ['check', 2, 8, 100, 'replay'],
    ['check', 1, 8, 100, 'ok'],
    ['check', 3, 6, 100, 'time-backtrack'],
    ['accept', 3, 7, 100],
  ]);
});

test('arrival marks work with a clock near zero (fake clocks)', () => {
  run(new ReplayWindow(), [
    ['accept', 1, undefined, 0],
    ['check', 1, undefined, 0, 'replay'],
  ]);
});

test('constructor bounds follow packet_id.h', () => {
  assert.throws(() => new ReplayWindow(-1), RangeError);
  assert.throws(() => new ReplayWindow(65537), RangeError);
  assert.throws(() => new ReplayWindow(64, 601), RangeError);
  const big = new ReplayWindow(65536, 600);
  run(big, [
    ['accept', 70000, 1, 100],
    ['check', 4465, 1, 100, 'ok'],
    ['check', 4464, 1, 100, 'too-old'],
  ]);
});
