/**
 * The session limits on a fake clock: reneg-bytes / reneg-pkts per primary key, inactive N
 * [bytes] over TUN traffic, session-timeout (local and pushed), transition-window.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SessionLimits } from '../../src/core/limits.ts';

const TW = { transitionWindowSeconds: 3600 };

test('reneg-bytes: reported once when the primary key has carried that many bytes; a new key starts again at zero', () => {
  const l = new SessionLimits({ ...TW, renegBytes: 1000 }, 0);
  assert.equal(l.keyTraffic(600), false);
  assert.equal(l.keyTraffic(399), false);
  assert.equal(l.keyTraffic(1), true, 'at 1000 bytes');
  assert.equal(l.keyTraffic(5000), false, 'only once per key');
  l.newPrimaryKey(10, true);
  assert.equal(l.keyTraffic(999), false);
  assert.equal(l.keyTraffic(1), true);
});

test('reneg-pkts: reported at the Nth packet, whatever their size', () => {
  const l = new SessionLimits({ ...TW, renegPkts: 3 }, 0);
  assert.deepEqual([l.keyTraffic(1), l.keyTraffic(1), l.keyTraffic(1), l.keyTraffic(1)], [false, false, true, false]);
});

test('no reneg limits: never reported', () => {
  const l = new SessionLimits({ ...TW, renegBytes: 0 }, 0);
  for (let i = 0; i < 100; i++) assert.equal(l.keyTraffic(1e6), false);
});

test('inactive N: due N s after the last TUN packet once connected; nothing before the tunnel is up', () => {
  const l = new SessionLimits({ ...TW, inactive: { seconds: 10, bytes: 0 } }, 0);
  assert.equal(l.nextDeadline(), Infinity, 'not before connected');
  l.connected(1000);
  assert.equal(l.nextDeadline(), 11_000);
  l.tunnelTraffic(60, 5000);
  assert.equal(l.nextDeadline(), 15_000, 'any packet resets it');
  assert.equal(l.due(14_999), undefined);
  assert.equal(l.due(15_000), 'inactive');
});

test('inactive N bytes: only `bytes` of TUN traffic (accumulated) put the deadline off', () => {
  const l = new SessionLimits({ ...TW, inactive: { seconds: 10, bytes: 500 } }, 0);
  l.connected(0);
  l.tunnelTraffic(200, 4000);
  l.tunnelTraffic(200, 6000);
  assert.equal(l.nextDeadline(), 10_000, '400 bytes are not enough');
  l.tunnelTraffic(100, 7000);
  assert.equal(l.nextDeadline(), 17_000, 'the 500th byte resets it');
  l.tunnelTraffic(499, 9000);
  assert.equal(l.nextDeadline(), 17_000, 'the count starts again after a reset');
});

test('session-timeout: from the attempt\'s start; a pushed value replaces the local one', () => {
  const l = new SessionLimits({ ...TW, sessionTimeoutSeconds: 60 }, 500);
  assert.equal(l.nextDeadline(), 60_500);
  l.pushedSessionTimeout(30);
  assert.equal(l.nextDeadline(), 30_500);
  assert.equal(l.due(30_500), 'session-timeout');
});

test('transition-window: the lame duck is due for retirement N s after the new key took over, once', () => {
  const l = new SessionLimits({ transitionWindowSeconds: 60 }, 0);
  l.newPrimaryKey(1000, false);
  assert.equal(l.nextDeadline(), Infinity, 'the first key has no lame duck');
  l.newPrimaryKey(5000, true);
  assert.equal(l.nextDeadline(), 65_000);
  assert.equal(l.due(65_000), 'retire-lame-duck');
  assert.equal(l.due(65_001), undefined);
  assert.equal(l.nextDeadline(), Infinity);
});
