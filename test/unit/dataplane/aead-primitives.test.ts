/** AEAD primitives against published vectors, through node:crypto and through the EVP bindings evp.ts uses. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { fromHex, hex } from '../../../src/base/bytes.ts';
import { loadEvp } from '../../../src/dataplane/evp.ts';
import { loadVector, type AeadPrimitiveVector } from './vectors.ts';

const { vectors } = loadVector<{ vectors: AeadPrimitiveVector[] }>('aead-primitives.json');
const GET_TAG = 0x10;
const SET_TAG = 0x11;

describe('AEAD primitives (GCM spec test cases, RFC 8439)', () => {
  for (const v of vectors) {
    it(`${v.name} via node:crypto`, () => {
      const c = createCipheriv(v.cipher as 'aes-128-gcm', fromHex(v.keyHex), fromHex(v.nonceHex), { authTagLength: 16 });
      c.setAAD(fromHex(v.aadHex));
      const ct = Buffer.concat([c.update(fromHex(v.plaintextHex)), c.final()]);
      assert.equal(hex(ct), v.ciphertextHex);
      assert.equal(hex(c.getAuthTag()), v.tagHex);
    });

    it(`${v.name} via EVP (koffi)`, () => {
      const e = loadEvp();
      const type = e.cipherByName(v.cipher);
      const key = fromHex(v.keyHex);
      const nonce = fromHex(v.nonceHex);
      const aad = fromHex(v.aadHex);
      const pt = fromHex(v.plaintextHex);
      const outl = new Int32Array(1);
      const ct = new Uint8Array(pt.byteLength + 16);
      const tag = new Uint8Array(16);
      const ctx = e.ctxNew();
      assert.equal(e.encryptInit(ctx, type, null, key, nonce), 1);
      e.encryptUpdate(ctx, null, outl, aad, aad.byteLength);
      e.encryptUpdate(ctx, ct, outl, pt, pt.byteLength);
      const n = outl[0] ?? 0;
      e.encryptFinal(ctx, ct.subarray(n), outl);
      e.ctrl(ctx, GET_TAG, 16, tag);
      assert.equal(hex(ct.subarray(0, n)), v.ciphertextHex);
      assert.equal(hex(tag), v.tagHex);
      // and back, with the tag checked by DecryptFinal
      const back = new Uint8Array(pt.byteLength + 16);
      assert.equal(e.decryptInit(ctx, type, null, key, nonce), 1);
      e.decryptUpdate(ctx, null, outl, aad, aad.byteLength);
      e.decryptUpdate(ctx, back, outl, ct, n);
      e.ctrl(ctx, SET_TAG, 16, tag);
      assert.equal(e.decryptFinal(ctx, back.subarray(n), outl), 1);
      assert.equal(hex(back.subarray(0, n)), v.plaintextHex);
      tag[0] = (tag[0] ?? 0) ^ 1;
      assert.equal(e.decryptInit(ctx, null, null, null, nonce), 1);
      e.decryptUpdate(ctx, null, outl, aad, aad.byteLength);
      e.decryptUpdate(ctx, back, outl, ct, n);
      e.ctrl(ctx, SET_TAG, 16, tag);
      assert.equal(e.decryptFinal(ctx, back.subarray(n), outl), 0, 'a wrong tag must fail');
      e.ctxFree(ctx);
      const d = createDecipheriv(v.cipher as 'aes-128-gcm', key, nonce, { authTagLength: 16 });
      d.setAAD(aad);
      d.setAuthTag(fromHex(v.tagHex));
      assert.equal(hex(Buffer.concat([d.update(ct.subarray(0, n)), d.final()])), v.plaintextHex);
    });
  }
});
