/**
 * DataCrypto over node:crypto: the reference implementation (correctness first). It allocates
 * a Cipher object and a few Buffers per packet, which is why evp.ts exists; both pass the
 * same contract suite (test/contract/dataplane/crypto.contract.ts).
 *
 * Never throws per packet (node:crypto's exceptions become DropReason values), never logs,
 * never keeps plaintext beyond the call. CBC IVs come from the OS RNG (randomFillSync) as
 * OpenVPN's prng_bytes does.
 */
import { createCipheriv, createDecipheriv, createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import type { CipherGCMTypes } from 'node:crypto';
import type { AuthSpec, CipherSpec } from './cipher-suite.ts';
import { AEAD_TAG_LENGTH, PACKET_ID_LENGTH } from './cipher-suite.ts';
import type { DataCrypto, DirectionKey } from './data-crypto.ts';
import { getU32, pkcs7Unpad, putU32, sealOverhead, sealedLength } from './data-crypto.ts';
import { DropReason } from './drop-reason.ts';

// Typed as GCM for the overload; chacha20-poly1305 takes the same options at run time.
type AeadName = CipherGCMTypes;

function buf(u: Uint8Array, start: number, end: number): Buffer {
  return Buffer.from(u.buffer, u.byteOffset + start, end - start);
}

export class NodeDataCrypto implements DataCrypto {
  readonly cipher: CipherSpec;
  readonly auth: AuthSpec | undefined;
  readonly overhead: number;
  lastPacketId = 0;
  readonly #key: Buffer;
  readonly #hmacKey: Buffer;
  /** AEAD: packet_id(4) || implicit_iv(8); bytes 0..3 rewritten per packet. */
  readonly #nonce: Buffer;
  readonly #iv: Buffer;
  readonly #pid = Buffer.alloc(PACKET_ID_LENGTH);

  constructor(cipher: CipherSpec, auth: AuthSpec | undefined, key: DirectionKey) {
    if (cipher.mode === 'cbc' && auth === undefined) throw new RangeError(`${cipher.name} needs an HMAC digest`);
    this.cipher = cipher;
    this.auth = cipher.mode === 'aead' ? undefined : auth;
    this.overhead = sealOverhead(cipher, this.auth);
    this.#key = Buffer.from(key.cipher.subarray(0, cipher.keyLength));
    this.#hmacKey = Buffer.from(key.hmac.subarray(0, this.auth?.digestLength ?? 0));
    this.#nonce = Buffer.alloc(cipher.ivLength);
    if (cipher.mode === 'aead') this.#nonce.set(key.hmac.subarray(0, cipher.ivLength - PACKET_ID_LENGTH), PACKET_ID_LENGTH);
    this.#iv = Buffer.alloc(cipher.ivLength);
  }

  seal(header: Uint8Array, packetId: number, src: Uint8Array, srcLen: number, dst: Uint8Array, dstOff: number): number {
    const total = sealedLength(this.cipher, this.auth, srcLen);
    if (dstOff + total > dst.byteLength) return DropReason.BUFFER_TOO_SMALL;
    return this.cipher.mode === 'aead'
      ? this.#sealAead(header.byteLength, packetId, src, srcLen, dst, dstOff)
      : this.#sealCbc(packetId, src, srcLen, dst, dstOff);
  }

  open(pkt: Uint8Array, len: number, headerLen: number, dst: Uint8Array): number {
    return this.cipher.mode === 'aead' ? this.#openAead(pkt, len, headerLen, dst) : this.#openCbc(pkt, len, headerLen, dst);
  }

  dispose(): void {
    this.#key.fill(0);
    this.#hmacKey.fill(0);
    this.#nonce.fill(0); // the implicit IV is key material too
  }

  #sealAead(hdrLen: number, packetId: number, src: Uint8Array, srcLen: number, dst: Uint8Array, off: number): number {
    putU32(dst, off, packetId);
    this.#nonce.writeUInt32BE(packetId >>> 0, 0);
    const c = createCipheriv(this.cipher.nodeName as AeadName, this.#key, this.#nonce, { authTagLength: AEAD_TAG_LENGTH });
    // P_DATA_V2 authenticates the 4-byte header and the packet id (contiguous in dst); V1 the id only.
    c.setAAD(hdrLen === 4 ? buf(dst, off - 4, off + PACKET_ID_LENGTH) : buf(dst, off, off + PACKET_ID_LENGTH));
    const ct = c.update(buf(src, 0, srcLen));
    const fin = c.final();
    const ctOff = off + PACKET_ID_LENGTH + AEAD_TAG_LENGTH;
    dst.set(ct, ctOff);
    dst.set(fin, ctOff + ct.byteLength);
    dst.set(c.getAuthTag(), off + PACKET_ID_LENGTH);
    return PACKET_ID_LENGTH + AEAD_TAG_LENGTH + ct.byteLength + fin.byteLength;
  }

  #openAead(pkt: Uint8Array, len: number, hdrLen: number, dst: Uint8Array): number {
    const ctOff = hdrLen + PACKET_ID_LENGTH + AEAD_TAG_LENGTH;
    if (len < ctOff || len > pkt.byteLength) return DropReason.TRUNCATED;
    if (len - ctOff > dst.byteLength) return DropReason.BUFFER_TOO_SMALL;
    const packetId = getU32(pkt, hdrLen);
    this.#nonce.writeUInt32BE(packetId, 0);
    try {
      const d = createDecipheriv(this.cipher.nodeName as AeadName, this.#key, this.#nonce, { authTagLength: AEAD_TAG_LENGTH });
      d.setAAD(hdrLen === 4 ? buf(pkt, 0, 4 + PACKET_ID_LENGTH) : buf(pkt, hdrLen, hdrLen + PACKET_ID_LENGTH));
      d.setAuthTag(buf(pkt, hdrLen + PACKET_ID_LENGTH, ctOff));
      const pt = d.update(buf(pkt, ctOff, len));
      const fin = d.final();
      dst.set(pt, 0);
      dst.set(fin, pt.byteLength);
      this.lastPacketId = packetId;
      return pt.byteLength + fin.byteLength;
    } catch {
      return DropReason.AUTH;
    }
  }

  #sealCbc(packetId: number, src: Uint8Array, srcLen: number, dst: Uint8Array, off: number): number {
    const macLen = this.#hmacKey.byteLength;
    const ivOff = off + macLen;
    const ctOff = ivOff + this.cipher.ivLength;
    randomFillSync(this.#iv);
    this.#pid.writeUInt32BE(packetId >>> 0, 0);
    const c = createCipheriv(this.cipher.nodeName, this.#key, this.#iv);
    const a = c.update(this.#pid);
    const b = c.update(buf(src, 0, srcLen));
    const f = c.final();
    dst.set(this.#iv, ivOff);
    dst.set(a, ctOff);
    dst.set(b, ctOff + a.byteLength);
    dst.set(f, ctOff + a.byteLength + b.byteLength);
    const end = ctOff + a.byteLength + b.byteLength + f.byteLength;
    const mac = createHmac(this.auth?.nodeName ?? 'sha1', this.#hmacKey).update(buf(dst, ivOff, end)).digest();
    dst.set(mac, off);
    return end - off;
  }

  #openCbc(pkt: Uint8Array, len: number, hdrLen: number, dst: Uint8Array): number {
    const macLen = this.#hmacKey.byteLength;
    const ivOff = hdrLen + macLen;
    const ctOff = ivOff + this.cipher.ivLength;
    const block = this.cipher.blockSize;
    if (len < ctOff + block || len > pkt.byteLength) return DropReason.TRUNCATED;
    if (len - ctOff > dst.byteLength) return DropReason.BUFFER_TOO_SMALL;
    const mac = createHmac(this.auth?.nodeName ?? 'sha1', this.#hmacKey).update(buf(pkt, ivOff, len)).digest();
    if (!timingSafeEqual(mac, buf(pkt, hdrLen, ivOff))) return DropReason.AUTH;
    if ((len - ctOff) % block !== 0) return DropReason.DECRYPT;
    const d = createDecipheriv(this.cipher.nodeName, this.#key, buf(pkt, ivOff, ctOff));
    d.setAutoPadding(false);
    const pt = d.update(buf(pkt, ctOff, len));
    d.final();
    const n = pkcs7Unpad(pt, pt.byteLength, block);
    if (n < PACKET_ID_LENGTH) return DropReason.DECRYPT;
    this.lastPacketId = getU32(pt, 0);
    dst.set(pt.subarray(PACKET_ID_LENGTH, n), 0);
    return n - PACKET_ID_LENGTH;
  }
}
