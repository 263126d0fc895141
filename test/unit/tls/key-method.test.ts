/**
 * Key method 2: client encoding byte by byte, server decoding with every error path from the
 * bad-input catalogue (protocol reference §5.2), coalesced KM2 + PUSH_REPLY, OCC options string.
 */
import { readVector } from '../../helpers/repo.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteReader, ByteWriter, concatBytes, hex } from '../../../src/base/bytes.ts';
import { ConfigError, RemoteProtocolError } from '../../../src/base/errors.ts';
import { SeededRandom } from '../../../src/base/clock.ts';
import {
  decodeServerKeyMethod2,
  encodeClientKeyMethod2,
  newClientKeySource,
  occOptionsString,
  SERVER_KM2_MIN_LENGTH,
} from '../../../src/tls/key-method.ts';
import type { ClientKeySource } from '../../../src/tls/key-method.ts';
import { classifyControlMessage, splitControlMessages } from '../../../src/tls/messages.ts';

function loadKeyVectors(name: string): unknown {
  return readVector('keys', name);
}
const captured = loadKeyVectors('openvpn-2.6.14-capture.json') as { clientOccOptions: string };

const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
const ks: ClientKeySource = { preMaster: fill(48, 0xa1), random1: fill(32, 0xb2), random2: fill(32, 0xc3) };
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const OPTS = 'V4,dev-type tun,link-mtu 1521,tun-mtu 1500,proto UDPv4,auth SHA1,keysize 128,key-method 2,tls-server';

/** A server KM2 as OpenVPN 2.6 writes it: options, then three u16 0 (no user/pass/peer-info). */
function serverKm2(opts: {
  method?: number;
  options?: Uint8Array | 'absent';
  tail?: Uint8Array;
} = {}): Uint8Array {
  const w = new ByteWriter();
  w.u32(0).u8(opts.method ?? 2).bytes(fill(32, 0x11)).bytes(fill(32, 0x22));
  const o = opts.options ?? concatBytes(ascii(OPTS), new Uint8Array([0]));
  if (o === 'absent') w.u16(0);
  else w.u16(o.byteLength).bytes(o);
  w.bytes(opts.tail ?? new Uint8Array([0, 0, 0, 0, 0, 0]));
  return w.finish();
}

function expectBad(bytes: Uint8Array, re: RegExp): void {
  assert.throws(() => decodeServerKeyMethod2(bytes), (e: unknown) => {
    assert.ok(e instanceof RemoteProtocolError);
    assert.equal(e.code, 'BAD_MESSAGE');
    assert.match(e.message, re);
    return true;
  });
}

test('client KM2 layout: u32 0, u8 2, pre_master, randoms, 4 strings with NUL-inclusive lengths', () => {
  const bytes = encodeClientKeyMethod2({
    keySource: ks,
    options: 'V4',
    credentials: { username: 'alice', password: 'pw' },
    peerInfo: 'IV_VER=2.6.14\n',
  });
  const r = new ByteReader(bytes);
  assert.equal(r.u32(), 0);
  assert.equal(r.u8(), 2);
  assert.equal(hex(r.bytes(48)), hex(ks.preMaster));
  assert.equal(hex(r.bytes(32)), hex(ks.random1));
  assert.equal(hex(r.bytes(32)), hex(ks.random2));
  assert.equal(hex(r.rest()), '0003' + '563400' + '0006' + hex(ascii('alice')) + '00' + '0003' + '707700' + '000f' + hex(ascii('IV_VER=2.6.14\n')) + '00');
});

test('absent username/password/peer-info are written as u16 0, not as a lone NUL', () => {
  const bytes = encodeClientKeyMethod2({ keySource: ks, options: 'V4' });
  assert.equal(bytes.byteLength, 4 + 1 + 48 + 32 + 32 + 2 + 3 + 2 + 2 + 2);
  assert.equal(hex(bytes.subarray(bytes.byteLength - 6)), '000000000000');
});

test('credentials longer than 127 bytes are refused before sending, without echoing them', () => {
  const long = 'x'.repeat(128);
  assert.throws(
    () => encodeClientKeyMethod2({ keySource: ks, options: 'V4', credentials: { username: 'u', password: long } }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, 'CONFIG_LIMIT');
      assert.match(e.message, /password is 128 bytes/);
      assert.doesNotMatch(e.message, /xxxx/);
      return true;
    },
  );
  // Exactly 127 is fine; multi-byte UTF-8 counts bytes, not characters.
  encodeClientKeyMethod2({ keySource: ks, options: 'V4', credentials: { username: 'x'.repeat(127), password: 'p' } });
  assert.throws(
    () => encodeClientKeyMethod2({ keySource: ks, options: 'V4', credentials: { username: 'é'.repeat(64), password: 'p' } }),
    ConfigError,
  );
  // A server built with a larger USER_PASS_LEN can be allowed explicitly.
  encodeClientKeyMethod2({ keySource: ks, options: 'V4', credentials: { username: 'u', password: long } }, { maxCredentialBytes: 4095 });
});

test('newClientKeySource draws 48 + 32 + 32 bytes from the Random port', () => {
  const a = newClientKeySource(new SeededRandom(7));
  const b = newClientKeySource(new SeededRandom(7));
  assert.equal(a.preMaster.byteLength, 48);
  assert.equal(a.random1.byteLength, 32);
  assert.equal(a.random2.byteLength, 32);
  assert.equal(hex(a.random2), hex(b.random2));
  assert.notEqual(hex(a.random1), hex(a.random2));
});

test('server KM2 as a 2.6 server writes it decodes, consuming every byte', () => {
  const bytes = serverKm2();
  const { message, consumed } = decodeServerKeyMethod2(bytes);
  assert.equal(consumed, bytes.byteLength);
  assert.equal(hex(message.random1), hex(fill(32, 0x11)));
  assert.equal(hex(message.random2), hex(fill(32, 0x22)));
  assert.equal(message.options, OPTS);
  assert.equal(message.username, undefined);
  assert.equal(message.password, undefined);
  assert.equal(message.peerInfo, undefined);
});

test('a 1-byte NUL string counts as empty; trailing fields may be missing at the end', () => {
  const oneNul = serverKm2({ tail: new Uint8Array([0, 1, 0, 0, 1, 0, 0, 1, 0]) });
  const d = decodeServerKeyMethod2(oneNul);
  assert.equal(d.message.username, undefined);
  assert.equal(d.message.peerInfo, undefined);
  assert.equal(d.consumed, oneNul.byteLength);
  const short = serverKm2({ tail: new Uint8Array(0) });
  assert.equal(decodeServerKeyMethod2(short).consumed, short.byteLength);
  const emptyOptions = serverKm2({ options: new Uint8Array([0]) });
  assert.equal(decodeServerKeyMethod2(emptyOptions).message.options, '');
});

test('server peer-info, if present, is returned', () => {
  const pi = concatBytes(ascii('IV_VER=2.6.14\n'), new Uint8Array([0]));
  const tail = concatBytes(new Uint8Array([0, 0, 0, 0, 0, pi.byteLength]), pi);
  assert.equal(decodeServerKeyMethod2(serverKm2({ tail })).message.peerInfo, 'IV_VER=2.6.14\n');
});

test('KM2 coalesced with PUSH_REPLY: consumed marks the boundary, the rest splits into messages', () => {
  const km2 = serverKm2();
  const push = ascii('PUSH_REPLY,route-gateway 10.8.0.1,topology subnet,ping 10\0');
  const chunk = concatBytes(km2, push);
  const { consumed } = decodeServerKeyMethod2(chunk);
  assert.equal(consumed, km2.byteLength);
  const split = splitControlMessages(chunk.subarray(consumed));
  assert.equal(split.messages.length, 1);
  const m = classifyControlMessage(split.messages[0] ?? '');
  assert.equal(m.kind, 'PUSH_REPLY');
  if (m.kind === 'PUSH_REPLY') assert.deepEqual(m.options, ['route-gateway 10.8.0.1', 'topology subnet', 'ping 10']);
});

test('decode errors: too short (every length below 71)', () => {
  assert.equal(SERVER_KM2_MIN_LENGTH, 71);
  const full = serverKm2({ options: 'absent', tail: new Uint8Array(0) });
  assert.equal(full.byteLength, 71);
  decodeServerKeyMethod2(full); // exactly 71 is accepted
  for (const n of [0, 1, 4, 5, 69, 70]) expectBad(full.subarray(0, n), /shorter than 71/);
});

test('decode errors: key_method other than 2 (low nibble), flags in the high nibble accepted', () => {
  expectBad(serverKm2({ method: 1 }), /key_method/);
  expectBad(serverKm2({ method: 3 }), /key_method/);
  expectBad(serverKm2({ method: 0 }), /key_method/);
  assert.equal(decodeServerKeyMethod2(serverKm2({ method: 0x12 })).message.options, OPTS);
});

test('decode errors: string lengths beyond the buffer', () => {
  const w = new ByteWriter();
  w.u32(0).u8(2).bytes(fill(64, 1)).u16(200).bytes(ascii('V4\0'));
  expectBad(w.finish(), /options: length 200 beyond end/);
  expectBad(serverKm2({ tail: new Uint8Array([0, 0, 0, 0, 0, 9, 0x41, 0]) }), /peer-info: length 9 beyond end/);
  expectBad(serverKm2({ tail: new Uint8Array([0, 5, 0x41]) }), /username: length 5 beyond end/);
  expectBad(serverKm2({ tail: new Uint8Array([0]) }), /username: missing length/);
});

test('decode errors: options longer than TLS_OPTIONS_LEN', () => {
  const big = concatBytes(fill(600, 0x41), new Uint8Array([0]));
  expectBad(serverKm2({ options: big }), /options: length 601 exceeds 512/);
});

test('decode errors: strings without a NUL, or with an embedded NUL', () => {
  expectBad(serverKm2({ options: ascii('V4,x') }), /options: not NUL-terminated/);
  expectBad(serverKm2({ tail: new Uint8Array([0, 2, 0x41, 0x42, 0, 0, 0, 0]) }), /username: not NUL-terminated/);
  expectBad(serverKm2({ options: ascii('V4\0x\0') }), /options: embedded NUL/);
});

test('OCC options string equals what a real default 2.6.14 client logged', () => {
  assert.equal(occOptionsString({ devType: 'tun', linkMtu: 1541, tunMtu: 1500, proto: 'udp', auth: 'SHA1' }), captured.clientOccOptions);
});

test('OCC options string of a default 2.6 client over UDP', () => {
  assert.equal(
    occOptionsString({ devType: 'tun', linkMtu: 1521, tunMtu: 1500, proto: 'udp', auth: 'SHA1' }),
    'V4,dev-type tun,link-mtu 1521,tun-mtu 1500,proto UDPv4,auth SHA1,keysize 128,key-method 2,tls-client',
  );
});

test('OCC options string with tls-auth, key-direction, cipher, compression, fragment over TCP', () => {
  assert.equal(
    occOptionsString({
      devType: 'tun', linkMtu: 1559, tunMtu: 1500, proto: 'tcp-client', compression: true, fragment: true,
      keyDirection: 1, cipher: { name: 'AES-256-CBC', keyBits: 256 }, auth: 'SHA256', tlsAuth: true, noReplay: true,
    }),
    'V4,dev-type tun,link-mtu 1559,tun-mtu 1500,proto TCPv4_CLIENT,comp-lzo,mtu-dynamic,keydir 1,' +
      'cipher AES-256-CBC,auth SHA256,keysize 256,no-replay,tls-auth,key-method 2,tls-client',
  );
});
