import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PACKET_ID_EXHAUSTED, PACKET_ID_WRAP_TRIGGER, PacketIdSender } from '../../../src/dataplane/packet-id.ts';

describe('PacketIdSender', () => {
  it('starts at 1 and counts up', () => {
    const p = new PacketIdSender();
    assert.equal(p.last, 0);
    assert.deepEqual([p.next(), p.next(), p.next()], [1, 2, 3]);
    assert.equal(p.needsRenegotiation, false);
  });

  it('asks for renegotiation from 0xFF000000 on', () => {
    const p = new PacketIdSender(PACKET_ID_WRAP_TRIGGER - 2);
    assert.equal(p.next(), 0xfeffffff);
    assert.equal(p.needsRenegotiation, false);
    assert.equal(p.next(), 0xff000000);
    assert.equal(p.needsRenegotiation, true);
  });

  it('sends 0xFFFFFFFF once and never wraps to 0', () => {
    const p = new PacketIdSender(0xfffffffd);
    assert.equal(p.next(), 0xfffffffe);
    assert.equal(p.next(), 0xffffffff);
    assert.equal(p.exhausted, true);
    assert.equal(p.next(), PACKET_ID_EXHAUSTED);
    assert.equal(p.next(), PACKET_ID_EXHAUSTED);
    assert.equal(p.last, 0xffffffff);
  });

  it('rejects impossible starting points', () => {
    assert.throws(() => new PacketIdSender(-1), RangeError);
    assert.throws(() => new PacketIdSender(2 ** 32), RangeError);
  });
});
