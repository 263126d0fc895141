/**
 * Control-channel wrapping against OpenVPN's own packets (test_pkt.c client_reset_v2_tls_auth,
 * client_ack_tls_auth_randomid, client_reset_v2_tls_crypt; test_tls_crypt.c dynamic-key
 * ciphertext): exact bytes both ways, then failures as values (SHORT, HMAC, REPLAY, WKC).
 */
import { readVector } from '../../helpers/repo.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, hex } from '../../../src/base/bytes.ts';
import { decodeControlPacket, encodeControlPacket, Opcode, type ControlOpcode } from '../../../src/tls/packet.ts';
import { keyDirectionSlices, parseStaticKey, parseTlsCryptV2ClientKey } from '../../../src/tls/static-key.ts';
import {
  EARLY_NEG_START,
  NoneWrap,
  PacketIdSend,
  TlsAuthWrap,
  tlsAuthDigestSize,
  TlsCryptV2Wrap,
  TlsCryptWrap,
  tlsCryptOpen,
  tlsCryptSeal,
  type ControlWrap,
} from '../../../src/tls/wrap.ts';

function loadVector<T>(name: string): T {
  return readVector<T>('control', name);
}

interface AuthVector {
  readonly name: string;
  readonly source: string;
  readonly key: string;
  readonly digest: string;
  readonly wire: string;
  readonly plain: string;
  readonly pid: number;
  readonly time: number;
}
interface CryptVector {
  readonly source: string;
  readonly key: string;
  readonly wire: string;
  readonly pid: number;
  readonly time: number;
  readonly decoded: { opcode: number; keyId: number; sessionId: string; messageId: number };
}

const authVectors = ['client_reset_v2_tls_auth.json', 'client_ack_tls_auth_randomid.json'].map((f) => loadVector<AuthVector>(f));
const cryptVector = loadVector<CryptVector>('client_reset_v2_tls_crypt.json');
const staticKey = parseStaticKey(cryptVector.key);

function plainPacket(opcode: ControlOpcode, messageId = 0, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return encodeControlPacket({ opcode, keyId: 0, sessionId: fromHex('0102030405060708'), acks: [], messageId, payload });
}

/** Every proper prefix fails with SHORT below `minLen` and with `longer` from there on. */
function assertTruncations(w: ControlWrap, wire: Uint8Array, minLen: number, longer: string): void {
  for (let n = 0; n < wire.byteLength; n++) {
    const r = w.unwrap(wire.subarray(0, n), 0);
    assert.deepEqual(r, { ok: false, reason: n < minLen ? 'SHORT' : longer }, `prefix of ${n} bytes`);
  }
}

function assertEveryByteFlipFails(make: () => ControlWrap, wire: Uint8Array, reason: string): void {
  for (let i = 0; i < wire.byteLength; i++) {
    const bad = wire.slice();
    bad[i] = (bad[i] ?? 0) ^ 0x23;
    assert.deepEqual(make().unwrap(bad, 0), { ok: false, reason }, `byte ${i} flipped`);
  }
}

for (const v of authVectors) {
  test(`tls-auth: ${v.name} (${v.source}) re-encodes exactly and unwraps on the server side`, () => {
    const client = new TlsAuthWrap({ key: staticKey, direction: 1, digest: v.digest });
    assert.equal(hex(client.wrap(fromHex(v.plain), v.pid, v.time)), v.wire);
    const server = new TlsAuthWrap({ key: staticKey, direction: 0, digest: v.digest });
    const r = server.unwrap(fromHex(v.wire), v.time);
    assert.ok(r.ok);
    assert.equal(hex(r.packet), v.plain);
    assert.equal(r.pid, v.pid);
    assert.equal(r.time, v.time);
    assert.deepEqual(server.unwrap(fromHex(v.wire), v.time), { ok: false, reason: 'REPLAY' });
  });
}

test('tls-auth: decoded reset from the vector', () => {
  const [reset] = authVectors;
  assert.ok(reset);
  const r = new TlsAuthWrap({ key: staticKey, direction: 0 }).unwrap(fromHex(reset.wire), 0);
  assert.ok(r.ok);
  const p = decodeControlPacket(r.packet);
  assert.equal(p.opcode, Opcode.CONTROL_HARD_RESET_CLIENT_V2);
  assert.equal(hex(p.sessionId), 'de694c5c7bfba274');
  assert.equal(p.messageId, 0);
});

test('tls-auth: wrong direction or wrong key is an HMAC failure; flips and truncations are values', () => {
  const [reset] = authVectors;
  assert.ok(reset);
  const wire = fromHex(reset.wire);
  assert.deepEqual(new TlsAuthWrap({ key: staticKey, direction: 1 }).unwrap(wire, 0), { ok: false, reason: 'HMAC' });
  assert.deepEqual(new TlsAuthWrap({ key: staticKey, direction: undefined }).unwrap(wire, 0), { ok: false, reason: 'HMAC' });
  const otherKey = staticKey.slice();
  otherKey[192] = (otherKey[192] ?? 0) ^ 1;
  assert.deepEqual(new TlsAuthWrap({ key: otherKey, direction: 0 }).unwrap(wire, 0), { ok: false, reason: 'HMAC' });
  assertEveryByteFlipFails(() => new TlsAuthWrap({ key: staticKey, direction: 0 }), wire, 'HMAC');
  assertTruncations(new TlsAuthWrap({ key: staticKey, direction: 0 }), wire, 1 + 8 + 20 + 8, 'HMAC');
});

test('tls-auth: other digests, bidirectional keys, replay window over pids', () => {
  for (const [digest, size] of [['SHA256', 32], ['sha512', 64], ['SHA1', 20]] as const) {
    assert.equal(tlsAuthDigestSize(digest), size);
    const a = new TlsAuthWrap({ key: staticKey, direction: undefined, digest });
    const b = new TlsAuthWrap({ key: staticKey, direction: undefined, digest });
    assert.equal(a.overhead, size + 8);
    const plain = plainPacket(Opcode.CONTROL_V1, 3, fromHex('16030100'));
    const wire = a.wrap(plain, 7, 1_700_000_000);
    assert.equal(wire.byteLength, plain.byteLength + size + 8);
    const r = b.unwrap(wire, 1_700_000_000);
    assert.ok(r.ok);
    assert.equal(hex(r.packet), hex(plain));
  }
  assert.equal(tlsAuthDigestSize('none'), undefined);
  assert.equal(tlsAuthDigestSize('NOT-A-DIGEST'), undefined);
  assert.throws(() => new TlsAuthWrap({ key: staticKey, direction: 0, digest: 'bogus' }), RangeError);

  const tx = new TlsAuthWrap({ key: staticKey, direction: 1 });
  const rx = new TlsAuthWrap({ key: staticKey, direction: 0 });
  const plain = plainPacket(Opcode.CONTROL_V1, 1);
  const at = (pid: number, time = 1000): boolean => rx.unwrap(tx.wrap(plain, pid, time), 1000).ok;
  assert.equal(at(2), true);
  assert.equal(at(1), true); // reordered, inside the window
  assert.equal(at(2), false);
  assert.equal(at(0), false); // id 0 is never valid
  assert.equal(at(3, 999), false); // time went back
});

test('tls-crypt: client_reset_v2_tls_crypt re-encodes exactly (client INVERSE) and the server unwraps it', () => {
  const d = cryptVector.decoded;
  const plain = encodeControlPacket({
    opcode: d.opcode as ControlOpcode, keyId: d.keyId, sessionId: fromHex(d.sessionId), acks: [], messageId: d.messageId,
    payload: new Uint8Array(0),
  });
  const client = new TlsCryptWrap({ key: staticKey });
  assert.equal(client.overhead, 40);
  assert.equal(hex(client.wrap(plain, cryptVector.pid, cryptVector.time)), cryptVector.wire);
  const server = new TlsCryptWrap({ key: staticKey, role: 'server' });
  const r = server.unwrap(fromHex(cryptVector.wire), cryptVector.time);
  assert.ok(r.ok);
  assert.equal(hex(r.packet), hex(plain));
  assert.equal(r.pid, 1);
  assert.equal(r.time, cryptVector.time);
  assert.deepEqual(server.unwrap(fromHex(cryptVector.wire), cryptVector.time), { ok: false, reason: 'REPLAY' });
  // The client's own receive direction cannot open what the client sent.
  assert.deepEqual(new TlsCryptWrap({ key: staticKey }).unwrap(fromHex(cryptVector.wire), 0), { ok: false, reason: 'HMAC' });
});

test('tls-crypt: every byte flip and every truncation fails as a value', () => {
  const wire = fromHex(cryptVector.wire);
  assertEveryByteFlipFails(() => new TlsCryptWrap({ key: staticKey, role: 'server' }), wire, 'HMAC');
  assertTruncations(new TlsCryptWrap({ key: staticKey, role: 'server' }), wire, 49, 'HMAC');
  const empty = new TlsCryptWrap({ key: staticKey }).wrap(fromHex('200102030405060708'), 5, 9);
  assert.equal(empty.byteLength, 49);
  const r = new TlsCryptWrap({ key: staticKey, role: 'server' }).unwrap(empty, 9);
  assert.ok(r.ok);
  assert.equal(hex(r.packet), '200102030405060708');
});

test('tls-crypt core matches test_tls_crypt.c (dynamic key of 0xba bytes, pid 1, time 0)', () => {
  const v = loadVector<{ source: string; key: string; ad: string; plaintext: string; sealed: string }>('tls_crypt_dynamic_key.json');
  const keys = keyDirectionSlices(fromHex(v.key), 1);
  assert.equal(hex(tlsCryptSeal(keys.encrypt, fromHex(v.ad), fromHex(v.plaintext))), v.sealed);
  assert.equal(hex(tlsCryptOpen(keys.decrypt, fromHex(v.sealed), 8) ?? new Uint8Array(0)), v.plaintext);
  const bad = fromHex(v.sealed);
  bad[bad.byteLength - 1] = (bad[bad.byteLength - 1] ?? 0) ^ 1;
  assert.equal(tlsCryptOpen(keys.decrypt, bad, 8), undefined);
});

test('tls-crypt-v2: WKc appended on HARD_RESET_CLIENT_V3 and CONTROL_WKC_V1 only; early-negotiation pid', () => {
  const pem = loadVector<{ pem: string }>('tls_crypt_v2_client_key.json').pem;
  const { key, wkc } = parseTlsCryptV2ClientKey(pem);
  const client = new TlsCryptV2Wrap({ key, wkc });
  const server = new TlsCryptV2Wrap({ key, wkc, role: 'server' });
  assert.equal(client.initialPacketId, EARLY_NEG_START);
  assert.equal(new TlsCryptV2Wrap({ key, wkc, earlyNegotiation: false }).initialPacketId, 0);
  assert.equal(client.wkcLength, 299);

  const ids = new PacketIdSend(client.initialPacketId);
  const first = ids.next(1_700_000_000);
  assert.deepEqual(first, { id: 0x0f000001, time: 1_700_000_000 });

  const reset = plainPacket(Opcode.CONTROL_HARD_RESET_CLIENT_V3);
  const wire = client.wrap(reset, first.id, first.time);
  assert.equal(wire.byteLength, reset.byteLength + 40 + 299);
  assert.equal(hex(wire.subarray(wire.byteLength - 299)), hex(wkc));
  assert.equal(hex(wire.subarray(9, 13)), '0f000001');
  // Same bytes as tls-crypt with Kc, plus WKc.
  const asTlsCrypt = new TlsCryptWrap({ key }).wrap(reset, first.id, first.time);
  assert.equal(hex(wire.subarray(0, wire.byteLength - 299)), hex(asTlsCrypt));

  const r = server.unwrap(wire, 1_700_000_000);
  assert.ok(r.ok);
  assert.equal(hex(r.packet), hex(reset));

  const wkcMsg = plainPacket(Opcode.CONTROL_WKC_V1, 1, fromHex('160301'));
  assert.equal(client.wrap(wkcMsg, 0x0f000002, 1).byteLength, wkcMsg.byteLength + 40 + 299);
  const ctl = plainPacket(Opcode.CONTROL_V1, 1, fromHex('160301'));
  assert.equal(client.wrap(ctl, 0x0f000003, 1).byteLength, ctl.byteLength + 40);
});

test('tls-crypt-v2: a missing, foreign or inconsistent WKc is WKC', () => {
  const { key, wkc } = parseTlsCryptV2ClientKey(loadVector<{ pem: string }>('tls_crypt_v2_client_key.json').pem);
  const client = new TlsCryptV2Wrap({ key, wkc });
  const server = (): TlsCryptV2Wrap => new TlsCryptV2Wrap({ key, wkc, role: 'server' });
  const wire = client.wrap(plainPacket(Opcode.CONTROL_HARD_RESET_CLIENT_V3), 0x0f000001, 5);

  const foreign = wire.slice();
  foreign[wire.byteLength - 100] = (foreign[wire.byteLength - 100] ?? 0) ^ 1;
  assert.deepEqual(server().unwrap(foreign, 5), { ok: false, reason: 'WKC' });
  const badLen = wire.slice();
  badLen[wire.byteLength - 1] = 0xff;
  badLen[wire.byteLength - 2] = 0xff;
  assert.deepEqual(server().unwrap(badLen, 5), { ok: false, reason: 'WKC' });
  const zeroLen = wire.slice();
  zeroLen[wire.byteLength - 1] = 0;
  zeroLen[wire.byteLength - 2] = 0;
  assert.deepEqual(server().unwrap(zeroLen, 5), { ok: false, reason: 'WKC' });
  // Without its WKc the trailer is read from the tag or ciphertext: WKC (or HMAC), never a throw.
  const bare = new TlsCryptWrap({ key }).wrap(plainPacket(Opcode.CONTROL_HARD_RESET_CLIENT_V3), 0x0f000001, 5);
  const r = server().unwrap(bare, 5);
  assert.equal(r.ok, false);
  assert.deepEqual(server().unwrap(wire.subarray(0, 60), 5), { ok: false, reason: 'WKC' });
  assert.deepEqual(server().unwrap(wire.subarray(0, 10), 5), { ok: false, reason: 'SHORT' });
  // Server packets to the client carry no WKc and unwrap as plain tls-crypt.
  const back = server().wrap(plainPacket(Opcode.CONTROL_HARD_RESET_SERVER_V2), 1, 5);
  assert.ok(client.unwrap(back, 5).ok);
});

test('PacketIdSend: incremented before use, time fixed at first use, roll-over needs time to advance', () => {
  const p = new PacketIdSend();
  assert.deepEqual(p.next(100), { id: 1, time: 100 });
  assert.deepEqual(p.next(150), { id: 2, time: 100 });
  const q = new PacketIdSend(0xfffffffe);
  assert.deepEqual(q.next(100), { id: 0xffffffff, time: 100 });
  assert.equal(q.next(100), undefined);
  assert.deepEqual(q.next(101), { id: 1, time: 101 });
});

test('none: passes packets through, SHORT below opcode + session id', () => {
  const w = new NoneWrap();
  const plain = plainPacket(Opcode.CONTROL_HARD_RESET_CLIENT_V2);
  assert.equal(hex(w.wrap(plain)), hex(plain));
  assert.deepEqual(w.unwrap(plain), { ok: true, packet: plain, pid: 0, time: 0 });
  assert.deepEqual(w.unwrap(plain.subarray(0, 8)), { ok: false, reason: 'SHORT' });
  assert.throws(() => w.wrap(plain.subarray(0, 8)), RangeError);
});
