/**
 * Tier 1: the `fragment` codec (src/dataplane/fragment.ts) against headers and sizes a real
 * OpenVPN 2.6.14 server wrote and read (test/vectors/data/fragment-openvpn-2.6.json, captured
 * by test/netns/helpers/capture-fragment-vectors.ts), then reassembly rules (order, loss,
 * duplicates, TTL, the sequence-id window, bad headers) and a DataChannel round trip.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FRAG_HEADER_SIZE,
  FRAG_TTL_SEC,
  FragmentReassembler,
  FragmentSender,
  FragType,
  fragmentHeader,
  MAX_FRAGS,
  maxFragmentSizeFor,
  optimalFragmentSize,
  parseFragmentHeader,
} from '../../../src/dataplane/fragment.ts';
import { DropReason } from '../../../src/dataplane/drop-reason.ts';
import { mssForFrame } from '../../../src/dataplane/mss.ts';
import { DataChannel } from '../../../src/dataplane/data-channel.ts';
import { createDataCrypto } from '../../../src/dataplane/create-data-crypto.ts';
import { splitKey2 } from '../../../src/dataplane/data-crypto.ts';
import type { FragLogLine } from '../../netns/helpers/capture-fragment-vectors.ts';

/** One header as the server logged it (capture-fragment-vectors.ts). */
type Piece = FragLogLine;
interface Case {
  readonly cipher: string;
  readonly fragment: number;
  readonly maxFrag: number;
  readonly mssFix: number;
  readonly pieces: readonly Piece[];
  readonly whole: readonly Piece[];
}

function loadVectors(): { cases: Case[] } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const p = join(dir, 'test', 'vectors', 'data', 'fragment-openvpn-2.6.json');
    if (existsSync(p)) return JSON.parse(readFileSync(p, 'utf8')) as { cases: Case[] };
    dir = dirname(dir);
  }
  throw new Error('fragment-openvpn-2.6.json not found');
}

const V = loadVectors();

/** The pieces of each packet the server fragmented, by sequence id, in send order. */
function packets(c: Case, dir: 'in' | 'out'): Piece[][] {
  const by = new Map<number, Piece[]>();
  for (const p of c.pieces.filter((x) => x.dir === dir)) by.set(p.seqId, [...(by.get(p.seqId) ?? []), p]);
  return [...by.values()];
}

/** A plaintext buffer as the sender side holds it: header room, then `len` bytes. */
function bodyOf(len: number, salt: number): Uint8Array {
  const b = new Uint8Array(FRAG_HEADER_SIZE + len);
  for (let i = 0; i < len; i++) b[FRAG_HEADER_SIZE + i] = (i * 7 + salt) & 0xff;
  return b;
}

/** Splits with FragmentSender; returns each piece as it would be sealed (header + data). */
function split(sender: FragmentSender, body: Uint8Array, len: number): Uint8Array[] {
  assert.ok(sender.start(len));
  const out: Uint8Array[] = [];
  while (sender.next(body)) out.push(body.slice(sender.offset, sender.offset + sender.length));
  return out;
}

function u32(b: Uint8Array): number {
  return (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
}

describe('fragment: vectors from a real OpenVPN 2.6 server', () => {
  it('has pieces in both directions for GCM and CBC', () => {
    assert.deepEqual(V.cases.map((c) => c.cipher), ['AES-256-GCM', 'AES-256-CBC']);
    for (const c of V.cases) {
      assert.ok(packets(c, 'out').length >= 2 && packets(c, 'in').length >= 2, c.cipher);
    }
  });

  for (const c of V.cases) {
    it(`${c.cipher}: every header word the server wrote is what fragmentHeader builds`, () => {
      for (const p of [...c.pieces.filter((x) => x.dir === 'out'), ...c.whole]) {
        assert.equal(fragmentHeader(p.type as FragType, p.seqId, p.fragId, p.size), p.flags, JSON.stringify(p));
      }
    });

    it(`${c.cipher}: every header word the server read decodes to what it logged`, () => {
      for (const p of c.pieces.filter((x) => x.dir === 'in')) {
        const h = parseFragmentHeader(p.flags);
        assert.deepEqual([h.type, h.seqId, h.fragId], [p.type, p.seqId, p.fragId]);
        if (p.type === FragType.YES_LAST) assert.equal(h.size, p.size);
      }
    });

    it(`${c.cipher}: max fragment size ${c.maxFrag} and mssfix ${c.mssFix} as the server computed them`, () => {
      const cbc = c.cipher.endsWith('CBC');
      const auth = cbc ? 'SHA256' : undefined;
      assert.equal(maxFragmentSizeFor({ fragment: c.fragment, encap: false, family: 4, cipher: c.cipher, auth, peerId: true, socksUdp: false }), c.maxFrag);
      const mss = mssForFrame({
        mssfix: { value: 1492, mode: 'default' }, tunMtu: 1500, proto: 'udp', family: 4, aead: !cbc,
        ivSize: 16, blockSize: 16, hmacSize: cbc ? 32 : 0, tagSize: 16, peerId: true, compressByte: false, fragment: c.fragment,
      });
      assert.equal(mss, c.mssFix);
    });

    it(`${c.cipher}: the sender splits each packet into the server's piece sizes and headers`, () => {
      for (const pieces of packets(c, 'out')) {
        const total = pieces.reduce((n, p) => n + p.len, 0);
        assert.equal(optimalFragmentSize(total, c.maxFrag), pieces[0]?.size);
        const first = pieces[0]!;
        const sender = new FragmentSender(c.maxFrag, (first.seqId + 255) & 0xff);
        const mine = split(sender, bodyOf(total, 1), total);
        assert.deepEqual(mine.map((m) => m.byteLength - FRAG_HEADER_SIZE), pieces.map((p) => p.len));
        assert.deepEqual(mine.map(u32), pieces.map((p) => p.flags));
      }
    });

    it(`${c.cipher}: pieces with the client's real headers reassemble`, () => {
      for (const pieces of packets(c, 'in')) {
        const total = pieces.reduce((n, p) => n + p.len, 0);
        const src = bodyOf(total, 3);
        const r = new FragmentReassembler();
        const buf = new Uint8Array(65536);
        let at = FRAG_HEADER_SIZE;
        let result = -99;
        for (const p of pieces) {
          buf.set([p.flags >>> 24, (p.flags >>> 16) & 0xff, (p.flags >>> 8) & 0xff, p.flags & 0xff], 0);
          buf.set(src.subarray(at, at + p.len), FRAG_HEADER_SIZE);
          at += p.len;
          result = r.incoming(buf, FRAG_HEADER_SIZE + p.len, 100);
        }
        assert.equal(result, total);
        assert.deepEqual(buf.subarray(0, total), src.subarray(FRAG_HEADER_SIZE));
      }
    });
  }
});

describe('fragment: sending', () => {
  it('a packet that fits goes whole, behind a zero header', () => {
    const s = new FragmentSender(1272, 9);
    const pieces = split(s, bodyOf(1272, 0), 1272);
    assert.equal(pieces.length, 1);
    assert.equal(u32(pieces[0]!), 0);
    assert.equal(pieces[0]!.byteLength, 1276);
  });

  it('sequence ids advance per fragmented packet only, and wrap at 256', () => {
    const s = new FragmentSender(100, 254);
    const seqs: number[] = [];
    for (const len of [300, 50, 300, 300]) {
      const p = split(s, bodyOf(len, 0), len);
      seqs.push(parseFragmentHeader(u32(p[0]!)).seqId);
    }
    assert.deepEqual(seqs, [255, 0, 0, 1]);
  });

  it('refuses a packet that needs more than 32 pieces', () => {
    const s = new FragmentSender(100, 0);
    assert.equal(s.start(100 * MAX_FRAGS), true);
    assert.equal(s.start(100 * MAX_FRAGS + 1), false);
    assert.equal(s.next(bodyOf(10, 0)), false);
  });

  it('evens out pieces only when the last one would be small', () => {
    assert.equal(optimalFragmentSize(2000, 1272), 1000);
    assert.equal(optimalFragmentSize(2400, 1272), 1272);
    assert.equal(optimalFragmentSize(2544, 1272), 1272);
    assert.equal(optimalFragmentSize(1000, 1275), 1272);
  });
});

describe('fragment: reassembly', () => {
  const MAX = 200;

  function piecesOf(len: number, seq: number, salt = 5): { src: Uint8Array; pieces: Uint8Array[] } {
    const body = bodyOf(len, salt);
    const src = body.slice(FRAG_HEADER_SIZE);
    return { src, pieces: split(new FragmentSender(MAX, seq - 1), body, len) };
  }

  function feed(r: FragmentReassembler, piece: Uint8Array, now = 100): { n: number; out: Uint8Array } {
    const buf = new Uint8Array(65536);
    buf.set(piece);
    return { n: r.incoming(buf, piece.byteLength, now), out: buf };
  }

  it('in any order, the last piece first included; duplicates change nothing', () => {
    const { src, pieces } = piecesOf(700, 40);
    assert.equal(pieces.length, 4);
    const r = new FragmentReassembler();
    for (const i of [3, 1, 1, 0]) assert.equal(feed(r, pieces[i]!).n, 0);
    const done = feed(r, pieces[2]!);
    assert.equal(done.n, 700);
    assert.deepEqual(done.out.subarray(0, 700), src);
  });

  it('packets interleave by sequence id', () => {
    const a = piecesOf(500, 7, 1);
    const b = piecesOf(450, 8, 2);
    const r = new FragmentReassembler();
    assert.equal(feed(r, a.pieces[0]!).n, 0);
    assert.equal(feed(r, b.pieces[0]!).n, 0);
    assert.equal(feed(r, b.pieces[2]!).n, 0);
    assert.equal(feed(r, a.pieces[1]!).n, 0);
    const bDone = feed(r, b.pieces[1]!);
    assert.deepEqual(bDone.out.subarray(0, bDone.n), b.src);
    const aDone = feed(r, a.pieces[2]!);
    assert.deepEqual(aDone.out.subarray(0, aDone.n), a.src);
  });

  it('a missing piece completes nothing, and the partial packet is dropped after the TTL', () => {
    const { pieces } = piecesOf(500, 3);
    const r = new FragmentReassembler();
    assert.equal(feed(r, pieces[0]!, 100).n, 0);
    assert.equal(feed(r, pieces[1]!, 100).n, 0);
    assert.equal(feed(r, Uint8Array.of(0, 0, 0, 0, 0x45), 100 + FRAG_TTL_SEC).n, 1);
    assert.equal(r.expired, 1);
    // the late last piece cannot complete it any more
    assert.equal(feed(r, pieces[2]!, 100 + FRAG_TTL_SEC).n, 0);
  });

  it('a sequence id 25 or more ahead restarts the window and forgets older packets', () => {
    const a = piecesOf(500, 10);
    const far = piecesOf(300, 10 + 25);
    const r = new FragmentReassembler();
    assert.equal(feed(r, a.pieces[0]!).n, 0);
    assert.equal(feed(r, a.pieces[1]!).n, 0);
    assert.equal(feed(r, far.pieces[0]!).n, 0);
    assert.equal(feed(r, far.pieces[1]!).n, 300);
    assert.equal(feed(r, a.pieces[2]!).n, 0, 'seq 10 was forgotten');
  });

  it('refuses bad headers', () => {
    const r = new FragmentReassembler();
    assert.equal(feed(r, Uint8Array.of(0, 0, 0)).n, DropReason.FRAGMENT, 'shorter than a header');
    assert.equal(feed(r, Uint8Array.of(0, 0, 0, 0x04, 0x45)).n, DropReason.FRAGMENT, 'WHOLE with sequence bits');
    assert.equal(feed(r, Uint8Array.of(0, 0, 0, FragType.TEST, 1)).n, DropReason.FRAGMENT, 'FRAG_TEST');
    const notMultipleOf4 = new Uint8Array(4 + 201);
    notMultipleOf4[3] = FragType.YES_NOTLAST;
    assert.equal(feed(r, notMultipleOf4).n, DropReason.FRAGMENT, 'piece size not a multiple of 4');
    const overflow = new Uint8Array(4 + 8);
    const h = fragmentHeader(FragType.YES_LAST, 1, 31, 0x3fff * 4);
    overflow.set([h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff]);
    assert.equal(feed(r, overflow).n, DropReason.FRAGMENT, 'beyond 64 KiB');
    assert.equal(feed(r, Uint8Array.of(0, 0, 0, 0, 0x45, 1)).n, 2, 'a good WHOLE packet still passes');
  });
});

describe('fragment: DataChannel', () => {
  function channels(maxFragmentSize: number): { client: DataChannel; server: DataChannel } {
    const k = new Uint8Array(256).map((_, i) => (i * 13 + 1) & 0xff);
    const c = splitKey2(k, 'client');
    const s = splitKey2(k, 'server');
    const client = new DataChannel({ fragment: { maxFragmentSize, initialSeqId: 77 } });
    const server = new DataChannel({ fragment: { maxFragmentSize, initialSeqId: 3 } });
    client.install(0, createDataCrypto('AES-256-GCM', undefined, c.send), createDataCrypto('AES-256-GCM', undefined, c.recv), 1);
    server.install(0, createDataCrypto('AES-256-GCM', undefined, s.send), createDataCrypto('AES-256-GCM', undefined, s.recv), 1);
    return { client, server };
  }

  it('a 4028-byte packet leaves as datagrams of at most `fragment` bytes and arrives whole', () => {
    const fragment = 1300;
    const max = maxFragmentSizeFor({ fragment, encap: false, family: 4, cipher: 'AES-256-GCM', auth: undefined, peerId: true, socksUdp: false });
    const { client, server } = channels(max);
    const ip = new Uint8Array(4028).map((_, i) => (i * 31) & 0xff);
    ip[0] = 0x45;
    const tx = new Uint8Array(70000);
    const wire: Uint8Array[] = [];
    for (let n = client.sealPacket(ip, ip.byteLength, tx); n > 0; n = client.sealNextFragment(tx)) wire.push(tx.slice(0, n));
    assert.equal(wire.length, 4);
    for (const w of wire) assert.ok(w.byteLength <= fragment, `${w.byteLength} <= ${fragment}`);
    // 4 + 4 (packet id) + 16 (tag) + 4 (fragment header) around equal pieces, the last smaller
    const piece = optimalFragmentSize(4028, max);
    assert.deepEqual(wire.map((w) => w.byteLength), [piece, piece, piece, 4028 - 3 * piece].map((n) => n + 28));
    const rx = new Uint8Array(65536 + 256);
    const results = wire.map((w) => server.openPacket(w, w.byteLength, rx, 100));
    assert.deepEqual(results, [0, 0, 0, 4028]);
    assert.deepEqual(rx.subarray(0, 4028), ip);
  });

  it('small packets (pings) travel whole with a zero header', () => {
    const { client, server } = channels(1272);
    const ip = new Uint8Array(100).map((_, i) => i);
    ip[0] = 0x45;
    const tx = new Uint8Array(2048);
    const n = client.sealPacket(ip, 100, tx);
    assert.ok(n > 0);
    assert.equal(client.sealNextFragment(tx), 0);
    const rx = new Uint8Array(65536);
    assert.equal(server.openPacket(tx, n, rx, 100), 100);
    assert.deepEqual(rx.subarray(0, 100), ip);
  });
});
