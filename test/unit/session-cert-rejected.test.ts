/**
 * Interop finding from test/netns/control-channel.test.ts, pinned at tier 1: with TLS 1.3 the
 * client's side of the handshake completes before the server has checked the client's
 * certificate. A real OpenVPN 2.6 UDP server that rejects it (revoked, expired, unknown CA)
 * logs "Sent fatal SSL alert" but drops the session without delivering the alert, so the client
 * only sees silence after sending its key-method-2 message. The session must then end with a
 * TLS error (exit code 5 when the client gives up) whose message names the likely causes, and
 * not with the generic "check your network connectivity".
 */
import { serverReset as resetFromServer, sessionConfig } from '../helpers/session.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/base/clock.ts';
import { MemoryLogger } from '../../src/log/logger.ts';
import { Session } from '../../src/core/session.ts';
import type { SessionAction, SessionConfig } from '../../src/core/session-types.ts';
import { KEY2_LENGTH } from '../../src/tls/keys.ts';

const SERVER_SID = Uint8Array.of(7, 7, 7, 7, 7, 7, 7, 7);
const HAND_WINDOW_MS = 5000;

const config = (): SessionConfig => sessionConfig({ handWindowMs: HAND_WINDOW_MS, controlProtection: 'tls-crypt' });

const serverReset = (clientSid: Uint8Array): Uint8Array => resetFromServer(SERVER_SID, clientSid);

function restartOf(out: readonly SessionAction[]): Extract<SessionAction, { kind: 'restart' }> {
  const r = out.find((a) => a.kind === 'restart');
  assert.ok(r?.kind === 'restart', `expected a restart action in ${out.map((a) => a.kind).join(',')}`);
  return r;
}

test('silence after our TLS side finished and KM2 was sent: a TLS error naming a rejected certificate', () => {
  const s = new Session(config(), new SeededRandom(11), new MemoryLogger());
  s.handle({ kind: 'start' }, 0, 1000);
  s.handle({ kind: 'packet', bytes: serverReset(s.localSessionId) }, 10, 1000);
  const established = s.handle({ kind: 'tls-established', keyId: 0, ekm: new Uint8Array(KEY2_LENGTH) }, 50, 1000);
  assert.ok(established.some((a) => a.kind === 'tls-write'), 'the key-method-2 message is written into TLS');
  assert.equal(s.keyState, 'S_SENT_KEY');
  assert.deepEqual(s.handle({ kind: 'timer' }, HAND_WINDOW_MS - 1, 1004).filter((a) => a.kind === 'restart'), []);
  const r = restartOf(s.handle({ kind: 'timer' }, HAND_WINDOW_MS, 1005));
  assert.equal(r.reason, 'tls-error');
  assert.match(r.message, /TLS key negotiation failed to occur within 5 seconds/);
  assert.match(r.message, /rejected our certificate \(revoked, expired, or not signed by a CA it trusts\)/);
});

test('TLS not finished on our side either: still the generic hand-window message', () => {
  const s = new Session(config(), new SeededRandom(12), new MemoryLogger());
  s.handle({ kind: 'start' }, 0, 1000);
  s.handle({ kind: 'packet', bytes: serverReset(s.localSessionId) }, 10, 1000);
  const r = restartOf(s.handle({ kind: 'timer' }, HAND_WINDOW_MS, 1005));
  assert.equal(r.reason, 'hand-window');
  assert.match(r.message, /check your network connectivity/);
  assert.doesNotMatch(r.message, /certificate/);
});
