/**
 * Tier 1: bytes captured from a real OpenVPN 2.6 exchange (stock client and stock server in the
 * lab, relayed through a logging UDP relay: test/netns/helpers/capture-vectors.ts), decoded
 * with our codecs. The keys in the vectors are throwaway lab keys, saved to unwrap the packets.
 *
 *   captured datagram ──unwrap (tls-auth / tls-crypt / tls-crypt-v2, lab key)──▶ control packet
 *        ──decodeControlPacket──▶ opcode, session ids, acks, message ids   (both directions)
 *   logged PUSH_REPLY ──classifyControlMessage / PushAccumulator──▶ options
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesEqual, fromHex } from '../../src/base/bytes.ts';
import { decodeControlPacket, Opcode, type ControlPacket } from '../../src/tls/packet.ts';
import { parseStaticKey, parseTlsCryptV2ClientKey } from '../../src/tls/static-key.ts';
import { TlsAuthWrap, TlsCryptV2Wrap, TlsCryptWrap, EARLY_NEG_START, type ControlWrap } from '../../src/tls/wrap.ts';
import { classifyControlMessage, PushAccumulator } from '../../src/tls/messages.ts';

interface Captured {
  readonly command: string;
  readonly openvpnVersion: string;
  readonly profile: string;
  readonly wrap: 'tls-auth' | 'tls-crypt' | 'tls-crypt-v2';
  readonly auth: string;
  readonly key: string;
  readonly capturedAtUnix: number;
  readonly clientToServer: readonly string[];
  readonly serverToClient: readonly string[];
  readonly pushReply: string | null;
}

function loadCaptured(name: string): Captured {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const p = join(dir, 'test', 'vectors', 'captured', name);
    if (existsSync(p)) return JSON.parse(readFileSync(p, 'utf8')) as Captured;
    dir = dirname(dir);
  }
  return JSON.parse(readFileSync(resolve('test', 'vectors', 'captured', name), 'utf8')) as Captured;
}

/** The unwrap keys of both ends: the server reads what the client sent, and the reverse. */
function wraps(v: Captured): { server: ControlWrap; client: ControlWrap } {
  switch (v.wrap) {
    case 'tls-auth': {
      const key = parseStaticKey(v.key);
      return {
        server: new TlsAuthWrap({ key, direction: 0, digest: v.auth }),
        client: new TlsAuthWrap({ key, direction: 1, digest: v.auth }),
      };
    }
    case 'tls-crypt': {
      const key = parseStaticKey(v.key);
      return { server: new TlsCryptWrap({ key, role: 'server' }), client: new TlsCryptWrap({ key, role: 'client' }) };
    }
    case 'tls-crypt-v2': {
      const k = parseTlsCryptV2ClientKey(v.key);
      return {
        server: new TlsCryptV2Wrap({ key: k.key, wkc: k.wkc, role: 'server' }),
        client: new TlsCryptV2Wrap({ key: k.key, wkc: k.wkc, role: 'client' }),
      };
    }
  }
}

function openAll(w: ControlWrap, hexes: readonly string[], now: number): { packets: ControlPacket[]; pids: number[] } {
  const packets: ControlPacket[] = [];
  const pids: number[] = [];
  for (const [i, h] of hexes.entries()) {
    const r = w.unwrap(fromHex(h), now);
    assert.ok(r.ok, `datagram ${i} must unwrap with the lab key: ${r.ok ? '' : r.reason}`);
    packets.push(decodeControlPacket(r.packet));
    pids.push(r.pid);
  }
  return { packets, pids };
}

const FILES = ['tls-auth.json', 'tls-crypt.json', 'tls-crypt-v2.json'] as const;

for (const file of FILES) {
  const v = loadCaptured(file);

  test(`${file}: captured from ${v.openvpnVersion.split(' ').slice(0, 2).join(' ')} (${v.profile}), with its command`, () => {
    assert.match(v.openvpnVersion, /^OpenVPN 2\.6\./);
    assert.match(v.command, /capture-vectors/);
    assert.ok(v.clientToServer.length >= 3 && v.serverToClient.length >= 3);
  });

  test(`${file}: the client's datagrams unwrap and decode; the handshake shape is OpenVPN's`, () => {
    const { server } = wraps(v);
    const { packets, pids } = openAll(server, v.clientToServer, v.capturedAtUnix);
    const first = packets[0];
    assert.ok(first !== undefined);
    const v3 = v.wrap === 'tls-crypt-v2';
    assert.equal(first.opcode, v3 ? Opcode.CONTROL_HARD_RESET_CLIENT_V3 : Opcode.CONTROL_HARD_RESET_CLIENT_V2);
    assert.equal(first.keyId, 0);
    assert.equal(first.messageId, 0);
    assert.deepEqual(first.acks, []);
    // every client packet carries the client's own session id
    for (const p of packets) assert.ok(bytesEqual(p.sessionId, first.sessionId));
    // the long-form packet ids count up from 1 (tls-crypt-v2 2.6 clients: from EARLY_NEG_START + 1)
    const base = v3 ? EARLY_NEG_START : 0;
    assert.deepEqual(pids, pids.map((_, i) => base + i + 1));
    if (v3) assert.equal(packets[1]?.opcode, Opcode.CONTROL_WKC_V1, 'a 2.6 server asks for the WKc again (early negotiation)');
    // TLS records start in P_CONTROL_V1: the ClientHello is a TLS handshake record (0x16 0x03)
    const control = packets.find((p) => p.opcode === Opcode.CONTROL_V1 || p.opcode === Opcode.CONTROL_WKC_V1);
    assert.ok(control !== undefined);
    assert.equal(control.payload[0], 0x16);
    assert.equal(control.payload[1], 0x03);
  });

  test(`${file}: the server's datagrams unwrap and decode; they ack the client's session`, () => {
    const { server, client } = wraps(v);
    const clientFirst = openAll(server, v.clientToServer.slice(0, 1), v.capturedAtUnix).packets[0];
    const { packets, pids } = openAll(client, v.serverToClient, v.capturedAtUnix);
    const reset = packets[0];
    assert.ok(reset !== undefined && clientFirst !== undefined);
    assert.equal(reset.opcode, Opcode.CONTROL_HARD_RESET_SERVER_V2);
    assert.deepEqual(reset.acks, [0], 'the server reset acks the client reset (message id 0)');
    assert.ok(reset.remoteSessionId !== undefined && bytesEqual(reset.remoteSessionId, clientFirst.sessionId));
    assert.ok(!bytesEqual(reset.sessionId, clientFirst.sessionId));
    for (const p of packets) assert.ok(bytesEqual(p.sessionId, reset.sessionId));
    assert.deepEqual(pids, pids.map((_, i) => i + 1));
    const msgIds = packets.filter((p) => p.messageId !== undefined).map((p) => p.messageId);
    assert.deepEqual(msgIds, msgIds.map((_, i) => i), 'reliable message ids 0, 1, 2, ... in order');
  });

}

for (const file of ['tls-auth.json', 'tls-crypt.json'] as const) {
  test(`${file}: another static key does not unwrap the captured client reset (the server stays silent)`, () => {
    const v = loadCaptured(file);
    // every hex line of the key reversed: a different, well-formed static key
    const other = v.key.replace(/^[0-9a-f]{32}$/gm, (line) => [...line].reverse().join(''));
    assert.notEqual(other, v.key);
    const r = wraps({ ...v, key: other }).server.unwrap(fromHex(v.clientToServer[0] ?? ''), v.capturedAtUnix);
    assert.deepEqual(r, { ok: false, reason: 'HMAC' });
  });
}

test('captured PUSH_REPLY (tls-crypt profile) classifies and accumulates', () => {
  const v = loadCaptured('tls-crypt.json');
  assert.ok(v.pushReply !== null);
  const m = classifyControlMessage(v.pushReply);
  assert.equal(m.kind, 'PUSH_REPLY');
  assert.ok(m.kind === 'PUSH_REPLY');
  const acc = new PushAccumulator().add(m);
  assert.equal(acc.status, 'complete');
  assert.ok(acc.status === 'complete');
  for (const o of ['route 10.99.0.0 255.255.0.0', 'route-ipv6 fd00:99::/64', 'topology subnet', 'ping 2', 'ping-restart 10', 'cipher AES-256-GCM', 'peer-id 0']) {
    assert.ok(acc.options.includes(o), `${o} in ${acc.options.join(',')}`);
  }
  assert.ok(acc.options.some((o) => /^protocol-flags .*tls-ekm/.test(o)));
  assert.ok(acc.options.some((o) => /^ifconfig 10\.8\.\d+\.2 255\.255\.255\.0$/.test(o)));
});
