/**
 * Bad input never escapes as an exception: seeded random and mutated packets, TCP streams,
 * control messages and pushed options are thrown at the parsers and state machines that face
 * the network. Each must drop (and count) what it cannot use. Deterministic: fixed seeds,
 * bounded iterations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/base/clock.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { Session } from '../../src/core/session.ts';
import { serverReset, sessionConfig } from '../helpers/session.ts';
import { encodeControlPacket, Opcode, TcpFramer } from '../../src/tls/packet.ts';
import { TlsCryptWrap } from '../../src/tls/wrap.ts';
import { classifyControlMessage, splitControlMessages } from '../../src/tls/messages.ts';
import { DataChannel } from '../../src/dataplane/data-channel.ts';
import { createDataCrypto } from '../../src/dataplane/create-data-crypto.ts';
import { splitKey2 } from '../../src/dataplane/data-crypto.ts';
import { defaultOptions, type ClientOptions } from '../../src/config/options.ts';
import { parsePushOptions } from '../../src/config/push.ts';

const ROUNDS = 3000;


/** A copy of `base` cut to a random length, with one to four random bytes overwritten. */
function mutate(r: SeededRandom, base: Uint8Array): Uint8Array {
  const out = base.slice(0, Math.floor(r.float() * (base.byteLength + 1)));
  for (let i = 0, n = 1 + Math.floor(r.float() * 4); i < n && out.byteLength > 0; i++) {
    out[Math.floor(r.float() * out.byteLength)] = r.next() & 0xff;
  }
  return out;
}

test('Session: random and mutated control datagrams, before and after the server reset, never throw', () => {
  const r = new SeededRandom(20261125);
  const s = new Session(sessionConfig({ peerName: 'fuzz' }), new SeededRandom(1), silentLogger);
  s.handle({ kind: 'start' }, 0, 1000);
  const serverSid = Uint8Array.of(5, 5, 5, 5, 5, 5, 5, 5);
  const reset = serverReset(serverSid, s.localSessionId);
  const control = encodeControlPacket({ opcode: Opcode.CONTROL_V1, keyId: 0, sessionId: serverSid, acks: [1], remoteSessionId: s.localSessionId, messageId: 1, payload: r.bytes(40) });
  for (let i = 0; i < ROUNDS; i++) {
    const choice = i % 4;
    const bytes = choice === 0 ? r.bytes(Math.floor(r.float() * 120)) : mutate(r, choice === 1 ? reset : control);
    assert.doesNotThrow(() => s.handle({ kind: 'packet', bytes }, i, 1000), `round ${i}`);
    if (i === ROUNDS / 2) s.handle({ kind: 'packet', bytes: reset }, i, 1000);
  }
  const drops = Object.values(s.controlDrops).reduce((a, b) => a + b, 0);
  assert.ok(drops > ROUNDS / 4, `garbage is counted as drops (${drops})`);
});

test('tls-crypt: random datagrams are all dropped as unauthenticated, none throws', () => {
  const r = new SeededRandom(7);
  const s = new Session(sessionConfig({ wrap: new TlsCryptWrap({ key: r.bytes(256) }), controlProtection: 'tls-crypt' }), new SeededRandom(2), silentLogger);
  s.handle({ kind: 'start' }, 0, 1000);
  for (let i = 0; i < ROUNDS; i++) {
    const bytes = r.bytes(Math.floor(r.float() * 200));
    if (bytes.byteLength > 0) bytes[0] = (Math.floor(r.float() * 12) << 3) | (r.next() & 7);
    assert.doesNotThrow(() => s.handle({ kind: 'packet', bytes }, i, 1000));
  }
  assert.equal(s.controlDrops['UNWRAP'], ROUNDS);
  assert.equal(s.state, 'WAIT', 'nothing unauthenticated changed the state');
});

test('DataChannel.openPacket: truncations and bit flips of a real packet, and random bytes, return drop codes', () => {
  const r = new SeededRandom(99);
  const key2 = r.bytes(256);
  const client = splitKey2(key2, 'client');
  const server = splitKey2(key2, 'server');
  const sender = new DataChannel();
  sender.install(0, createDataCrypto('AES-256-GCM', undefined, server.send), createDataCrypto('AES-256-GCM', undefined, server.recv), 7);
  const receiver = new DataChannel();
  receiver.install(0, createDataCrypto('AES-256-GCM', undefined, client.send), createDataCrypto('AES-256-GCM', undefined, client.recv), 7);
  const ip = new Uint8Array(60);
  ip[0] = 0x45;
  const wire = new Uint8Array(2048);
  const n = sender.sealPacket(ip, ip.byteLength, wire);
  const real = wire.slice(0, n);
  const dst = new Uint8Array(2048);
  assert.equal(receiver.openPacket(real, real.byteLength, dst, 1000), 60, 'the unmodified packet opens');
  let drops = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const bytes = i % 3 === 0 ? r.bytes(Math.floor(r.float() * 100)) : mutate(r, real);
    let res = 0;
    assert.doesNotThrow(() => {
      res = receiver.openPacket(bytes, bytes.byteLength, dst, 1000);
    });
    if (res < 0) drops++;
  }
  assert.equal(drops, ROUNDS, 'every damaged or replayed packet is dropped');
});

test('TcpFramer: a random byte stream in random chunks never throws and never yields oversized frames', () => {
  const r = new SeededRandom(3);
  for (let run = 0; run < 50; run++) {
    const f = new TcpFramer(1600);
    for (let i = 0; i < 40 && f.error === undefined; i++) {
      const frames = f.push(r.bytes(Math.floor(r.float() * 300)));
      for (const p of frames) assert.ok(p.byteLength <= 1600);
    }
  }
});

test('control messages and pushed options: random printable and binary text never throws', () => {
  const r = new SeededRandom(11);
  const base = defaultOptions() as ClientOptions;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 ,.:/-"\'\\#;_\t';
  for (let i = 0; i < 1000; i++) {
    const bytes = r.bytes(Math.floor(r.float() * 200));
    assert.doesNotThrow(() => {
      const split = splitControlMessages(bytes);
      for (const m of split.messages) classifyControlMessage(m);
    });
    let text = '';
    for (let j = 0, n = Math.floor(r.float() * 80); j < n; j++) text += alphabet[Math.floor(r.float() * alphabet.length)];
    const words = ['route', 'ifconfig', 'dhcp-option', 'peer-id', 'cipher', 'topology', 'route-ipv6', 'ping', 'redirect-gateway', 'dns'];
    const option = `${words[i % words.length] ?? ''} ${text}`;
    assert.doesNotThrow(() => classifyControlMessage(`PUSH_REPLY,${option}`));
    assert.doesNotThrow(() => parsePushOptions([option, text], base), option);
  }
});
