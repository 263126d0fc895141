/**
 * The DataCrypto contract: every backend (node:crypto, EVP through koffi) must pass this suite,
 * and must interoperate with the node:crypto reference in both directions.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, hex } from '../../../src/base/bytes.ts';
import type { AuthSpec, CipherSpec } from '../../../src/dataplane/cipher-suite.ts';
import { availableCiphers, lookupAuth, lookupCipher, PACKET_ID_LENGTH } from '../../../src/dataplane/cipher-suite.ts';
import type { DataCrypto, DirectionKey } from '../../../src/dataplane/data-crypto.ts';
import { sealedLength, sealPrefixLength } from '../../../src/dataplane/data-crypto.ts';
import { DropReason } from '../../../src/dataplane/drop-reason.ts';
import { NodeDataCrypto } from '../../../src/dataplane/node-crypto.ts';
import { loadVector, type KnownDataChannelVector } from '../../unit/dataplane/vectors.ts';
import { NodeCryptoCaps } from '../../../src/dataplane/cipher-probe.ts';

const caps = new NodeCryptoCaps();

export type CryptoFactory = (cipher: CipherSpec, auth: AuthSpec | undefined, key: DirectionKey) => DataCrypto;

const V1_HEADER = Uint8Array.of((6 << 3) | 2);
const V2_HEADER = Uint8Array.of((9 << 3) | 2, 0x00, 0x01, 0x2c);

function keyFrom(seed: number): DirectionKey {
  const cipher = new Uint8Array(64);
  const hmac = new Uint8Array(64);
  for (let i = 0; i < 64; i++) {
    cipher[i] = (seed * 31 + i * 7) & 0xff;
    hmac[i] = (seed * 17 + i * 13 + 5) & 0xff;
  }
  return { cipher, hmac };
}

function payload(n: number, salt = 0): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i * 11 + salt) & 0xff;
  return p;
}

interface Sealed {
  readonly pkt: Uint8Array;
  readonly len: number;
}

function seal(c: DataCrypto, header: Uint8Array, pid: number, src: Uint8Array): Sealed {
  const dst = new Uint8Array(2048);
  dst.set(header, 0);
  const n = c.seal(header, pid, src, src.byteLength, dst, header.byteLength);
  assert.ok(n > 0, `seal returned ${n}`);
  return { pkt: dst, len: header.byteLength + n };
}

function open(c: DataCrypto, s: Sealed, hdrLen: number): { n: number; out: Uint8Array } {
  const out = new Uint8Array(2048);
  const n = c.open(s.pkt, s.len, hdrLen, out);
  return { n, out };
}

function suites(): { cipher: CipherSpec; auth: AuthSpec | undefined }[] {
  const out: { cipher: CipherSpec; auth: AuthSpec | undefined }[] = [];
  for (const cipher of availableCiphers(caps)) {
    if (cipher.mode === 'aead') out.push({ cipher, auth: undefined });
    else out.push({ cipher, auth: lookupAuth('SHA256') });
  }
  const cbc = lookupCipher('AES-256-CBC');
  for (const a of ['SHA1', 'SHA384', 'SHA512']) if (cbc !== undefined) out.push({ cipher: cbc, auth: lookupAuth(a) });
  return out;
}

export function runCryptoContract(backend: string, make: CryptoFactory): void {
  const reference: CryptoFactory = (c, a, k) => new NodeDataCrypto(c, a, k);

  describe(`DataCrypto contract: ${backend}`, () => {
    for (const { cipher, auth } of suites()) {
      const label = `${cipher.name}${auth ? `/${auth.name}` : ''}`;
      const key = keyFrom(1);

      it(`${label}: round trip V1 and V2 at many sizes, exact sealed length, lastPacketId`, () => {
        const tx = make(cipher, auth, key);
        const rx = make(cipher, auth, key);
        let pid = 1;
        for (const header of [V1_HEADER, V2_HEADER]) {
          for (const size of [0, 1, 15, 16, 17, 31, 100, 1400]) {
            const src = payload(size, pid);
            const before = hex(src);
            const s = seal(tx, header, pid, src);
            assert.equal(hex(src), before, 'seal must not modify src');
            assert.equal(s.len - header.byteLength, sealedLength(cipher, auth, size));
            const { n, out } = open(rx, s, header.byteLength);
            assert.equal(n, size);
            assert.equal(hex(out.subarray(0, n)), before);
            assert.equal(rx.lastPacketId, pid);
            pid += 1;
          }
        }
        tx.dispose();
        rx.dispose();
      });

      it(`${label}: seals into one reused tx buffer and opens into one reused rx buffer, as the data path does`, () => {
        // The data path reads TUN packets into one buffer (payload, then stale bytes past `len`),
        // seals into one tx buffer and opens into one rx buffer, never zeroed between packets.
        const tx = make(cipher, auth, key);
        const rx = make(cipher, auth, key);
        const ref = reference(cipher, auth, key);
        const tunBuf = new Uint8Array(2048).fill(0xee);
        const txBuf = new Uint8Array(2048).fill(0xa5);
        const rxBuf = new Uint8Array(2048).fill(0x5a);
        const refOut = new Uint8Array(2048);
        let pid = 100;
        for (const size of [1400, 17, 0, 1, 300, 16, 1400, 2, 1399, 15]) {
          const src = payload(size, pid);
          tunBuf.set(src, 0); // bytes of the previous, longer packets stay behind it
          txBuf.set(V2_HEADER, 0);
          const n = tx.seal(V2_HEADER, pid, tunBuf, size, txBuf, V2_HEADER.byteLength);
          assert.equal(n, sealedLength(cipher, auth, size), `sealed length for ${size}`);
          const len = V2_HEADER.byteLength + n;
          assert.equal(rx.open(txBuf, len, V2_HEADER.byteLength, rxBuf), size, `opens ${size}`);
          assert.equal(hex(rxBuf.subarray(0, size)), hex(src), `payload of ${size}, not the bytes after it`);
          assert.equal(ref.open(txBuf, len, V2_HEADER.byteLength, refOut), size, `the reference opens ${size}`);
          assert.equal(hex(refOut.subarray(0, size)), hex(src));
          pid++;
        }
        tx.dispose();
        rx.dispose();
        ref.dispose();
      });

      it(`${label}: interoperates with the node:crypto reference both ways`, () => {
        const mine = make(cipher, auth, key);
        const ref = reference(cipher, auth, key);
        for (const [a, b] of [[mine, ref], [ref, mine]] as const) {
          for (const header of [V1_HEADER, V2_HEADER]) {
            const src = payload(1400, 3);
            const s = seal(a, header, 0xfffffffe, src);
            const { n, out } = open(b, s, header.byteLength);
            assert.equal(n, 1400);
            assert.equal(hex(out.subarray(0, n)), hex(src));
            assert.equal(b.lastPacketId, 0xfffffffe);
          }
        }
        if (cipher.mode === 'aead') {
          // AEAD is deterministic for a given key and packet id: both backends give the same bytes.
          const s1 = seal(mine, V2_HEADER, 77, payload(300));
          const s2 = seal(ref, V2_HEADER, 77, payload(300));
          assert.equal(hex(s1.pkt.subarray(0, s1.len)), hex(s2.pkt.subarray(0, s2.len)));
        }
      });

      it(`${label}: flipping any authenticated byte gives AUTH`, () => {
        const tx = make(cipher, auth, key);
        const rx = make(cipher, auth, key);
        const s = seal(tx, V2_HEADER, 5, payload(64));
        // AEAD authenticates the V2 header; CBC+HMAC starts authenticating after it.
        const first = cipher.mode === 'aead' ? 0 : V2_HEADER.byteLength;
        for (let i = first; i < s.len; i++) {
          const pkt = s.pkt.slice();
          pkt[i] = (pkt[i] ?? 0) ^ 0x01;
          assert.equal(open(rx, { pkt, len: s.len }, 4).n, DropReason.AUTH, `byte ${i}`);
        }
        assert.equal(open(rx, s, 4).n, 64, 'the untouched packet still opens');
      });

      it(`${label}: truncated at every length is a drop, never an exception`, () => {
        const tx = make(cipher, auth, key);
        const rx = make(cipher, auth, key);
        for (const [header, size] of [[V1_HEADER, 40], [V2_HEADER, 0]] as const) {
          const s = seal(tx, header, 9, payload(size));
          const hdr = header.byteLength;
          const min = hdr + sealPrefixLength(cipher, auth) + (cipher.mode === 'cbc' ? cipher.blockSize : 0);
          for (let len = 0; len < s.len; len++) {
            const { n } = open(rx, { pkt: s.pkt, len }, hdr);
            const want = len < Math.max(min, hdr) ? DropReason.TRUNCATED : DropReason.AUTH;
            assert.equal(n, want, `len ${len} of ${s.len}`);
          }
        }
      });

      it(`${label}: a wrong key gives AUTH`, () => {
        const s = seal(make(cipher, auth, key), V2_HEADER, 1, payload(100));
        assert.equal(open(make(cipher, auth, keyFrom(2)), s, 4).n, DropReason.AUTH);
      });

      it(`${label}: P_DATA_V1/V2 relabelling ${cipher.mode === 'aead' ? 'fails authentication' : 'is not authenticated (header outside the HMAC)'}`, () => {
        const tx = make(cipher, auth, key);
        const rx = make(cipher, auth, key);
        const v1 = seal(tx, V1_HEADER, 11, payload(80));
        const asV2 = new Uint8Array(2048);
        asV2.set(V2_HEADER, 0);
        asV2.set(v1.pkt.subarray(1, v1.len), 4);
        const v2 = seal(tx, V2_HEADER, 12, payload(80));
        const asV1 = new Uint8Array(2048);
        asV1.set(V1_HEADER, 0);
        asV1.set(v2.pkt.subarray(4, v2.len), 1);
        const r1 = open(rx, { pkt: asV2, len: v1.len + 3 }, 4).n;
        const r2 = open(rx, { pkt: asV1, len: v2.len - 3 }, 1).n;
        if (cipher.mode === 'aead') {
          assert.equal(r1, DropReason.AUTH);
          assert.equal(r2, DropReason.AUTH);
        } else {
          assert.equal(r1, 80);
          assert.equal(r2, 80);
        }
      });

      it(`${label}: buffers too small are reported, not overrun`, () => {
        const tx = make(cipher, auth, key);
        const src = payload(200);
        const small = new Uint8Array(4 + sealedLength(cipher, auth, 200) - 1);
        small.set(V2_HEADER, 0);
        assert.equal(tx.seal(V2_HEADER, 1, src, 200, small, 4), DropReason.BUFFER_TOO_SMALL);
        const s = seal(tx, V2_HEADER, 1, src);
        assert.equal(make(cipher, auth, key).open(s.pkt, s.len, 4, new Uint8Array(10)), DropReason.BUFFER_TOO_SMALL);
        assert.equal(make(cipher, auth, key).open(s.pkt, s.pkt.byteLength + 1, 4, new Uint8Array(4096)), DropReason.TRUNCATED);
      });

      if (cipher.mode === 'cbc') {
        it(`${label}: random IV: sealing twice gives different packets`, () => {
          const tx = make(cipher, auth, key);
          const a = seal(tx, V1_HEADER, 1, payload(50));
          const b = seal(tx, V1_HEADER, 1, payload(50));
          assert.notEqual(hex(a.pkt.subarray(0, a.len)), hex(b.pkt.subarray(0, b.len)));
        });

        it(`${label}: random IV: 300 packets in a row carry 300 different IVs, each opening`, () => {
          const tx = make(cipher, auth, key);
          const rx = make(cipher, auth, key);
          const ivs = new Set<string>();
          for (let id = 1; id <= 300; id++) {
            const s = seal(tx, V1_HEADER, id, payload(40));
            const ivOff = V1_HEADER.byteLength + (auth?.digestLength ?? 0);
            ivs.add(hex(s.pkt.subarray(ivOff, ivOff + cipher.ivLength)));
            assert.equal(rx.open(s.pkt, s.len, V1_HEADER.byteLength, new Uint8Array(4096)), 40, `packet ${id}`);
          }
          assert.equal(ivs.size, 300);
        });
      }
    }

    it('OpenVPN 2.7 known-answer vector (test_ssl.c, AES-256-GCM, short packet id)', () => {
      const v = loadVector<KnownDataChannelVector>('openvpn-data-channel-known.json');
      const key2 = fromHex(v.key2Hex);
      // The vector's key2 is generated, as in test_ssl.c create_key(): check the rule holds.
      const ascii = new TextEncoder().encode(v.key32Ascii);
      for (let i = 0; i < 256; i++) assert.equal(key2[i], (ascii[i % 32] ?? 0) ^ i);
      const cipher = lookupCipher(v.cipher);
      assert.ok(cipher);
      // BIDIRECTIONAL: both directions use keys[0] = cipher key2[0..64), hmac key2[64..128).
      const key = { cipher: key2.slice(0, 64), hmac: key2.slice(64, 128) };
      const header = fromHex(v.headerHex);
      const pt = new TextEncoder().encode(v.plaintextAscii);
      const s = seal(make(cipher, undefined, key), header, 1, pt);
      const afterHeader = s.pkt.subarray(header.byteLength, s.len);
      assert.equal(hex(afterHeader.subarray(0, 4)), v.packetIdHex);
      assert.equal(hex(afterHeader.subarray(4, 20)), v.tagHex);
      assert.equal(hex(afterHeader.subarray(30, 36)), v.bytesAt30FromPacketIdHex);
      const { n, out } = open(make(cipher, undefined, key), s, header.byteLength);
      assert.equal(new TextDecoder().decode(out.subarray(0, n)), v.plaintextAscii);
    });

    it('packet id is the first 4 bytes after the header, big-endian', () => {
      const cipher = lookupCipher('AES-128-GCM');
      assert.ok(cipher);
      const s = seal(make(cipher, undefined, keyFrom(3)), V1_HEADER, 0x01020304, payload(10));
      assert.equal(hex(s.pkt.subarray(1, 1 + PACKET_ID_LENGTH)), '01020304');
    });
  });
}
