/**
 * Control-packet codec against OpenVPN's own test packets (test/vectors/control, taken from
 * tests/unit_tests/openvpn/test_pkt.c), truncation at every field boundary, the early
 * negotiation TLVs and the TCP length framing.
 */
import { readVector } from '../../helpers/repo.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, hex } from '../../../src/base/bytes.ts';
import { RemoteProtocolError } from '../../../src/base/errors.ts';
import {
  decodeControlPacket,
  encodeControlPacket,
  frameTcp,
  isControlOpcode,
  isDataOpcode,
  Opcode,
  opcodeName,
  parseEarlyNegotiationTlvs,
  TcpFramer,
  type ControlPacket,
  type ControlOpcode,
} from '../../../src/tls/packet.ts';

interface DecodedVector {
  readonly opcode: number;
  readonly keyId: number;
  readonly sessionId: string;
  readonly acks: number[];
  readonly remoteSessionId?: string;
  readonly messageId?: number;
  readonly payload: string;
}
interface PlainVector {
  readonly name: string;
  readonly source: string;
  readonly wire: string;
  readonly decoded: DecodedVector;
}

function loadVector<T>(name: string): T {
  return readVector<T>('control', name);
}

function toModel(d: DecodedVector): ControlPacket {
  return {
    opcode: d.opcode as ControlOpcode,
    keyId: d.keyId,
    sessionId: fromHex(d.sessionId),
    acks: d.acks,
    remoteSessionId: d.remoteSessionId === undefined ? undefined : fromHex(d.remoteSessionId),
    messageId: d.messageId,
    payload: fromHex(d.payload),
  };
}

function assertRemote(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => e instanceof RemoteProtocolError && e.code === code);
}

const plainVectors = [
  'client_reset_v2_none.json',
  'client_ack_123_none_random_id.json',
  'client_ack_none_random_id.json',
  'client_control_with_ack.json',
].map((f) => loadVector<PlainVector>(f));

test('opcode table matches ssl_pkt.h', () => {
  assert.equal(Object.keys(Opcode).length, 11);
  assert.deepEqual(Object.values(Opcode), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  const control = [];
  const data = [];
  for (let op = 0; op < 32; op++) {
    if (isControlOpcode(op)) control.push(op);
    if (isDataOpcode(op)) data.push(op);
  }
  assert.deepEqual(control, [3, 4, 5, 7, 8, 10, 11]);
  assert.deepEqual(data, [6, 9]);
  assert.equal(opcodeName(7), 'P_CONTROL_HARD_RESET_CLIENT_V2');
  assert.equal(opcodeName(12), 'P_UNKNOWN(12)');
});

for (const v of plainVectors) {
  test(`decodes ${v.name} (${v.source}) and re-encodes it byte for byte`, () => {
    assert.match(v.source, /^OpenVPN\/openvpn v2\.6\.\d+ /);
    const wire = fromHex(v.wire);
    const p = decodeControlPacket(wire);
    assert.equal(p.opcode, v.decoded.opcode);
    assert.equal(p.keyId, v.decoded.keyId);
    assert.equal(hex(p.sessionId), v.decoded.sessionId);
    assert.deepEqual(p.acks, v.decoded.acks);
    assert.equal(p.remoteSessionId === undefined ? undefined : hex(p.remoteSessionId), v.decoded.remoteSessionId);
    assert.equal(p.messageId, v.decoded.messageId);
    assert.equal(hex(p.payload), v.decoded.payload);
    assert.equal(hex(encodeControlPacket(toModel(v.decoded))), v.wire);
  });

  test(`${v.name}: every truncation inside the header throws PACKET_TRUNCATED`, () => {
    const wire = fromHex(v.wire);
    const headerLen = wire.byteLength - v.decoded.payload.length / 2;
    for (let n = 0; n < headerLen; n++) {
      assertRemote(() => decodeControlPacket(wire.subarray(0, n)), 'PACKET_TRUNCATED');
    }
    for (let n = headerLen; n <= wire.byteLength; n++) {
      assert.equal(decodeControlPacket(wire.subarray(0, n)).payload.byteLength, n - headerLen);
    }
  });
}

test('the reference 14-byte reset is exactly what the protocol notes say', () => {
  const bytes = encodeControlPacket({
    opcode: Opcode.CONTROL_HARD_RESET_CLIENT_V2,
    keyId: 0,
    sessionId: fromHex('6891923fa3103437'),
    acks: [],
    messageId: 0,
    payload: new Uint8Array(0),
  });
  assert.equal(hex(bytes), '386891923fa31034370000000000');
});

test('key_id comes from the low three bits', () => {
  const wire = fromHex('3b' + '0102030405060708' + '00' + '00000009');
  const p = decodeControlPacket(wire);
  assert.equal(p.opcode, Opcode.CONTROL_HARD_RESET_CLIENT_V2);
  assert.equal(p.keyId, 3);
  assert.equal(p.messageId, 9);
});

test('more than 8 ACKs is TOO_MANY_ACKS', () => {
  const acks = (n: number): string => n.toString(16).padStart(2, '0') + '00000001'.repeat(n) + 'aa'.repeat(8);
  const eight = decodeControlPacket(fromHex('28' + '11'.repeat(8) + acks(8)));
  assert.equal(eight.acks.length, 8);
  assertRemote(() => decodeControlPacket(fromHex('28' + '11'.repeat(8) + acks(9))), 'TOO_MANY_ACKS');
  assertRemote(() => decodeControlPacket(fromHex('28' + '11'.repeat(8) + 'ff')), 'TOO_MANY_ACKS');
});

test('non-control and unknown opcodes are UNEXPECTED_OPCODE', () => {
  for (const op of [0, 1, 2, 6, 9, 12, 20, 31]) {
    const wire = fromHex(((op << 3) | 0).toString(16).padStart(2, '0') + '00'.repeat(13));
    assertRemote(() => decodeControlPacket(wire), 'UNEXPECTED_OPCODE');
  }
});

test('encode refuses malformed models (our own bugs)', () => {
  const base: ControlPacket = {
    opcode: Opcode.CONTROL_V1, keyId: 0, sessionId: new Uint8Array(8), acks: [], messageId: 1, payload: new Uint8Array(0),
  };
  assert.throws(() => encodeControlPacket({ ...base, sessionId: new Uint8Array(7) }), RangeError);
  assert.throws(() => encodeControlPacket({ ...base, acks: [1] }), RangeError);
  assert.throws(() => encodeControlPacket({ ...base, messageId: undefined }), RangeError);
  assert.throws(() => encodeControlPacket({ ...base, opcode: Opcode.ACK_V1 }), RangeError);
  assert.throws(() => encodeControlPacket({ ...base, keyId: 8 }), RangeError);
  assert.throws(() => encodeControlPacket({ ...base, acks: [0, 1, 2, 3, 4, 5, 6, 7, 8], remoteSessionId: new Uint8Array(8) }), RangeError);
});

test('early negotiation TLVs: RESEND_WKC flag, unknown types skipped', () => {
  assert.deepEqual(parseEarlyNegotiationTlvs(new Uint8Array(0)), { resendWkc: false });
  assert.deepEqual(parseEarlyNegotiationTlvs(fromHex('000100020001')), { resendWkc: true });
  assert.deepEqual(parseEarlyNegotiationTlvs(fromHex('000100020000')), { resendWkc: false });
  assert.deepEqual(parseEarlyNegotiationTlvs(fromHex('000100020002')), { resendWkc: false });
  assert.deepEqual(parseEarlyNegotiationTlvs(fromHex('00070003aabbcc' + '000100020001' + '00080000')), { resendWkc: true });
});

test('early negotiation TLVs: malformed input is fatal BAD_MESSAGE', () => {
  for (const bad of ['00', '000100', '0001000200', '00010003000100', '00070005aabb', '000100020001ff']) {
    assertRemote(() => parseEarlyNegotiationTlvs(fromHex(bad)), 'BAD_MESSAGE');
  }
});

test('frameTcp prefixes the u16 length', () => {
  assert.equal(hex(frameTcp(fromHex('386891'))), '0003386891');
  assert.throws(() => frameTcp(new Uint8Array(0)), RangeError);
  assert.throws(() => frameTcp(new Uint8Array(0x10000)), RangeError);
});

test('TcpFramer reassembles frames split and merged across chunks', () => {
  const a = fromHex('386891923fa31034370000000000');
  const b = fromHex('28aeb9afe1f01d79c801000000000dd85db535623b02e0'.slice(0, 44));
  const stream = new Uint8Array([...frameTcp(a), ...frameTcp(b), ...frameTcp(a)]);
  const whole = new TcpFramer().push(stream);
  assert.deepEqual(whole.map(hex), [hex(a), hex(b), hex(a)]);

  const f = new TcpFramer();
  const got: string[] = [];
  for (const byte of stream) for (const frame of f.push(Uint8Array.of(byte))) got.push(hex(frame));
  assert.deepEqual(got, [hex(a), hex(b), hex(a)]);
  assert.equal(f.buffered, 0);
  assert.equal(f.error, undefined);

  const g = new TcpFramer();
  assert.deepEqual(g.push(stream.subarray(0, 5)), []);
  assert.equal(g.buffered, 5);
  assert.deepEqual(g.push(stream.subarray(5)).length, 3);
});

test('TcpFramer: length 0 or above the bound is a stream error value, and it stays failed', () => {
  const zero = new TcpFramer();
  assert.deepEqual(zero.push(fromHex('0000')), []);
  assert.deepEqual(zero.error, { code: 'BAD_FRAME_LENGTH', length: 0, max: 0xffff });

  const small = new TcpFramer(1250);
  const ok = frameTcp(new Uint8Array(1250));
  const frames = small.push(new Uint8Array([...ok, 0x04, 0xe3, 1, 2, 3]));
  assert.equal(frames.length, 1);
  assert.deepEqual(small.error, { code: 'BAD_FRAME_LENGTH', length: 1251, max: 1250 });
  assert.deepEqual(small.push(ok), []);
  assert.equal(small.buffered, 0);
});
