/**
 * The management protocol against transcripts (the bytes 2.6 writes, as captured from the stock
 * client in test/netns/management.test.ts), with an in-memory host.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Management, type Answer, type ManagementSettings, type ManagementSignal, type Query } from '../../../src/management/protocol.ts';
import { formatState } from '../../../src/management/records.ts';
import { tapLogger } from '../../../src/log/tap.ts';
import { MemoryLogger } from '../../../src/log/logger.ts';

interface Rig {
  readonly m: Management;
  readonly out: string[];
  readonly signals: [ManagementSignal, string | undefined][];
  readonly answers: [Query, Answer][];
  readonly events: string[];
  say(line: string): boolean;
  take(): string;
}

function rig(settings: Partial<ManagementSettings> = {}): Rig {
  const out: string[] = [];
  const signals: [ManagementSignal, string | undefined][] = [];
  const answers: [Query, Answer][] = [];
  const events: string[] = [];
  const m = new Management(
    { hold: false, forgetDisconnect: false, signalOnDisconnect: false, logCache: 100, ...settings },
    {
      title: 'ovpn-ts test',
      pid: 4242,
      now: () => 1796473923,
      signal: (s, r) => signals.push([s, r]),
      status: () => 'OpenVPN STATISTICS\nUpdated,2026-12-05 12:30:52\nEND\n',
      bytes: () => ({ read: 3392, written: 3410 }),
      bytecountInterval: (s) => events.push(`bytecount ${s}`),
      holdReleased: () => events.push('released'),
      answered: (q, a) => answers.push([q, a]),
      forgetPasswords: () => events.push('forget'),
    },
  );
  m.connect((t) => out.push(t));
  return {
    m, out, signals, answers, events,
    say: (line) => m.receive(`${line}\r\n`),
    take: () => out.splice(0).join(''),
  };
}

test('welcome, version, pid, unknown commands, exit', () => {
  const r = rig();
  assert.equal(r.take(), ">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r\n");
  r.say('version');
  assert.equal(r.take(), 'OpenVPN Version: ovpn-ts test\r\nManagement Version: 5\r\nEND\r\n');
  r.say('pid');
  assert.equal(r.take(), 'SUCCESS: pid=4242\r\n');
  r.say('frobnicate now');
  assert.equal(r.take(), "ERROR: unknown command, enter 'help' for more options\r\n");
  r.say('signal');
  assert.equal(r.take(), "ERROR: the 'signal' command requires 1 parameter\r\n");
  r.say('help');
  assert.match(r.take(), /^Management Interface for ovpn-ts\r\n[\s\S]*\r\nEND\r\n$/);
  assert.equal(r.say('quit'), true);
});

test('state records print as 2.6 prints them; history and real-time', () => {
  assert.equal(formatState({ time: 1, state: 'CONNECTING' }), '1,CONNECTING,,,,,,');
  assert.equal(formatState({ time: 1, state: 'ASSIGN_IP', tunIp4: '10.8.0.2', tunIp6: 'fd00:8::1000' }), '1,ASSIGN_IP,,10.8.0.2,,,,,fd00:8::1000');
  assert.equal(
    formatState({ time: 1, state: 'CONNECTED', detail: 'SUCCESS', tunIp4: '10.8.0.2', remote: { address: '198.18.1.1', port: 1194 }, local: { address: '0.0.0.0', port: 5 }, tunIp6: 'fd00:8::1000' }),
    '1,CONNECTED,SUCCESS,10.8.0.2,198.18.1.1,1194,,,fd00:8::1000',
  );
  assert.equal(formatState({ time: 1, state: 'CONNECTED', detail: 'SUCCESS', remote: { address: '198.18.1.1', port: 1194 }, local: { address: '198.18.1.2', port: 40000 } }), '1,CONNECTED,SUCCESS,,198.18.1.1,1194,198.18.1.2,40000');
  const r = rig();
  r.take();
  r.m.state({ state: 'CONNECTING' });
  r.m.state({ state: 'WAIT' });
  assert.equal(r.take(), '', 'no real-time state before "state on"');
  r.say('state');
  assert.equal(r.take(), '1796473923,WAIT,,,,,,\r\nEND\r\n');
  r.say('state on all');
  assert.equal(r.take(), 'SUCCESS: real-time state notification set to ON\r\n1796473923,CONNECTING,,,,,,\r\n1796473923,WAIT,,,,,,\r\nEND\r\n');
  r.m.state({ state: 'RECONNECTING', detail: 'SIGUSR1' });
  assert.equal(r.take(), '>STATE:1796473923,RECONNECTING,SIGUSR1,,,,,\r\n');
  r.say('state maybe');
  assert.equal(r.take(), "ERROR: state parameter must be 'on' or 'off' or some number n or 'all'\r\n");
});

test('log history is bounded by management-log-cache; log on streams >LOG:', () => {
  const r = rig({ logCache: 2 });
  r.take();
  r.m.log('I', 'one');
  r.m.log('W', 'two');
  r.m.log('', 'three');
  r.say('log all');
  assert.equal(r.take(), '1796473923,W,two\r\n1796473923,,three\r\nEND\r\n');
  r.say('log on');
  r.m.log('N', 'four');
  assert.equal(r.take(), 'SUCCESS: real-time log notification set to ON\r\n>LOG:1796473923,N,four\r\n');
  r.say('log');
  assert.equal(r.take(), "ERROR: the 'log' command requires at least 1 parameter\r\n");
});

test('the logger tap records what passes --verb, with 2.6 flag letters', () => {
  const seen: string[] = [];
  const log = tapLogger(new MemoryLogger(), 3, (f, t) => seen.push(`${f}|${t}`));
  log.info('up');
  log.warn('careful');
  log.error('broken');
  log.scope('tun').verb(3, 'shown');
  log.verb(4, 'hidden');
  assert.deepEqual(seen, ['I|up', 'W|careful', 'N|broken', '|shown']);
});

test('hold: >HOLD on connect, release hands over once; SIGUSR1/SIGHUP are ignored while holding', () => {
  const r = rig({ hold: true });
  r.take();
  assert.equal(r.m.hold(0), true);
  assert.equal(r.take(), '>HOLD:Waiting for hold release:0\r\n');
  r.say('signal SIGUSR1');
  assert.equal(r.take(), "ERROR: signal 'SIGUSR1' is currently ignored\r\n>HOLD:Waiting for hold release:0\r\n");
  r.say('hold');
  r.say('hold release');
  assert.equal(r.take(), 'SUCCESS: hold=1\r\nSUCCESS: hold release succeeded\r\n');
  assert.deepEqual(r.events, ['released']);
  assert.equal(r.m.hold(1), false, 'released for this context');
  r.m.rearmHold();
  r.say('hold off');
  assert.equal(r.m.hold(1), false, 'hold flag off');
  r.say('signal SIGTERM');
  assert.deepEqual(r.signals, [['SIGTERM', undefined]]);
  // a client connecting later sees the pending hold after >INFO
  const late = rig({ hold: true });
  late.m.disconnect();
  late.m.hold(0);
  late.m.connect((t) => late.out.push(t));
  assert.equal(late.take(), ">INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r\n>INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r\n>HOLD:Waiting for hold release:0\r\n");
});

test('credentials: >PASSWORD:Need, username then password, type checks, verification failure', () => {
  const r = rig();
  r.take();
  r.say('username "Auth" alice');
  assert.equal(r.take(), 'ERROR: no username is currently needed at this time\r\n');
  r.m.query({ kind: 'user-pass', type: 'Auth' });
  assert.equal(r.take(), ">PASSWORD:Need 'Auth' username/password\r\n");
  r.say('username "Private Key" alice');
  assert.equal(r.take(), "ERROR: username of type 'Private Key' entered, but we need one of type 'Auth'\r\n");
  r.say('username "Auth" alice');
  r.say('password "Auth" "s3cret pass"');
  assert.equal(r.take(), "SUCCESS: 'Auth' username entered, but not yet verified\r\nSUCCESS: 'Auth' password entered, but not yet verified\r\n");
  assert.deepEqual(r.answers, [[{ kind: 'user-pass', type: 'Auth' }, { username: 'alice', password: 's3cret pass' }]]);
  r.m.authFailed('Auth');
  assert.equal(r.take(), ">PASSWORD:Verification Failed: 'Auth'\r\n");
  r.m.query({ kind: 'need-ok', type: 'token-insertion', message: 'Please insert the token' });
  assert.equal(r.take(), ">NEED-OK:Need 'token-insertion' confirmation MSG:Please insert the token\r\n");
  r.say('needok token-insertion ok');
  assert.equal(r.take(), "SUCCESS: 'token-insertion' needok-confirmation entered, but not yet verified\r\n");
});

test('pw-file: only the prompt until the right password; three wrong ones close', () => {
  const r = rig({ password: 'sesame', hold: true });
  assert.equal(r.take(), 'ENTER PASSWORD:');
  r.m.hold(0);
  r.m.state({ state: 'CONNECTING' });
  assert.equal(r.say('hold release'), false);
  assert.equal(r.take(), 'ENTER PASSWORD:', 'nothing runs, nothing is shown');
  assert.deepEqual(r.events, []);
  assert.equal(r.say('sesame'), false);
  assert.equal(r.take(), "SUCCESS: password is correct\r\n>INFO:OpenVPN Management Interface Version 5 -- type 'help' for more info\r\n>HOLD:Waiting for hold release:0\r\n");
  const bad = rig({ password: 'sesame' });
  bad.take();
  assert.equal(bad.say('a'), false);
  assert.equal(bad.say('b'), false);
  assert.equal(bad.say('c'), true);
  assert.equal(bad.take(), 'ENTER PASSWORD:ENTER PASSWORD:');
});

test('disconnect: management-forget-disconnect and management-signal (remapped by remap-usr1)', () => {
  const r = rig({ forgetDisconnect: true, signalOnDisconnect: true, remapUsr1: 'SIGTERM' });
  r.say('bytecount 5');
  r.m.bytecount();
  assert.match(r.take(), /SUCCESS: bytecount interval changed\r\n>BYTECOUNT:3392,3410\r\n$/);
  r.m.disconnect();
  assert.deepEqual(r.events, ['bytecount 5', 'bytecount 0', 'forget']);
  assert.deepEqual(r.signals, [['SIGTERM', 'management-disconnect']]);
  // an unauthenticated client going away changes nothing
  const p = rig({ password: 'x', forgetDisconnect: true, signalOnDisconnect: true });
  p.m.disconnect();
  assert.deepEqual(p.signals, []);
  assert.deepEqual(p.events, ['bytecount 0']);
});
