/**
 * Data-channel key material: legacy PRF derivation against an OpenSSL-CLI vector
 * (test/vectors/keys/prf.json), the EKM label, and key2 slicing for the client direction.
 */
import { readVector } from '../../helpers/repo.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, hex } from '../../../src/base/bytes.ts';
import { LocalProtocolError } from '../../../src/base/errors.ts';
import {
  dataChannelKeys,
  deriveKeysPrf,
  EKM_LABEL,
  KEY2_LENGTH,
  PRF_KEY_EXPANSION_LABEL,
  PRF_MASTER_SECRET_LABEL,
} from '../../../src/tls/keys.ts';
import type { PrfKeySources } from '../../../src/tls/keys.ts';
import { nodeHmac } from '../../../src/tls/node-hmac.ts';

function loadKeyVectors(name: string): unknown {
  return readVector('keys', name);
}

interface ExpansionVector {
  readonly clientPreMaster: string;
  readonly clientRandom1: string;
  readonly serverRandom1: string;
  readonly clientRandom2: string;
  readonly serverRandom2: string;
  readonly clientSessionId: string;
  readonly serverSessionId: string;
  readonly key2: string;
}
const v = (loadKeyVectors('prf.json') as { keyExpansion: ExpansionVector }).keyExpansion;

interface CapturedPrf extends Omit<ExpansionVector, 'key2'> {
  readonly sendCipherKey: string;
  readonly receiveCipherKey: string;
  readonly sendImplicitIv: string;
  readonly receiveImplicitIv: string;
}
const captured = (loadKeyVectors('openvpn-2.6.14-capture.json') as { prf: CapturedPrf }).prf;

function sources(): PrfKeySources {
  return {
    clientPreMaster: fromHex(v.clientPreMaster),
    clientRandom1: fromHex(v.clientRandom1),
    serverRandom1: fromHex(v.serverRandom1),
    clientRandom2: fromHex(v.clientRandom2),
    serverRandom2: fromHex(v.serverRandom2),
    clientSessionId: fromHex(v.clientSessionId),
    serverSessionId: fromHex(v.serverSessionId),
  };
}

/** key2 = 0x00, 0x01, ... 0xff: every byte names its own offset. */
const PATTERN = Uint8Array.from({ length: 256 }, (_, i) => i);
const range = (from: number, n: number): string => hex(PATTERN.subarray(from, from + n));

test('labels are OpenVPN\'s (ssl.h KEY_EXPANSION_ID, ssl_backend.h EXPORT_KEY_DATA_LABEL)', () => {
  assert.equal(EKM_LABEL, 'EXPORTER-OpenVPN-datakeys');
  assert.equal(PRF_MASTER_SECRET_LABEL, 'OpenVPN master secret');
  assert.equal(PRF_KEY_EXPANSION_LABEL, 'OpenVPN key expansion'); // no trailing space (rfc draft has one)
  assert.equal(KEY2_LENGTH, 256);
});

test('deriveKeysPrf matches the OpenSSL-computed key2', () => {
  const key2 = deriveKeysPrf(nodeHmac, sources());
  assert.equal(key2.byteLength, 256);
  assert.equal(hex(key2), v.key2);
});

test('the session ids are part of the key-expansion seed (rfc draft omits them)', () => {
  const base = hex(deriveKeysPrf(nodeHmac, sources()));
  const swapped = { ...sources(), clientSessionId: fromHex(v.serverSessionId), serverSessionId: fromHex(v.clientSessionId) };
  assert.notEqual(hex(deriveKeysPrf(nodeHmac, swapped)), base);
  const otherR1 = { ...sources(), serverRandom1: new Uint8Array(32) };
  assert.notEqual(hex(deriveKeysPrf(nodeHmac, otherR1)), base);
});

test('deriveKeysPrf rejects wrong input lengths', () => {
  assert.throws(() => deriveKeysPrf(nodeHmac, { ...sources(), clientPreMaster: new Uint8Array(47) }), LocalProtocolError);
  assert.throws(() => deriveKeysPrf(nodeHmac, { ...sources(), serverSessionId: new Uint8Array(9) }), LocalProtocolError);
});

test('real OpenVPN 2.6.14 client: PRF derivation + AES-256-GCM slicing give its logged keys and IVs', () => {
  const key2 = deriveKeysPrf(nodeHmac, {
    clientPreMaster: fromHex(captured.clientPreMaster),
    clientRandom1: fromHex(captured.clientRandom1),
    serverRandom1: fromHex(captured.serverRandom1),
    clientRandom2: fromHex(captured.clientRandom2),
    serverRandom2: fromHex(captured.serverRandom2),
    clientSessionId: fromHex(captured.clientSessionId),
    serverSessionId: fromHex(captured.serverSessionId),
  });
  const k = dataChannelKeys(key2, { keyLen: 32, implicitIvLen: 8 });
  assert.equal(hex(k.send.cipherKey), captured.sendCipherKey);
  assert.equal(hex(k.send.hmacKeyOrImplicitIv), captured.sendImplicitIv);
  assert.equal(hex(k.receive.cipherKey), captured.receiveCipherKey);
  assert.equal(hex(k.receive.hmacKeyOrImplicitIv), captured.receiveImplicitIv);
});

test('AES-256-GCM slicing: send key[0] (0..31, IV 64..71), receive key[1] (128..159, IV 192..199)', () => {
  const k = dataChannelKeys(PATTERN, { keyLen: 32, implicitIvLen: 8 });
  assert.equal(hex(k.send.cipherKey), range(0, 32));
  assert.equal(hex(k.send.hmacKeyOrImplicitIv), range(64, 8));
  assert.equal(hex(k.receive.cipherKey), range(128, 32));
  assert.equal(hex(k.receive.hmacKeyOrImplicitIv), range(192, 8));
});

test('AES-128-CBC + SHA256 slicing: 16-byte cipher keys, 32-byte HMAC keys', () => {
  const k = dataChannelKeys(PATTERN, { keyLen: 16, hmacKeyLen: 32 });
  assert.equal(hex(k.send.cipherKey), range(0, 16));
  assert.equal(hex(k.send.hmacKeyOrImplicitIv), range(64, 32));
  assert.equal(hex(k.receive.cipherKey), range(128, 16));
  assert.equal(hex(k.receive.hmacKeyOrImplicitIv), range(192, 32));
});

test('slicing the derived vector key2 for CHACHA20-POLY1305', () => {
  const key2 = fromHex(v.key2);
  const k = dataChannelKeys(key2, { keyLen: 32, implicitIvLen: 8 });
  assert.equal(hex(k.send.cipherKey), v.key2.slice(0, 64));
  assert.equal(hex(k.receive.hmacKeyOrImplicitIv), v.key2.slice(384, 400));
});

test('slices are copies: wiping key2 afterwards does not change them', () => {
  const key2 = PATTERN.slice();
  const k = dataChannelKeys(key2, { keyLen: 32, implicitIvLen: 8 });
  key2.fill(0);
  assert.equal(hex(k.send.cipherKey), range(0, 32));
});

test('dataChannelKeys rejects a short key2 and out-of-range lengths', () => {
  assert.throws(() => dataChannelKeys(new Uint8Array(255), { keyLen: 32, implicitIvLen: 8 }), LocalProtocolError);
  assert.throws(() => dataChannelKeys(PATTERN, { keyLen: 65, implicitIvLen: 8 }), LocalProtocolError);
  assert.throws(() => dataChannelKeys(PATTERN, { keyLen: 32, hmacKeyLen: 65 }), LocalProtocolError);
});
