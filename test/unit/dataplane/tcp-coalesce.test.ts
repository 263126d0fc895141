/**
 * TcpCoalescer: segments of one TCP flow become one super-packet with a virtio_net_hdr that the
 * kernel's TCP takes as GRO'd; cutting it again as TSO would (gso_size, ids, sequence numbers,
 * PSH on the last, full checksums) gives back the very packets that went in. Everything that may
 * not be joined is written as it came, in order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fold, sum16, TcpCoalescer } from '../../../src/dataplane/tcp-coalesce.ts';
import { VNET_HDR_LEN } from '../../../src/tun/device.ts';

const TS_OPTION = [1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78]; // NOP NOP timestamps
const SRC4 = [10, 8, 0, 1];
const DST4 = [10, 8, 0, 2];
const SRC6 = [0xfd, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const DST6 = [0xfd, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0];

interface Seg {
  readonly v6?: boolean;
  readonly seq: number;
  readonly payload: number;
  readonly id?: number;
  readonly flags?: number;
  readonly sport?: number;
  readonly proto?: number;
}

/** A valid IPv4 or IPv6 TCP packet (checksums right), payload bytes from the sequence number. */
function segment(s: Seg): Uint8Array {
  const ipHl = s.v6 === true ? 40 : 20;
  const tcpHl = 20 + TS_OPTION.length;
  const len = ipHl + tcpHl + s.payload;
  const p = new Uint8Array(len);
  const v = new DataView(p.buffer);
  if (s.v6 === true) {
    p[0] = 0x60;
    v.setUint16(4, len - 40);
    p[6] = s.proto ?? 6;
    p[7] = 64;
    p.set(SRC6, 8);
    p.set(DST6, 24);
  } else {
    p[0] = 0x45;
    v.setUint16(2, len);
    v.setUint16(4, s.id ?? 0);
    p[6] = 0x40; // DF
    p[8] = 64;
    p[9] = s.proto ?? 6;
    p.set(SRC4, 12);
    p.set(DST4, 16);
    v.setUint16(10, ~fold(sum16(p, 0, 20, 0)) & 0xffff);
  }
  const t = ipHl;
  v.setUint16(t, s.sport ?? 5201);
  v.setUint16(t + 2, 40000);
  v.setUint32(t + 4, s.seq >>> 0);
  v.setUint32(t + 8, 777);
  p[t + 12] = (tcpHl / 4) << 4;
  p[t + 13] = s.flags ?? 0x10;
  v.setUint16(t + 14, 512);
  p.set(TS_OPTION, t + 20);
  for (let i = 0; i < s.payload; i++) p[t + tcpHl + i] = (s.seq + i * 7) & 0xff;
  v.setUint16(t + 16, tcpChecksum(p, ipHl));
  return p;
}

function pseudo(p: Uint8Array, ipHl: number): number {
  const tcpLen = p.byteLength - ipHl;
  const addrs = ipHl === 40 ? sum16(p, 8, 40, 0) : sum16(p, 12, 20, 0);
  return addrs + 6 + (tcpLen >>> 16) + (tcpLen & 0xffff);
}

/** The full TCP checksum of packet p (its checksum field taken as zero). */
function tcpChecksum(p: Uint8Array, ipHl: number): number {
  const q = p.slice();
  q[ipHl + 16] = 0;
  q[ipHl + 17] = 0;
  return ~fold(sum16(q, ipHl, q.byteLength, pseudo(q, ipHl))) & 0xffff;
}

/** What TSO does with a super-packet and its header: the segments, with their checksums. */
function resegment(frame: Uint8Array): Uint8Array[] {
  const h = new DataView(frame.buffer, frame.byteOffset, VNET_HDR_LEN);
  const pkt = frame.subarray(VNET_HDR_LEN);
  const hdrLen = h.getUint16(2, true);
  const mss = h.getUint16(4, true);
  const ipHl = h.getUint16(6, true);
  const v6 = frame[1] === 4;
  const out: Uint8Array[] = [];
  for (let off = hdrLen, k = 0; off < pkt.byteLength; off += mss, k++) {
    const end = Math.min(off + mss, pkt.byteLength);
    const s = new Uint8Array(hdrLen + end - off);
    s.set(pkt.subarray(0, hdrLen));
    s.set(pkt.subarray(off, end), hdrLen);
    const v = new DataView(s.buffer);
    if (v6) v.setUint16(4, s.byteLength - 40);
    else {
      v.setUint16(2, s.byteLength);
      v.setUint16(4, (v.getUint16(4) + k) & 0xffff);
      v.setUint16(10, 0);
      v.setUint16(10, ~fold(sum16(s, 0, 20, 0)) & 0xffff);
    }
    v.setUint32(ipHl + 4, (v.getUint32(ipHl + 4) + k * mss) >>> 0);
    if (end < pkt.byteLength) s[ipHl + 13] = (s[ipHl + 13] ?? 0) & ~0x08; // PSH on the last only
    v.setUint16(ipHl + 16, tcpChecksum(s, ipHl));
    out.push(s);
  }
  return out;
}

interface Written {
  readonly frame: Uint8Array;
  readonly segments: number;
  readonly bytes: number;
}

function run(packets: readonly Uint8Array[]): Written[] {
  const got: Written[] = [];
  const c = new TcpCoalescer((buf, len, segments, bytes) => got.push({ frame: buf.slice(0, len), segments, bytes }));
  const frame = new Uint8Array(VNET_HDR_LEN + 65536);
  for (const p of packets) {
    frame.fill(0, 0, VNET_HDR_LEN);
    frame.set(p, VNET_HDR_LEN);
    c.push(frame, p.byteLength);
  }
  c.flush();
  return got;
}

/** Each write taken apart again: a single packet as it is, a super-packet cut as TSO would. */
function unpack(w: readonly Written[]): Uint8Array[] {
  return w.flatMap((x) => (x.frame[1] === 0 ? [x.frame.subarray(VNET_HDR_LEN)] : resegment(x.frame)));
}

const flow = (n: number, opts: Partial<Seg> = {}, mss = 1388): Uint8Array[] =>
  Array.from({ length: n }, (_, k) => segment({ seq: 1_000_000 + k * mss, payload: mss, id: 100 + k, ...opts, ...(k === n - 1 && opts.flags === undefined ? { flags: 0x18 } : {}) }));

test('one IPv4 flow: one super-packet (GSO_TCPV4, NEEDS_CSUM) that TSO cuts back into the same packets', () => {
  const packets = flow(20);
  const w = run(packets);
  assert.equal(w.length, 1);
  assert.equal(w[0]?.segments, 20);
  const f = w[0]!.frame;
  const h = new DataView(f.buffer, 0, VNET_HDR_LEN);
  assert.deepEqual([f[0], f[1], h.getUint16(2, true), h.getUint16(4, true), h.getUint16(6, true), h.getUint16(8, true)], [1, 1, 20 + 32, 1388, 20, 16]);
  // the IPv4 header of the whole is valid, and the partial checksum completes to the full one
  const pkt = f.subarray(VNET_HDR_LEN);
  assert.equal(fold(sum16(pkt, 0, 20, 0)), 0xffff, 'IPv4 header checksum');
  assert.equal(~fold(sum16(pkt, 20, pkt.byteLength, 0)) & 0xffff, tcpChecksum(pkt, 20), 'pseudo-header sum + the rest = the full checksum');
  assert.deepEqual(unpack(w), packets);
  assert.equal(w[0]?.bytes, packets.reduce((n, p) => n + p.byteLength, 0), 'bytes as the packets add up');
});

test('one IPv6 flow: GSO_TCPV6, and the same packets back', () => {
  const packets = flow(9, { v6: true });
  const w = run(packets);
  assert.equal(w.length, 1);
  assert.equal(w[0]?.frame[1], 4);
  assert.deepEqual(unpack(w), packets);
});

test('a short last segment closes the packet; a long one after a short one starts another', () => {
  const a = flow(3);
  const short = segment({ seq: 1_000_000 + 3 * 1388, payload: 500, id: 103 });
  const next = segment({ seq: 1_000_000 + 3 * 1388 + 500, payload: 1388, id: 104 });
  const w = run([...a.map((p, i) => (i === 2 ? segment({ seq: 1_000_000 + 2 * 1388, payload: 1388, id: 102 }) : p)), short, next]);
  assert.deepEqual(w.map((x) => x.segments), [4, 1]);
  assert.deepEqual(unpack(w), [...a.slice(0, 2), segment({ seq: 1_000_000 + 2 * 1388, payload: 1388, id: 102 }), short, next]);
});

test('what may not be joined is written as it came, in order: another flow, a gap, SYN, UDP, a wrong IPv4 id', () => {
  const other = segment({ seq: 5, payload: 1388, sport: 9999, id: 7 });
  const syn = segment({ seq: 50, payload: 10, flags: 0x02 });
  const udp = segment({ seq: 60, payload: 100, proto: 17 });
  const f = flow(6, { flags: 0x10 });
  const gap = segment({ seq: 1_000_000 + 6 * 1388 + 1, payload: 1388, id: 106 });
  const badId = segment({ seq: 1_000_000 + 7 * 1388 + 1, payload: 1388, id: 300 });
  const input = [f[0]!, f[1]!, other, f[2]!, f[3]!, syn, udp, f[4]!, f[5]!, gap, badId];
  const w = run(input);
  assert.deepEqual(w.map((x) => x.segments), [2, 1, 2, 1, 1, 2, 1, 1]);
  assert.deepEqual(unpack(w), input);
  assert.equal(w.reduce((n, x) => n + x.bytes, 0), input.reduce((n, p) => n + p.byteLength, 0));
});

test('at most 64 KiB: a long flow is cut into several super-packets', () => {
  const packets = flow(60);
  const w = run(packets);
  assert.ok(w.length >= 2);
  for (const x of w) assert.ok(x.frame.byteLength - VNET_HDR_LEN <= 65535);
  assert.deepEqual(unpack(w), packets);
});
