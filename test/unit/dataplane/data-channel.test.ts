import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hex } from '../../../src/base/bytes.ts';
import { createDataCrypto } from '../../../src/dataplane/create-data-crypto.ts';
import type { DataKeys } from '../../../src/dataplane/data-crypto.ts';
import { splitKey2 } from '../../../src/dataplane/data-crypto.ts';
import { DataChannel } from '../../../src/dataplane/data-channel.ts';
import type { DataChannelOptions } from '../../../src/dataplane/data-channel.ts';
import { DropReason, dropReasonName } from '../../../src/dataplane/drop-reason.ts';
import { classifyPayload, PING_STRING } from '../../../src/dataplane/framing.ts';

const NOW = 1000;

function key2(seed: number): Uint8Array {
  const k = new Uint8Array(256);
  for (let i = 0; i < 256; i++) k[i] = (seed * 101 + i * 29) & 0xff;
  return k;
}

function ipPacket(n: number, salt = 0): Uint8Array {
  const p = new Uint8Array(n);
  for (let i = 0; i < n; i++) p[i] = (i + salt) & 0xff;
  p[0] = 0x45;
  return p;
}

/** A client channel and the matching server channel, both with key_id `keyId` installed. */
function pair(
  cipher = 'AES-256-GCM',
  opts: DataChannelOptions = {},
  peerId: number | null = 7,
): { client: DataChannel; server: DataChannel; install: (keyId: number, seed: number) => void } {
  const client = new DataChannel(opts);
  const server = new DataChannel(opts);
  const install = (keyId: number, seed: number): void => {
    const c: DataKeys = splitKey2(key2(seed), 'client');
    const s: DataKeys = splitKey2(key2(seed), 'server');
    client.install(keyId, createDataCrypto(cipher, 'SHA256', c.send), createDataCrypto(cipher, 'SHA256', c.recv), peerId ?? undefined);
    server.install(keyId, createDataCrypto(cipher, 'SHA256', s.send), createDataCrypto(cipher, 'SHA256', s.recv), peerId ?? undefined);
  };
  install(0, 1);
  return { client, server, install };
}

function send(from: DataChannel, ip: Uint8Array): Uint8Array {
  const wire = new Uint8Array(2048);
  const n = from.sealPacket(ip, ip.byteLength, wire);
  assert.ok(n > 0, `sealPacket: ${dropReasonName(n)}`);
  return wire.slice(0, n);
}

function recv(to: DataChannel, wire: Uint8Array, now = NOW): { n: number; out: Uint8Array } {
  const out = new Uint8Array(2048);
  return { n: to.openPacket(wire, wire.byteLength, out, now), out };
}

describe('DataChannel', () => {
  it('splits key2 the way OpenVPN does: client sends with 0..127, receives with 128..255', () => {
    const k = key2(3);
    const c = splitKey2(k, 'client');
    const s = splitKey2(k, 'server');
    assert.equal(hex(c.send.cipher), hex(k.subarray(0, 64)));
    assert.equal(hex(c.send.hmac), hex(k.subarray(64, 128)));
    assert.equal(hex(c.recv.cipher), hex(k.subarray(128, 192)));
    assert.equal(hex(s.send.hmac), hex(k.subarray(192, 256)));
    assert.throws(() => splitKey2(new Uint8Array(255), 'client'), RangeError);
  });

  for (const cipher of ['AES-128-GCM', 'AES-256-GCM', 'CHACHA20-POLY1305', 'AES-256-CBC']) {
    it(`${cipher}: client -> server and back`, () => {
      const { client, server } = pair(cipher);
      const ip = ipPacket(1400);
      const r = recv(server, send(client, ip));
      assert.equal(r.n, 1400);
      assert.equal(hex(r.out.subarray(0, r.n)), hex(ip));
      const back = recv(client, send(server, ipPacket(60, 9)));
      assert.equal(hex(back.out.subarray(0, back.n)), hex(ipPacket(60, 9)));
      assert.equal(client.counters.sealedPackets, 1);
      assert.equal(client.counters.openedPackets, 1);
    });
  }

  it('writes P_DATA_V2 with the pushed peer-id, else P_DATA_V1', () => {
    const v2 = pair('AES-128-GCM', {}, 0xabcdef);
    v2.install(3, 2);
    const w2 = send(v2.client, ipPacket(40));
    assert.equal(hex(w2.subarray(0, 4)), hex(Uint8Array.of((9 << 3) | 3, 0xab, 0xcd, 0xef)));
    assert.equal(hex(w2.subarray(4, 8)), '00000001', 'packet id follows the header');
    const v1 = pair('AES-128-GCM', {}, null);
    const w1 = send(v1.client, ipPacket(40));
    assert.equal(w1[0], (6 << 3) | 0);
    assert.equal(hex(w1.subarray(1, 5)), '00000001');
    assert.equal(recv(v1.server, w1).n, 40);
    assert.throws(() => v1.client.install(1, v1.client as never, v1.client as never, 0x1000000), RangeError);
    assert.throws(() => v1.client.install(8, v1.client as never, v1.client as never), RangeError);
  });

  it('drops replays and counts them', () => {
    const { client, server } = pair();
    const a = send(client, ipPacket(40, 1));
    const b = send(client, ipPacket(40, 2));
    assert.equal(recv(server, b).n, 40);
    assert.equal(recv(server, a).n, 40, 'reordering inside the window is fine');
    assert.equal(recv(server, a).n, DropReason.REPLAY);
    assert.equal(recv(server, b).n, DropReason.REPLAY);
    assert.equal(server.counters.dropped(DropReason.REPLAY), 2);
    assert.equal(server.counters.openedPackets, 2);
  });

  it('drops ids older than the replay window', () => {
    const { client, server } = pair('AES-128-GCM', { replayWindow: 4 });
    const first = send(client, ipPacket(40));
    for (let i = 0; i < 6; i++) assert.equal(recv(server, send(client, ipPacket(40))).n, 40);
    assert.equal(recv(server, first).n, DropReason.REPLAY_OLD);
  });

  it('unknown key_id, non-data opcodes and truncation are drops, never exceptions', () => {
    const { client, server } = pair();
    const wire = send(client, ipPacket(100));
    const other = wire.slice();
    other[0] = (9 << 3) | 5;
    assert.equal(recv(server, other).n, DropReason.UNKNOWN_KEY_ID);
    const ctrl = wire.slice();
    ctrl[0] = (4 << 3) | 0;
    assert.equal(recv(server, ctrl).n, DropReason.NOT_DATA);
    for (let len = 0; len < wire.byteLength; len++) {
      const n = server.openPacket(wire, len, new Uint8Array(2048), NOW);
      assert.equal(n, len < 4 + 4 + 16 ? DropReason.TRUNCATED : DropReason.AUTH, `len ${len}`);
    }
    assert.equal(recv(server, wire).n, 100, 'the whole packet still opens after all the failed attempts');
  });

  it('tampering with any byte gives AUTH (header and peer-id included for AEAD)', () => {
    const { client, server } = pair();
    const wire = send(client, ipPacket(64));
    for (let i = 1; i < wire.byteLength; i++) {
      const t = wire.slice();
      t[i] = (t[i] ?? 0) ^ 0x80;
      assert.equal(recv(server, t).n, DropReason.AUTH, `byte ${i}`);
    }
    assert.equal(server.counters.dropped(DropReason.AUTH), wire.byteLength - 1);
  });

  it('a V1 packet relabelled as V2 fails authentication', () => {
    const { client, server } = pair('AES-256-GCM', {}, null);
    const v1 = send(client, ipPacket(64));
    const relabelled = new Uint8Array(v1.byteLength + 3);
    relabelled.set(Uint8Array.of((9 << 3) | 0, 0, 0, 0), 0);
    relabelled.set(v1.subarray(1), 4);
    assert.equal(recv(server, relabelled).n, DropReason.AUTH);
  });

  it('keeps the old key as lame duck, drops the one before', () => {
    const { client, server, install } = pair();
    const old = send(client, ipPacket(40));
    install(1, 2);
    assert.equal(client.primaryKeyId, 1);
    assert.equal(client.lameDuckKeyId, 0);
    const fresh = send(client, ipPacket(40));
    assert.equal((fresh[0] ?? 0) & 7, 1, 'sends with the new primary');
    assert.equal(recv(server, fresh).n, 40);
    assert.equal(recv(server, old).n, 40, 'lame duck still accepted');
    install(2, 3);
    assert.equal(recv(server, send(client, ipPacket(40))).n, 40);
    const olderStill = old.slice();
    assert.equal(recv(server, olderStill).n, DropReason.UNKNOWN_KEY_ID, 'key 0 was dropped on the second rotation');
    server.retire(2);
    client.retire(2);
    assert.equal(client.primaryKeyId, undefined);
    const out = new Uint8Array(2048);
    assert.equal(client.sealPacket(ipPacket(40), 40, out), DropReason.NO_KEY);
    assert.equal(client.counters.dropped(DropReason.NO_KEY), 1);
  });

  it('each key has its own packet id and replay space', () => {
    const { client, server, install } = pair();
    send(client, ipPacket(40));
    install(1, 2);
    const w = send(client, ipPacket(40));
    assert.equal(hex(w.subarray(4, 8)), '00000001');
    assert.equal(recv(server, w).n, 40);
  });

  it('reports a too-small destination without consuming a packet id', () => {
    const { client, server } = pair();
    assert.equal(client.sealPacket(ipPacket(100), 100, new Uint8Array(50)), DropReason.BUFFER_TOO_SMALL);
    const w = send(client, ipPacket(100));
    assert.equal(hex(w.subarray(4, 8)), '00000001');
    assert.equal(server.openPacket(w, w.byteLength, new Uint8Array(10), NOW), DropReason.BUFFER_TOO_SMALL);
  });

  for (const compression of ['lzo-stub', 'stub', 'stub-v2'] as const) {
    it(`framing ${compression} round trip, pings recognised`, () => {
      const { client, server } = pair('AES-128-GCM', { compression });
      const r = recv(server, send(client, ipPacket(500)));
      assert.equal(hex(r.out.subarray(0, r.n)), hex(ipPacket(500)));
      assert.equal(classifyPayload(r.out, r.n), 'ip');
      const p = recv(server, send(client, PING_STRING));
      assert.equal(classifyPayload(p.out, p.n), 'ping');
    });
  }

  it('a server that compresses gets COMPRESSED, counted per packet', () => {
    // Same keys on both pairs (seed 1, key_id 0, peer-id 7); only the framing configuration differs.
    const plain = pair('AES-128-GCM', { compression: 'none' });
    const lzoClient = pair('AES-128-GCM', { compression: 'lzo' }).client;
    const lzoPayload = Uint8Array.of(0x66, 1, 2, 3, 4);
    const wire = send(plain.server, lzoPayload);
    assert.equal(recv(plain.client, wire).n, 5, 'without compression configured the bytes pass through');
    assert.equal(recv(lzoClient, wire).n, DropReason.COMPRESSED);
    assert.equal(lzoClient.counters.dropped(DropReason.COMPRESSED), 1);
    assert.equal(lzoClient.counters.openedPackets, 0);
  });
});
