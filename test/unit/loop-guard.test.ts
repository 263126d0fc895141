import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoopGuard } from '../../src/dataplane/loop-guard.ts';

function v4(proto: number, dst: number[], dport: number, fragOffset = 0): Uint8Array {
  const p = new Uint8Array(48);
  p.set([0x45, 0, 0, 48, 0, 0, fragOffset >> 8, fragOffset & 255, 64, proto, 0, 0, 10, 8, 0, 2, ...dst]);
  p.set([0xc0, 0x01, dport >> 8, dport & 255], 20);
  return p;
}

function v6(nh: number, dstLast: number, dport: number, frag?: { offset: number; nh: number }): Uint8Array {
  const p = new Uint8Array(80);
  p[0] = 0x60;
  p[6] = frag === undefined ? nh : 44;
  p.set([0xfd, 0, 0xca, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, dstLast], 24);
  let l4 = 40;
  if (frag !== undefined) {
    p.set([frag.nh, 0, (frag.offset << 3) >> 8, (frag.offset << 3) & 255], 40);
    l4 = 48;
  }
  p.set([0xc0, 0x01, dport >> 8, dport & 255], l4);
  return p;
}

test('loop guard: our own UDP/TCP transport packet to the server (IPv4), and only that', () => {
  const g = new LoopGuard({ address: '203.0.113.1', port: 1194, family: 4 }, 'udp');
  const server = [203, 0, 113, 1];
  assert.equal(g.matches(v4(17, server, 1194), 48), true);
  assert.equal(g.matches(v4(17, server, 1194, 185), 48), true, 'a later fragment (no port)');
  assert.equal(g.matches(v4(17, server, 53), 48), false, 'another port on the server: user traffic');
  assert.equal(g.matches(v4(6, server, 1194), 48), false, 'another protocol');
  assert.equal(g.matches(v4(17, [203, 0, 113, 2], 1194), 48), false, 'another host');
  assert.equal(g.matches(v4(17, server, 1194), 10), false, 'truncated');
  const t = new LoopGuard({ address: '203.0.113.1', port: 443, family: 4 }, 'tcp');
  assert.equal(t.matches(v4(6, server, 443), 48), true);
  assert.equal(t.matches(v6(6, 1, 443), 80), false, 'an IPv6 packet for an IPv4 server');
});

test('loop guard: IPv6, with and without a fragment header', () => {
  const g = new LoopGuard({ address: 'fd00:cafe::1', port: 1194, family: 6 }, 'udp');
  assert.equal(g.matches(v6(17, 1, 1194), 80), true);
  assert.equal(g.matches(v6(17, 2, 1194), 80), false);
  assert.equal(g.matches(v6(17, 1, 1195), 80), false);
  assert.equal(g.matches(v6(0, 1, 1194, { offset: 0, nh: 17 }), 80), true, 'first fragment');
  assert.equal(g.matches(v6(0, 1, 9999, { offset: 100, nh: 17 }), 80), true, 'later fragment');
  assert.equal(g.matches(v6(0, 1, 1194, { offset: 100, nh: 6 }), 80), false);
});
