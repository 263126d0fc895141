/** Reconnect pacing as a pure policy (init.c socket_restart_pause, next_connection_entry, --tls-exit). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConnection, type ConnectionEntry } from '../../src/config/options.ts';
import { ExitCode, AuthFailedError } from '../../src/base/errors.ts';
import { RetryPolicy } from '../../src/core/retry.ts';
import type { Outcome } from '../../src/core/client-core.ts';

const ce = (over: Partial<ConnectionEntry> = {}): ConnectionEntry => ({ ...(defaultConnection() as ConnectionEntry), ...over });
const fail = (reason: string, connected = false): Outcome => ({ kind: 'restart', reason, message: reason, connected });

test('a failed attempt moves to the next remote; connect-retry pauses, doubling per round past the 5th, capped', () => {
  const p = new RetryPolicy({ connections: [ce({ connectRetry: 1, connectRetryMax: 300 }), ce({ connectRetry: 1, connectRetryMax: 300 })], tlsExit: false, connectRetryMaxTries: undefined });
  const seen: [number, number][] = [];
  for (let i = 0; i < 16; i++) {
    const d = p.next(fail('hand-window'));
    assert.ok(d.kind === 'retry');
    seen.push([d.index, d.delaySeconds]);
  }
  assert.deepEqual(seen.map(([i]) => i).slice(0, 4), [1, 0, 1, 0]);
  assert.deepEqual(seen.map(([, s]) => s), [1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 4, 4, 8, 8, 16]);
});

test('a connection that was up restarts on the same remote and resets the count; a refused one moves on', () => {
  const p = new RetryPolicy({ connections: [ce(), ce()], tlsExit: false, connectRetryMaxTries: undefined });
  const d = p.next(fail('ping-restart', true));
  assert.ok(d.kind === 'retry' && d.index === 0);
  const r = p.next(fail('connection-refused', true));
  assert.ok(r.kind === 'retry' && r.index === 1);
});

test('AUTH_FAILED,TEMP backoff is a floor on the pause', () => {
  const p = new RetryPolicy({ connections: [ce({ connectRetry: 1 })], tlsExit: false, connectRetryMaxTries: undefined });
  const d = p.next({ kind: 'restart', reason: 'auth-failed', message: '', connected: false, backoffSeconds: 30 });
  assert.ok(d.kind === 'retry' && d.delaySeconds === 30);
});

test('connect-retry-max N gives up after N rounds with the last failure\'s code; tls-exit on the first TLS error', () => {
  const p = new RetryPolicy({ connections: [ce(), ce()], tlsExit: false, connectRetryMaxTries: 2 });
  const codes = [fail('tls-error'), fail('hand-window'), fail('auth-failed'), fail('tls-error')].map((o) => p.next(o));
  assert.deepEqual(codes.map((d) => d.kind), ['retry', 'retry', 'retry', 'exit']);
  assert.ok(codes[3]?.kind === 'exit' && codes[3].code === ExitCode.TLS);
  const t = new RetryPolicy({ connections: [ce()], tlsExit: true, connectRetryMaxTries: undefined });
  assert.equal(t.next(fail('ping-restart')).kind, 'retry');
  const e = t.next(fail('hand-window'));
  assert.ok(e.kind === 'exit' && e.code === ExitCode.ERROR && /tls-exit/.test(e.message ?? ''));
});

test('a fatal outcome exits with its error\'s code; a signal restart reconnects at once to the same remote', () => {
  const p = new RetryPolicy({ connections: [ce(), ce()], tlsExit: false, connectRetryMaxTries: undefined });
  assert.deepEqual(p.next({ kind: 'stopped', signal: 'sigusr1' }), { kind: 'retry', index: 0, delaySeconds: 0 });
  const d = p.next({ kind: 'exit', error: new AuthFailedError(undefined) });
  assert.ok(d.kind === 'exit' && d.code === ExitCode.AUTH);
});

test('a network-change restart of a connected session (roaming) reconnects to the same remote at once', () => {
  const p = new RetryPolicy({ connections: [ce({ connectRetry: 5 }), ce()], tlsExit: false, connectRetryMaxTries: undefined });
  assert.deepEqual(p.next(fail('network-change', true)), { kind: 'retry', index: 0, delaySeconds: 0 });
  assert.deepEqual(p.next(fail('ping-restart', true)), { kind: 'retry', index: 0, delaySeconds: 5 });
});
