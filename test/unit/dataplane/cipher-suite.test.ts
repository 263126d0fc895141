import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  availableCiphers,
  lookupAuth,
  lookupCipher,
  unsupportedCipherReason,
} from '../../../src/dataplane/cipher-suite.ts';
import { NodeCryptoCaps } from '../../../src/dataplane/cipher-probe.ts';

const caps = new NodeCryptoCaps();

describe('cipher-suite', () => {
  it('looks names up case-insensitively, with aliases', () => {
    assert.equal(lookupCipher('aes-256-gcm')?.name, 'AES-256-GCM');
    assert.equal(lookupCipher('ChaCha20-Poly1305')?.name, 'CHACHA20-POLY1305');
    assert.equal(lookupCipher('id-aes128-GCM')?.name, 'AES-128-GCM');
    assert.equal(lookupCipher('Aes-128-Cbc')?.name, 'AES-128-CBC');
    assert.equal(lookupCipher('ROT13'), undefined);
    assert.equal(lookupAuth('sha256')?.digestLength, 32);
    assert.equal(lookupAuth('SHA-512')?.digestLength, 64);
    assert.equal(lookupAuth('none'), undefined);
  });

  it('has the sizes OpenVPN uses', () => {
    const sizes = (n: string): [number, number, number, string] => {
      const c = lookupCipher(n);
      assert.ok(c, n);
      return [c.keyLength, c.ivLength, c.tagLength, c.mode];
    };
    assert.deepEqual(sizes('AES-128-GCM'), [16, 12, 16, 'aead']);
    assert.deepEqual(sizes('AES-192-GCM'), [24, 12, 16, 'aead']);
    assert.deepEqual(sizes('AES-256-GCM'), [32, 12, 16, 'aead']);
    assert.deepEqual(sizes('CHACHA20-POLY1305'), [32, 12, 16, 'aead']);
    assert.deepEqual(sizes('AES-256-CBC'), [32, 16, 0, 'cbc']);
    assert.deepEqual(sizes('BF-CBC'), [16, 8, 0, 'cbc']);
    assert.equal(lookupAuth('SHA1')?.digestLength, 20);
    assert.equal(lookupAuth('SHA384')?.digestLength, 48);
  });

  it('the default data-ciphers and AES-CBC are available here', () => {
    const names = availableCiphers(caps).map((c) => c.name);
    for (const n of ['AES-128-GCM', 'AES-192-GCM', 'AES-256-GCM', 'CHACHA20-POLY1305', 'AES-128-CBC', 'AES-256-CBC']) {
      assert.ok(names.includes(n), n);
      assert.equal(unsupportedCipherReason(caps, n, 'SHA256'), undefined, n);
    }
  });

  it('explains unusable ciphers with the server-side fix', () => {
    const bf = unsupportedCipherReason(caps, 'BF-CBC', 'SHA1');
    if (availableCiphers(caps).some((c) => c.name === 'BF-CBC')) {
      assert.equal(bf, undefined);
    } else {
      assert.match(bf ?? '', /BF-CBC .*legacy provider.*data-ciphers/);
    }
    assert.match(unsupportedCipherReason(caps, 'ROT13') ?? '', /unknown.*data-ciphers AES-256-GCM/);
    assert.match(unsupportedCipherReason(caps, 'none') ?? '', /cipher none/);
    assert.match(unsupportedCipherReason(caps, 'AES-256-CBC', 'none') ?? '', /auth none/);
    assert.match(unsupportedCipherReason(caps, 'AES-256-CBC', 'WHIRLPOOL') ?? '', /auth digest WHIRLPOOL/);
    assert.equal(unsupportedCipherReason(caps, 'AES-256-GCM', 'none'), undefined, 'auth is irrelevant for AEAD');
  });
});
