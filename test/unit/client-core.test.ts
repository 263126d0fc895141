/**
 * The client core on a fake clock: every decision the shell used to make, driven input by
 * input. TLS is not involved: the server's KM2 and control messages are fed in as the TLS
 * engine's plaintext, EKM as bytes, exactly as the shell would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, SeededRandom, type Random } from '../../src/base/clock.ts';
import { AuthFailedError, NegotiationError, OsError } from '../../src/base/errors.ts';
import { MemoryLogger } from '../../src/log/logger.ts';
import { defaultOptions, type ClientOptions } from '../../src/config/options.ts';
import { ClientCore, EXIT_NOTIFY_GRACE_MS, type CoreAction, type CoreInput, type Outcome } from '../../src/core/client-core.ts';
import type { CryptoCaps } from '../../src/dataplane/cipher-suite.ts';
import { decodeControlPacket, Opcode } from '../../src/tls/packet.ts';
import { encodeControlMessage } from '../../src/tls/messages.ts';
import { serverReset, sessionConfig } from '../helpers/session.ts';
import { encodeServerKm2 } from '../loopback/server-km2.ts';

const SERVER_SID = Uint8Array.of(9, 9, 9, 9, 9, 9, 9, 9);
const REMOTE = { address: '198.18.0.1', port: 1194, family: 4 } as const;
const ALL_CAPS: CryptoCaps = { cipher: () => true, auth: () => true };
const GCM_PUSH = 'PUSH_REPLY,cipher AES-256-GCM,protocol-flags cc-exit tls-ekm,peer-id 3,ping 10,ping-restart 60,ifconfig 10.8.0.2 255.255.255.0,topology subnet';

interface Setup {
  readonly proto?: 'udp' | 'tcp';
  readonly float?: boolean;
  readonly explicitExitNotify?: number;
  readonly options?: Partial<ClientOptions>;
  readonly renegotiateMs?: number;
  readonly random?: Random;
}

class Driver {
  readonly clock = new FakeClock(0);
  readonly core: ClientCore;
  readonly log = new MemoryLogger();
  readonly actions: CoreAction[] = [];
  readonly states: string[] = [];
  engine = 0;
  tunnelGen = 0;

  constructor(s: Setup = {}) {
    const options = { ...(defaultOptions() as ClientOptions), ...s.options } as ClientOptions;
    this.core = new ClientCore(
      {
        session: sessionConfig({ renegotiateMs: s.renegotiateMs ?? 0 }),
        options,
        connectionIndex: 0,
        proto: s.proto ?? 'udp',
        float: s.float ?? false,
        remote: REMOTE,
        explicitExitNotify: s.explicitExitNotify ?? 0,
        caps: ALL_CAPS,
      },
      s.random ?? new SeededRandom(7),
      this.log,
      0,
    );
  }

  feed(input: CoreInput): CoreAction[] {
    const out = this.core.handle(input, this.clock.now(), this.clock.wallSeconds());
    for (const a of out) {
      if (a.kind === 'tls-open') this.engine = a.engine;
      if (a.kind === 'open-tunnel') this.tunnelGen = a.gen;
      if (a.kind === 'state') this.states.push(a.state);
    }
    this.actions.push(...out);
    return out;
  }

  /** Moves the clock to the core's next deadline (at most `limitMs` ahead) and fires the timer. */
  tick(limitMs = Infinity): CoreAction[] {
    const at = this.core.nextDeadline();
    assert.ok(at !== undefined, 'the core asks for a timer');
    this.clock.set(Math.min(at, this.clock.now() + limitMs));
    return this.feed({ kind: 'timer' });
  }

  plaintext(text: string): CoreAction[] {
    return this.feed({ kind: 'tls-plaintext', engine: this.engine, bytes: encodeControlMessage(text) });
  }

  /** Through the handshake to GET_CONFIG (PUSH_REQUEST sent). */
  toGetConfig(): void {
    this.feed({ kind: 'start' });
    const sid = this.#clientSid();
    this.feed({ kind: 'control-packet', bytes: serverReset(SERVER_SID, sid) });
    this.feed({ kind: 'tls-established', engine: this.engine, ekm: new Uint8Array(256).fill(5) });
    const random = new SeededRandom(3);
    this.feed({ kind: 'tls-plaintext', engine: this.engine, bytes: encodeServerKm2(random.bytes(32), random.bytes(32), 'V4,dev-type tun') });
    assert.equal(this.core.state, 'GET_CONFIG');
  }

  /** Through PUSH_REPLY and the tunnel to CONNECTED. */
  connect(push = GCM_PUSH): void {
    this.toGetConfig();
    this.plaintext(push);
    assert.equal(this.core.state, 'ADD_ROUTES');
    this.feed({ kind: 'tunnel-opened', gen: this.tunnelGen });
    assert.equal(this.core.state, 'CONNECTED');
  }

  ended(): Outcome | undefined {
    const e = this.actions.find((a) => a.kind === 'end');
    return e?.kind === 'end' ? e.outcome : undefined;
  }

  #clientSid(): Uint8Array {
    const reset = this.actions.find((a) => a.kind === 'send');
    assert.ok(reset?.kind === 'send');
    return decodeControlPacket(reset.bytes).sessionId;
  }
}

test('the states of a connection, in OpenVPN\'s names, including ADD_ROUTES and CONNECTED', () => {
  const d = new Driver();
  d.connect();
  assert.deepEqual(d.states, ['WAIT', 'AUTH', 'GET_CONFIG', 'ASSIGN_IP', 'ADD_ROUTES', 'CONNECTED']);
  assert.ok(d.log.records.some((l) => l.msg === 'Initialization Sequence Completed'));
});

test('push negotiation: the keys and the tunnel carry the pushed cipher, peer-id and EKM', () => {
  const d = new Driver();
  d.connect();
  const keys = d.actions.find((a) => a.kind === 'install-keys');
  assert.ok(keys?.kind === 'install-keys');
  assert.equal(keys.keyId, 0);
  assert.deepEqual([keys.params.cipher, keys.params.peerId, keys.params.useEkm], ['AES-256-GCM', 3, true]);
  const open = d.actions.find((a) => a.kind === 'open-tunnel');
  assert.ok(open?.kind === 'open-tunnel');
  assert.equal(open.pushed.ifconfig?.local, '10.8.0.2');
});

test('push negotiation: a pushed cipher equal to the config\'s cipher line is accepted (provider files)', () => {
  const d = new Driver({ options: { cipher: 'AES-256-CBC', dataCiphers: ['AES-256-CBC'], auth: 'SHA256' } });
  d.connect('PUSH_REPLY,cipher AES-256-CBC,ping 10,ping-restart 60');
  const keys = d.actions.find((a) => a.kind === 'install-keys');
  assert.ok(keys?.kind === 'install-keys');
  assert.deepEqual([keys.params.cipher, keys.params.auth, keys.params.useEkm], ['AES-256-CBC', 'SHA256', false]);
});

test('push negotiation: a cipher outside data-ciphers exits with the fix; pull-filter reject restarts', () => {
  const d = new Driver();
  d.toGetConfig();
  d.plaintext('PUSH_REPLY,cipher AES-128-CBC');
  const out = d.ended();
  assert.ok(out?.kind === 'exit');
  assert.ok(out.error instanceof NegotiationError);
  assert.match(out.error.message, /not in data-ciphers/);
  assert.equal(d.core.state, 'EXITING');

  const f = new Driver({ options: { pullFilters: [{ action: 'reject', prefix: 'route ' }] } });
  f.toGetConfig();
  f.plaintext('PUSH_REPLY,cipher AES-256-GCM,route 10.1.0.0 255.255.0.0');
  const r = f.ended();
  assert.ok(r?.kind === 'restart');
  assert.equal(r.reason, 'pull-filter');
});

test('AUTH_FAILED exits (auth-retry none); AUTH_FAILED,TEMP restarts with the server\'s backoff', () => {
  const d = new Driver();
  d.toGetConfig();
  d.plaintext('AUTH_FAILED');
  const out = d.ended();
  assert.ok(out?.kind === 'exit' && out.error instanceof AuthFailedError);

  const t = new Driver();
  t.toGetConfig();
  t.plaintext('AUTH_FAILED,TEMP[backoff 30,advance no]: try later');
  const temp = t.ended();
  assert.ok(temp?.kind === 'restart', JSON.stringify(temp));
  assert.equal(temp.reason, 'auth-failed');
  assert.equal(temp.backoffSeconds, 30);
});

test('keepalive: a ping when nothing was sent for `ping` s; ping-restart when nothing arrived for `ping-restart` s', () => {
  const d = new Driver();
  d.connect();
  const start = d.clock.now();
  d.core.dataSent(start, 100);
  d.core.dataReceived(start, 100);
  let pingAt: number | undefined;
  while (pingAt === undefined && d.clock.now() < start + 20_000) {
    if (d.tick().some((a) => a.kind === 'send-data' && a.payload === 'ping')) pingAt = d.clock.now();
  }
  assert.equal(pingAt, start + 10_000);
  // traffic arrives at 50 s: no restart at 60 s, but at 110 s
  while (d.clock.now() < start + 50_000) d.tick(start + 50_000 - d.clock.now());
  d.core.dataReceived(d.clock.now(), 100);
  while (d.clock.now() < start + 200_000 && d.ended() === undefined) d.tick();
  const out = d.ended();
  assert.ok(out?.kind === 'restart');
  assert.equal(out.reason, 'ping-restart');
  assert.equal(d.clock.now(), start + 110_000, 'ping-restart counts from the last packet received');
  assert.equal(out.connected, true);
});

test('TCP: a close or reset restarts at once (connection-reset); a data authentication failure too', () => {
  const d = new Driver({ proto: 'tcp' });
  d.connect();
  d.feed({ kind: 'link-closed' });
  const out = d.ended();
  assert.ok(out?.kind === 'restart');
  assert.equal(out.reason, 'connection-reset');
  assert.equal(d.core.state, 'RECONNECTING');

  const e = new Driver({ proto: 'tcp' });
  e.toGetConfig();
  e.feed({ kind: 'link-error', code: 'ECONNRESET', message: 'read ECONNRESET' });
  assert.equal(e.ended()?.kind, 'restart');

  const t = new Driver({ proto: 'tcp' });
  t.connect();
  t.feed({ kind: 'data-error' });
  const te = t.ended();
  assert.ok(te?.kind === 'restart');
  assert.equal(te.reason, 'decryption-error');
});

test('UDP: forged data packets are only counted; ICMP port unreachable restarts with a hint', () => {
  const d = new Driver();
  d.connect();
  d.feed({ kind: 'data-error' });
  d.feed({ kind: 'link-error', code: 'EHOSTUNREACH', message: 'no route' });
  assert.equal(d.ended(), undefined);
  d.feed({ kind: 'link-error', code: 'ECONNREFUSED', message: 'refused' });
  const out = d.ended();
  assert.ok(out?.kind === 'restart');
  assert.equal(out.reason, 'connection-refused');
  assert.match(out.message, /ICMP port unreachable/);
});

test('OCC EXIT from the server restarts (remote-exit)', () => {
  const d = new Driver();
  d.connect();
  d.feed({ kind: 'occ-exit' });
  const out = d.ended();
  assert.ok(out?.kind === 'restart');
  assert.equal(out.reason, 'remote-exit');
});

test('float: a packet from a new address moves the remote only with float', () => {
  const moved = { address: '198.18.0.9', port: 1195, family: 4 } as const;
  const d = new Driver();
  d.connect();
  assert.deepEqual(d.feed({ kind: 'peer-moved', from: moved }), []);
  const f = new Driver({ float: true });
  f.connect();
  assert.deepEqual(f.feed({ kind: 'peer-moved', from: moved }), [{ kind: 'set-remote', remote: moved }]);
  assert.deepEqual(f.feed({ kind: 'peer-moved', from: moved }), [], 'only once');
});

test('renegotiation by time (reneg-sec) and by packet-id exhaustion: a soft reset on a new key id and TLS engine', () => {
  const d = new Driver({ renegotiateMs: 30_000 });
  d.connect();
  const first = d.engine;
  const start = d.clock.now();
  let softReset = false;
  for (let i = 0; i < 10 && !softReset; i++) {
    const out = d.tick();
    softReset = out.some((a) => a.kind === 'send' && decodeControlPacket(a.bytes).opcode === Opcode.CONTROL_SOFT_RESET_V1);
  }
  assert.ok(softReset);
  assert.equal(d.clock.now() - start, 30_000);
  assert.notEqual(d.engine, first, 'a fresh TLS engine for key id 1');

  const p = new Driver();
  p.connect();
  const out = p.feed({ kind: 'packet-id-exhausted' });
  const reset = out.find((a) => a.kind === 'send');
  assert.ok(reset?.kind === 'send');
  const pkt = decodeControlPacket(reset.bytes);
  assert.equal(pkt.opcode, Opcode.CONTROL_SOFT_RESET_V1);
  assert.equal(pkt.keyId, 1);
});

test('explicit-exit-notify: SIGTERM sends the exit, then ends after a short grace on the core\'s own timer', () => {
  const d = new Driver({ explicitExitNotify: 1 });
  d.connect('PUSH_REPLY,cipher AES-256-GCM,protocol-flags tls-ekm,ping 10,ping-restart 60');
  const out = d.feed({ kind: 'stop', signal: 'sigterm', restart: false });
  assert.deepEqual(out, [{ kind: 'send-data', payload: 'occ-exit' }]);
  assert.equal(d.ended(), undefined);
  assert.equal(d.core.nextDeadline(), d.clock.now() + EXIT_NOTIFY_GRACE_MS);
  d.tick();
  assert.deepEqual(d.ended(), { kind: 'stopped', signal: 'sigterm' });
  // with cc-exit the EXIT goes over the control channel instead
  const c = new Driver({ explicitExitNotify: 1 });
  c.connect();
  const cc = c.feed({ kind: 'stop', signal: 'sigint', restart: false });
  assert.ok(cc.some((a) => a.kind === 'tls-write'));
  assert.ok(!cc.some((a) => a.kind === 'send-data'));
});

type Step = (d: Driver) => void;
const STATES: readonly [string, Step][] = [
  ['CONNECTING', () => undefined],
  ['WAIT', (d) => d.feed({ kind: 'start' })],
  ['GET_CONFIG', (d) => d.toGetConfig()],
  [
    'ADD_ROUTES',
    (d) => {
      d.toGetConfig();
      d.plaintext(GCM_PUSH);
    },
  ],
  ['CONNECTED', (d) => d.connect()],
];

for (const [state, reach] of STATES) {
  test(`teardown from ${state}: one end, every TLS engine closed, nothing after it`, () => {
    const d = new Driver();
    reach(d);
    assert.equal(d.core.state, state);
    const gen = d.tunnelGen;
    const out = d.feed({ kind: 'stop', signal: 'sigusr1', restart: true });
    const ends = out.filter((a) => a.kind === 'end');
    assert.deepEqual(ends, [{ kind: 'end', outcome: { kind: 'stopped', signal: 'sigusr1' } }]);
    const opened = d.actions.filter((a) => a.kind === 'tls-open').length;
    const closed = d.actions.filter((a) => a.kind === 'tls-close').length;
    assert.equal(closed, opened, 'every engine the core opened is closed');
    assert.equal(d.core.nextDeadline(), undefined);
    // late results of async work are ignored
    assert.deepEqual(d.feed({ kind: 'tunnel-opened', gen }), []);
    assert.deepEqual(d.feed({ kind: 'timer' }), []);
    assert.deepEqual(d.feed({ kind: 'stop', signal: 'sigterm', restart: false }), []);
    assert.equal(d.core.connected, state === 'CONNECTED');
  });
}

test('a stale tunnel result (an earlier generation) is ignored', () => {
  const d = new Driver();
  d.toGetConfig();
  d.plaintext(GCM_PUSH);
  assert.deepEqual(d.feed({ kind: 'tunnel-opened', gen: d.tunnelGen + 1 }), []);
  assert.equal(d.core.state, 'ADD_ROUTES');
  d.feed({ kind: 'tunnel-failed', gen: d.tunnelGen, error: new NegotiationError('boom') });
  assert.equal(d.ended()?.kind, 'exit');
});

test('pushed sndbuf/rcvbuf resize the link socket (socket-buffers); none pushed, no action', () => {
  const pushed = new Driver({ options: { sndbuf: 65536 } });
  pushed.connect(`${GCM_PUSH},sndbuf 393216,rcvbuf 262144`);
  assert.deepEqual(pushed.actions.filter((a) => a.kind === 'socket-buffers'), [{ kind: 'socket-buffers', sndbuf: 393216, rcvbuf: 262144 }]);
  const one = new Driver();
  one.connect(`${GCM_PUSH},rcvbuf 262144`);
  assert.deepEqual(one.actions.filter((a) => a.kind === 'socket-buffers'), [{ kind: 'socket-buffers', sndbuf: undefined, rcvbuf: 262144 }]);
  const local = new Driver({ options: { sndbuf: 65536, rcvbuf: 65536 } });
  local.connect();
  assert.deepEqual(local.actions.filter((a) => a.kind === 'socket-buffers'), [], 'local sizes were set when the socket was made');
});

test('TCP: a local socket problem the link reports (code SOCKET) is a warning; any other link error ends the connection', () => {
  const d = new Driver({ proto: 'tcp' });
  d.connect();
  d.feed({ kind: 'link-error', code: 'SOCKET', message: 'cannot resize the socket buffers: EPERM' });
  assert.equal(d.ended(), undefined);
  assert.ok(d.log.records.some((r) => r.kind === 'warn' && r.msg.includes('cannot resize the socket buffers')), d.log.text());
  d.feed({ kind: 'link-error', code: 'EPIPE', message: 'write EPIPE' });
  assert.deepEqual(d.ended(), { kind: 'restart', reason: 'connection-reset', message: 'TCP link error: write EPIPE', connected: true });
});

test('once the data keys are handed out, the key source (pre-master secret, randoms) is zeroed; the shell zeroes key2', () => {
  for (const push of ['PUSH_REPLY,cipher AES-256-CBC,ping 10,ping-restart 60', GCM_PUSH]) {
    const handed: Uint8Array[] = [];
    const seeded = new SeededRandom(11);
    const random: Random = { bytes: (n) => { const b = seeded.bytes(n); handed.push(b); return b; } };
    const d = new Driver({ random, options: { dataCiphers: ['AES-256-GCM', 'AES-256-CBC'], auth: 'SHA256' } });
    d.toGetConfig();
    const source = handed.filter((b) => b.byteLength === 48 || b.byteLength === 32);
    assert.equal(source.length, 3, 'pre-master secret and two randoms');
    assert.ok(source.every((b) => b.some((x) => x !== 0)), 'random before the keys');
    d.plaintext(push);
    assert.ok(d.actions.some((a) => a.kind === 'install-keys'));
    assert.ok(source.every((b) => b.every((x) => x === 0)), `zeroed after the keys (${push.slice(0, 40)})`);
  }
});

test('explicit-exit-notify on the client\'s own fatal ends too: ping-exit, and a tunnel that fails once keys are in', () => {
  const p = new Driver({ explicitExitNotify: 1, options: { pingExit: 30 } });
  p.connect('PUSH_REPLY,cipher AES-256-GCM,protocol-flags tls-ekm,ping 10');
  let out: CoreAction[] = [];
  for (let i = 0; i < 10 && !out.some((a) => a.kind === 'send-data' && a.payload === 'occ-exit'); i++) out = p.tick();
  assert.ok(out.some((a) => a.kind === 'send-data' && a.payload === 'occ-exit'), 'the OCC EXIT before ending');
  assert.equal(p.ended(), undefined);
  p.tick();
  const pe = p.ended();
  assert.ok(pe?.kind === 'exit' && /ping-exit/.test(pe.error.message));

  const t = new Driver({ explicitExitNotify: 1 });
  t.toGetConfig();
  t.plaintext(GCM_PUSH);
  const failed = t.feed({ kind: 'tunnel-failed', gen: t.tunnelGen, error: new OsError('OS', 'route-up script failed') });
  assert.ok(failed.some((a) => a.kind === 'tls-write'), 'cc-exit: EXIT over the control channel');
  assert.equal(t.ended(), undefined);
  t.tick();
  assert.deepEqual(t.ended(), { kind: 'exit', error: new OsError('OS', 'route-up script failed') });

  const none = new Driver();
  none.connect();
  none.feed({ kind: 'tunnel-failed', gen: none.tunnelGen, error: new OsError('OS', 'x') });
  assert.ok(none.ended()?.kind === 'exit', 'without explicit-exit-notify the end is immediate');
});

test('reneg-bytes: a soft reset once the primary key carried that much; transition-window then retires the old key', () => {
  const d = new Driver({ options: { renegBytes: 10_000, tranWindow: 60 } });
  d.connect('PUSH_REPLY,cipher AES-256-GCM,protocol-flags cc-exit tls-ekm,peer-id 3,ifconfig 10.8.0.2 255.255.255.0,topology subnet');
  const now = d.clock.now();
  assert.equal(d.core.dataSent(now, 6000), false);
  assert.equal(d.core.dataReceived(now, 4000), true, 'the limit is reached at 10000 bytes, both directions counted');
  const out = d.feed({ kind: 'data-limit' });
  const reset = out.find((a) => a.kind === 'send');
  assert.ok(reset?.kind === 'send' && decodeControlPacket(reset.bytes).opcode === Opcode.CONTROL_SOFT_RESET_V1);
  assert.equal(decodeControlPacket(reset.bytes).keyId, 1);
  d.feed({ kind: 'tls-established', engine: d.engine, ekm: new Uint8Array(256).fill(6) });
  const random = new SeededRandom(4);
  const keys = d.feed({ kind: 'tls-plaintext', engine: d.engine, bytes: encodeServerKm2(random.bytes(32), random.bytes(32), 'V4,dev-type tun') });
  assert.ok(keys.some((a) => a.kind === 'install-keys' && a.keyId === 1), 'key id 1 installed');
  assert.equal(d.core.dataSent(d.clock.now(), 9999), false, 'the new key starts at zero');
  const installedAt = d.clock.now();
  let retired: CoreAction | undefined;
  for (let i = 0; i < 20 && retired === undefined; i++) retired = d.tick().find((a) => a.kind === 'retire-key');
  assert.deepEqual(retired, { kind: 'retire-key', keyId: 0 });
  assert.equal(d.clock.now() - installedAt, 60_000);
  assert.equal(d.ended(), undefined);
});

test('inactive: no TUN traffic for N s ends the session (exit 0, explicit-exit-notify first); pings do not count', () => {
  const d = new Driver({ explicitExitNotify: 1, options: { inactive: { seconds: 30, bytes: 0 } } });
  d.connect();
  const start = d.clock.now();
  d.core.tunnelTraffic(84, start + 10_000);
  let notified = false;
  for (let i = 0; i < 50 && d.ended() === undefined; i++) {
    d.core.dataReceived(d.clock.now(), 40); // keepalive traffic from the server keeps ping-restart away
    if (d.tick().some((a) => a.kind === 'tls-write')) notified = true;
  }
  assert.ok(notified, 'EXIT sent (cc-exit) before ending');
  assert.deepEqual(d.ended(), { kind: 'done', reason: 'inactive', message: 'Inactivity timeout (--inactive), exiting' });
  assert.equal(d.clock.now(), start + 40_000 + EXIT_NOTIFY_GRACE_MS);
});

test('session-timeout pushed by the server ends the session N s after the attempt began', () => {
  const d = new Driver();
  d.connect('PUSH_REPLY,cipher AES-256-GCM,protocol-flags tls-ekm,session-timeout 30');
  for (let i = 0; i < 20 && d.ended() === undefined; i++) d.tick();
  assert.deepEqual(d.ended(), { kind: 'done', reason: 'session-timeout', message: 'Session timeout (--session-timeout), exiting' });
  assert.equal(d.clock.now(), 30_000);
});
