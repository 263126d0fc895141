import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LocalProtocolError } from '../../../src/base/errors.ts';
import { createDataCrypto, defaultBackend, evpBackendStatus } from '../../../src/dataplane/create-data-crypto.ts';
import { EvpDataCrypto } from '../../../src/dataplane/evp.ts';
import { NodeDataCrypto } from '../../../src/dataplane/node-crypto.ts';
import { DropReason, dropReasonName, DROP_REASON_SLOTS, isDropReason } from '../../../src/dataplane/drop-reason.ts';

const key = { cipher: new Uint8Array(64).fill(1), hmac: new Uint8Array(64).fill(2) };

describe('createDataCrypto', () => {
  it('defaults to the EVP backend, which loads on this Node', () => {
    assert.equal(evpBackendStatus().available, true, evpBackendStatus().reason);
    assert.equal(defaultBackend(), 'evp');
    assert.ok(createDataCrypto('aes-256-gcm', undefined, key) instanceof EvpDataCrypto);
    assert.ok(createDataCrypto('AES-256-GCM', undefined, key, { backend: 'node' }) instanceof NodeDataCrypto);
  });

  it('CBC takes the auth digest (SHA1 by default), AEAD ignores it', () => {
    assert.equal(createDataCrypto('AES-128-CBC', 'SHA512', key).auth?.name, 'SHA512');
    assert.equal(createDataCrypto('AES-128-CBC', undefined, key).auth?.name, 'SHA1');
    assert.equal(createDataCrypto('AES-128-GCM', 'SHA512', key).auth, undefined);
  });

  it('refuses what unsupportedCipherReason refuses, with that reason', () => {
    assert.throws(() => createDataCrypto('ROT13', undefined, key), (e: unknown) => e instanceof LocalProtocolError && /data-ciphers/.test(e.message));
    assert.throws(() => createDataCrypto('AES-256-CBC', 'none', key), LocalProtocolError);
  });
});

describe('DropReason', () => {
  it('codes are distinct small negatives with names', () => {
    const codes = Object.values(DropReason);
    assert.equal(new Set(codes).size, codes.length);
    for (const c of codes) {
      assert.ok(isDropReason(c));
      assert.ok(-c < DROP_REASON_SLOTS);
    }
    assert.equal(dropReasonName(DropReason.AUTH), 'AUTH');
    assert.equal(dropReasonName(-99), 'UNKNOWN(-99)');
    assert.equal(isDropReason(0), false);
  });
});
