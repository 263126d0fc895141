/**
 * The client Session as a pure state machine: the reset exchange, holding the ClientHello
 * until the server's reset, tls-crypt-v2 early negotiation (P_CONTROL_WKC_V1), timeouts with
 * their hints, and renegotiation key ids. TLS itself is not involved here: its ciphertext is
 * fed in as opaque bytes, as the shell would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/base/clock.ts';
import { serverReset as resetFromServer, sessionConfig } from '../helpers/session.ts';
import { MemoryLogger } from '../../src/log/logger.ts';
import { nextKeyId } from '../../src/core/key-state.ts';
import { Session } from '../../src/core/session.ts';
import type { SessionAction } from '../../src/core/session-types.ts';
import { decodeControlPacket, Opcode, type ControlPacket } from '../../src/tls/packet.ts';
import { TlsCryptV2Wrap } from '../../src/tls/wrap.ts';

const SERVER_SID = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9);

const config = sessionConfig;

function sent(actions: readonly SessionAction[]): ControlPacket[] {
  return actions.flatMap((a) => (a.kind === 'send' ? [decodeControlPacket(a.bytes)] : []));
}

const serverReset = (clientSid: Uint8Array, payload?: Uint8Array): Uint8Array => resetFromServer(SERVER_SID, clientSid, payload);

test('start sends HARD_RESET_CLIENT_V2 (msg 0, no ACKs) and opens TLS for key 0', () => {
  const s = new Session(config(), new SeededRandom(1), new MemoryLogger());
  const out = s.handle({ kind: 'start' }, 0, 1000);
  const [reset, ...rest] = sent(out);
  assert.equal(rest.length, 0);
  assert.equal(reset?.opcode, Opcode.CONTROL_HARD_RESET_CLIENT_V2);
  assert.equal(reset?.messageId, 0);
  assert.deepEqual(reset?.acks, []);
  assert.deepEqual(reset?.sessionId, s.localSessionId);
  assert.ok(out.some((a) => a.kind === 'tls-open' && a.keyId === 0));
  assert.equal(s.state, 'WAIT');
});

test('the ClientHello is held until the server reset, then leaves as msg 1 carrying the ACK', () => {
  const s = new Session(config(), new SeededRandom(2), new MemoryLogger());
  s.handle({ kind: 'start' }, 0, 1000);
  const early = s.handle({ kind: 'tls-ciphertext', keyId: 0, bytes: Uint8Array.of(0x16, 3, 1) }, 10, 1000);
  assert.deepEqual(sent(early), [], 'nothing may go out before the server answered');
  const out = s.handle({ kind: 'packet', bytes: serverReset(s.localSessionId) }, 50, 1000);
  const pkts = sent(out);
  assert.equal(pkts.length, 1);
  assert.equal(pkts[0]?.opcode, Opcode.CONTROL_V1);
  assert.equal(pkts[0]?.messageId, 1);
  assert.deepEqual(pkts[0]?.acks, [0]);
  assert.deepEqual(pkts[0]?.remoteSessionId, SERVER_SID);
  assert.deepEqual([...(pkts[0]?.payload ?? [])], [0x16, 3, 1]);
  assert.equal(s.state, 'AUTH');
  assert.equal(s.keyState, 'S_START');
});

test('a reset that does not ACK our session id is dropped and counted', () => {
  const s = new Session(config(), new SeededRandom(3), new MemoryLogger());
  s.handle({ kind: 'start' }, 0, 1000);
  const out = s.handle({ kind: 'packet', bytes: serverReset(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8)) }, 5, 1000);
  assert.deepEqual(sent(out), []);
  assert.equal(s.controlDrops['ACK_SESSION_ID'], 1);
  assert.equal(s.state, 'WAIT');
});

test('tls-crypt-v2 early negotiation: RESEND_WKC makes msg 1 a P_CONTROL_WKC_V1 with the WKc appended', () => {
  const key = new SeededRandom(4).bytes(256);
  const wkc = new Uint8Array(300).fill(7);
  wkc[298] = 300 >> 8;
  wkc[299] = 300 & 0xff;
  const clientWrap = new TlsCryptV2Wrap({ key, wkc });
  const serverWrap = new TlsCryptV2Wrap({ key, wkc, role: 'server' });
  const s = new Session(config({ wrap: clientWrap, resetOpcode: Opcode.CONTROL_HARD_RESET_CLIENT_V3, wkcLength: 300, controlProtection: 'tls-crypt-v2' }), new SeededRandom(5), new MemoryLogger());
  const start = s.handle({ kind: 'start' }, 0, 1000);
  const first = start.find((a) => a.kind === 'send');
  assert.ok(first?.kind === 'send');
  const opened = serverWrap.unwrap(first.bytes, 1000);
  assert.ok(opened.ok);
  assert.equal(decodeControlPacket(opened.packet).opcode, Opcode.CONTROL_HARD_RESET_CLIENT_V3);
  assert.equal(opened.pid, 0x0f000001, 'early negotiation is announced by the first packet id');
  const tlv = Uint8Array.of(0, 1, 0, 2, 0, 1); // EARLY_NEG_FLAGS = RESEND_WKC
  const reply = serverWrap.wrap(serverReset(s.localSessionId, tlv), 1, 1000);
  s.handle({ kind: 'tls-ciphertext', keyId: 0, bytes: Uint8Array.of(0x16) }, 1, 1000);
  const out = s.handle({ kind: 'packet', bytes: reply }, 5, 1000);
  const d = out.find((a) => a.kind === 'send');
  assert.ok(d?.kind === 'send');
  assert.deepEqual(d.bytes.subarray(d.bytes.byteLength - 300), wkc);
  const inner = serverWrap.unwrap(d.bytes, 1000);
  assert.ok(inner.ok);
  const p = decodeControlPacket(inner.packet);
  assert.equal(p.opcode, Opcode.CONTROL_WKC_V1);
  assert.equal(p.messageId, 1);
  assert.deepEqual(p.acks, [0]);
});

test('a silent server: restart after server-poll-timeout with a hint naming the key', () => {
  const s = new Session(config({ serverPollTimeoutMs: 5000, controlProtection: 'tls-crypt' }), new SeededRandom(6), new MemoryLogger());
  s.handle({ kind: 'start' }, 0, 1000);
  assert.equal(s.nextDeadline(), 2000, 'first retransmission of the reset after tls-timeout');
  const retrans = s.handle({ kind: 'timer' }, 2000, 1002);
  assert.equal(sent(retrans)[0]?.opcode, Opcode.CONTROL_HARD_RESET_CLIENT_V2);
  const out = s.handle({ kind: 'timer' }, 5000, 1005);
  const restart = out.find((a) => a.kind === 'restart');
  assert.ok(restart?.kind === 'restart');
  assert.equal(restart.reason, 'server-poll-timeout');
  assert.match(restart.message, /did not answer within 5 seconds/);
  assert.match(restart.message, /tls-crypt key/);
  assert.equal(s.state, 'RECONNECTING');
  assert.equal(s.nextDeadline(), undefined, 'a finished session asks for no more timers');
});

test('TLS that never finishes: hand-window ends the attempt with OpenVPN\'s message', () => {
  const s = new Session(config({ handWindowMs: 10_000 }), new SeededRandom(7), new MemoryLogger());
  s.handle({ kind: 'start' }, 0, 1000);
  s.handle({ kind: 'packet', bytes: serverReset(s.localSessionId) }, 10, 1000);
  const out = s.handle({ kind: 'timer' }, 10_000, 1010);
  const restart = out.find((a) => a.kind === 'restart');
  assert.ok(restart?.kind === 'restart');
  assert.equal(restart.reason, 'hand-window');
  assert.match(restart.message, /TLS key negotiation failed to occur within 10 seconds/);
});

test('renegotiation key ids run 1..7 and wrap to 1, never back to 0', () => {
  assert.deepEqual([0, 1, 2, 6, 7].map(nextKeyId), [1, 2, 3, 7, 1]);
});
