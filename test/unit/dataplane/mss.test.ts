/** mssfix: TCP SYN MSS clamping in place (IPv4, IPv6), checksum kept valid, odd shapes untouched. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adjustChecksum, clampMss, mssForFrame, MSSFIX_DEFAULT, type MssFrame } from '../../../src/dataplane/mss.ts';

function sum16(bytes: Uint8Array, start: number, end: number, init = 0): number {
  let s = init;
  for (let i = start; i < end; i += 2) s += ((bytes[i] ?? 0) << 8) | (i + 1 < end ? (bytes[i + 1] ?? 0) : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The TCP checksum computed from scratch over the pseudo-header and segment. */
function tcpChecksum(pkt: Uint8Array): number {
  const v6 = pkt[0]! >> 4 === 6;
  const ipLen = v6 ? 40 : (pkt[0]! & 0x0f) * 4;
  const tcpLen = pkt.length - ipLen;
  const seg = pkt.slice(ipLen);
  seg[16] = 0;
  seg[17] = 0;
  let s = v6 ? sum16(pkt, 8, 40) : sum16(pkt, 12, 20);
  s += 6 + tcpLen;
  s = sum16(seg, 0, seg.length, s);
  return ~s & 0xffff;
}

/** A TCP SYN with the given options after the 20-byte TCP header, checksum filled in. */
function synPacket(family: 4 | 6, options: number[], flags = 0x02): Uint8Array {
  const optLen = Math.ceil(options.length / 4) * 4;
  const tcpLen = 20 + optLen;
  const ipLen = family === 4 ? 20 : 40;
  const p = new Uint8Array(ipLen + tcpLen);
  if (family === 4) {
    p.set([0x45, 0, (p.length >> 8) & 0xff, p.length & 0xff, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 8, 0, 2, 10, 8, 0, 1]);
  } else {
    p.set([0x60, 0, 0, 0, (tcpLen >> 8) & 0xff, tcpLen & 0xff, 6, 64]);
    p.set([0xfd, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x00], 8);
    p.set([0xfd, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 24);
  }
  const t = ipLen;
  p.set([0xa1, 0xb2, 0x14, 0x51, 1, 2, 3, 4, 0, 0, 0, 0, (tcpLen / 4) << 4, flags, 0xfa, 0xf0, 0, 0, 0, 0], t);
  p.set(options, t + 20);
  const c = tcpChecksum(p);
  p[t + 16] = c >> 8;
  p[t + 17] = c & 0xff;
  return p;
}

const mssAt = (p: Uint8Array, i: number): number => (p[i]! << 8) | p[i + 1]!;

describe('clampMss', () => {
  it('clamps an IPv4 SYN MSS of 1460 to 1400 and keeps the TCP checksum valid', () => {
    const p = synPacket(4, [2, 4, 0x05, 0xb4, 1, 1, 4, 2]);
    assert.equal(clampMss(p, p.length, 1400), true);
    assert.equal(mssAt(p, 42), 1400);
    assert.equal(mssAt(p, 36), tcpChecksum(p));
  });

  it('handles an MSS option at an odd offset (after one NOP)', () => {
    const p = synPacket(4, [1, 2, 4, 0x05, 0xb4, 1, 1, 0]);
    assert.equal(clampMss(p, p.length, 1300), true);
    assert.equal(mssAt(p, 43), 1300);
    assert.equal(mssAt(p, 36), tcpChecksum(p));
  });

  it('clamps IPv6 to max - 20', () => {
    const p = synPacket(6, [2, 4, 0x05, 0xa0]);
    assert.equal(clampMss(p, p.length, 1400), true);
    assert.equal(mssAt(p, 62), 1380);
    assert.equal(mssAt(p, 56), tcpChecksum(p));
  });

  it('leaves an MSS that is already small enough, non-SYN, truncated and non-TCP packets untouched', () => {
    const small = synPacket(4, [2, 4, 0x04, 0x00]);
    const ack = synPacket(4, [2, 4, 0x05, 0xb4], 0x10);
    const cases: [Uint8Array, number][] = [
      [small, small.length],
      [ack, ack.length],
      [synPacket(4, [2, 4, 0x05, 0xb4]), 30], // length disagrees with the IP header
    ];
    const udp = synPacket(4, [2, 4, 0x05, 0xb4]);
    udp[9] = 17;
    cases.push([udp, udp.length]);
    const frag = synPacket(4, [2, 4, 0x05, 0xb4]);
    frag[7] = 1;
    cases.push([frag, frag.length]);
    const badOpt = synPacket(4, [2, 9, 0x05, 0xb4]);
    cases.push([badOpt, badOpt.length]);
    for (const [p, len] of cases) {
      const before = p.slice();
      assert.equal(clampMss(p, len, 1200), false);
      assert.deepEqual(p, before);
    }
    assert.equal(clampMss(new Uint8Array(10), 10, 1200), false);
  });

  it('adjustChecksum matches RFC 1624 (a word change moves the checksum by the difference)', () => {
    // RFC 1624 section 4: HC 0xdd2f, m 0x5555 -> m' 0x3285 gives HC' 0x0000 with eqn. 3.
    assert.equal(adjustChecksum(0xdd2f, 0x5555, 0x3285), 0x0000);
  });
});

describe('mssForFrame (mss.c frame_calculate_mssfix)', () => {
  const gcm: MssFrame = {
    mssfix: { value: MSSFIX_DEFAULT, mode: 'default' },
    tunMtu: 1500,
    proto: 'udp',
    family: 4,
    aead: true,
    ivSize: 12,
    blockSize: 1,
    hmacSize: 0,
    tagSize: 16,
    peerId: true,
    compressByte: false,
  };
  it('AES-GCM over UDP/IPv4 with peer-id: 1492 - 28 - 24 - 40 = 1400', () => {
    assert.equal(mssForFrame(gcm), 1400);
  });
  it('TCP/IPv6 transport costs more', () => {
    assert.equal(mssForFrame({ ...gcm, proto: 'tcp', family: 6 }), 1492 - 60 - 2 - 24 - 40);
  });
  it('CBC + SHA256 rounds to the block size and keeps one byte of padding', () => {
    const cbc: MssFrame = { ...gcm, aead: false, ivSize: 16, blockSize: 16, hmacSize: 32, tagSize: 0 };
    // overhead 4 + 16 + 32 + 28 = 80; 1412 -> 1408 - 1 = 1407; minus packet id 4 and 40.
    assert.equal(mssForFrame(cbc), 1363);
  });
  it('mssfix 0 disables; fixed and a non-default tun-mtu subtract only the headers', () => {
    assert.equal(mssForFrame({ ...gcm, mssfix: { value: 0, mode: 'plain' } }), 0);
    assert.equal(mssForFrame({ ...gcm, mssfix: { value: 1300, mode: 'fixed' } }), 1260);
    assert.equal(mssForFrame({ ...gcm, tunMtu: 1400 }), 1360);
  });
});
