/**
 * The connection list an OpenVPN client walks: proto-force filters, remote-random shuffles
 * (every order reachable, the set unchanged), remote-random-hostname prefixes 12 hex digits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/base/clock.ts';
import { defaultConnection, defaultOptions, type ClientOptions } from '../../src/config/options.ts';
import { connectionOrder, hostToResolve } from '../../src/core/remotes.ts';

function opts(over: Partial<ClientOptions>): ClientOptions {
  const base = defaultOptions();
  const mk = (remote: string, proto: 'udp' | 'tcp') => ({ ...defaultConnection(), remote, proto });
  return { ...base, connections: [mk('a', 'udp'), mk('b', 'tcp'), mk('c', 'udp'), mk('d', 'udp')], ...over } as ClientOptions;
}

test('without remote-random the configured order is kept; proto-force keeps one protocol', () => {
  assert.deepEqual(connectionOrder(opts({}), new SeededRandom(1)).map((c) => c.remote), ['a', 'b', 'c', 'd']);
  assert.deepEqual(connectionOrder(opts({ protoForce: 'tcp' }), new SeededRandom(1)).map((c) => c.remote), ['b']);
});

test('remote-random shuffles: same set, and over many seeds every first remote occurs', () => {
  const firsts = new Set<string>();
  for (let seed = 1; seed <= 200; seed++) {
    const order = connectionOrder(opts({ remoteRandom: true }), new SeededRandom(seed)).map((c) => c.remote);
    assert.deepEqual([...order].sort(), ['a', 'b', 'c', 'd']);
    firsts.add(order[0] ?? '');
  }
  assert.deepEqual([...firsts].sort(), ['a', 'b', 'c', 'd']);
});

test('remote-random-hostname: a 12-hex-digit label before names, never before addresses', () => {
  assert.match(hostToResolve('vpn.example.invalid', true, new SeededRandom(3)), /^[0-9a-f]{12}\.vpn\.example\.invalid$/);
  assert.equal(hostToResolve('198.18.0.1', true, new SeededRandom(3)), '198.18.0.1');
  assert.equal(hostToResolve('vpn.example.invalid', false, new SeededRandom(3)), 'vpn.example.invalid');
});
