/**
 * Control-channel messages: NUL framing with carry, CR/LF chomp, CVE-2024-5594 drops,
 * classification of every kind, PUSH_REPLY continuation, encoders.
 */
import { readVector } from '../../helpers/repo.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatBytes, hex } from '../../../src/base/bytes.ts';
import { LocalProtocolError } from '../../../src/base/errors.ts';
import {
  classifyControlMessage,
  encodeControlMessage,
  encodeCrResponse,
  encodeExit,
  encodePushRequest,
  MAX_CONTROL_MESSAGE_BYTES,
  PushAccumulator,
  splitControlMessages,
} from '../../../src/tls/messages.ts';
import type { ControlMessage } from '../../../src/tls/messages.ts';

function loadKeyVectors(name: string): unknown {
  return readVector('keys', name);
}

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A real OpenVPN 2.6.14 server's reply to a 2.6.14 client (server 10.8.0.0/24, subnet, ipv6). */
const REAL_PUSH_REPLY = (loadKeyVectors('openvpn-2.6.14-capture.json') as { pushReply: string }).pushReply;

function kind<K extends ControlMessage['kind']>(msg: string, k: K): Extract<ControlMessage, { kind: K }> {
  const m = classifyControlMessage(msg);
  assert.equal(m.kind, k, `classify(${JSON.stringify(msg)})`);
  return m as Extract<ControlMessage, { kind: K }>;
}

test('split: several NUL-terminated messages in one chunk', () => {
  const r = splitControlMessages(ascii('PUSH_REPLY,ping 10\0AUTH_PENDING,timeout 300\0'));
  assert.deepEqual(r.messages, ['PUSH_REPLY,ping 10', 'AUTH_PENDING,timeout 300']);
  assert.equal(r.carry.byteLength, 0);
  assert.equal(r.dropped, 0);
});

test('split: an unterminated tail is carried into the next chunk (unlike OpenVPN, which drops it)', () => {
  const a = splitControlMessages(ascii('HALT\0PUSH_REP'));
  assert.deepEqual(a.messages, ['HALT']);
  assert.equal(hex(a.carry), hex(ascii('PUSH_REP')));
  const b = splitControlMessages(ascii('LY,ping 10\0RES'), a.carry);
  assert.deepEqual(b.messages, ['PUSH_REPLY,ping 10']);
  const c = splitControlMessages(ascii('TART\0'), b.carry);
  assert.deepEqual(c.messages, ['RESTART']);
  assert.equal(c.carry.byteLength, 0);
});

test('split: the carry is a copy, not a view into the caller\'s buffer', () => {
  const chunk = ascii('EXI');
  const r = splitControlMessages(chunk);
  chunk.fill(0x41);
  assert.equal(hex(r.carry), hex(ascii('EXI')));
});

test('split: trailing CR/LF are stripped; empty messages are skipped', () => {
  const r = splitControlMessages(ascii('PUSH_REPLY,ping 10\r\n\0\0\0EXIT\n\0\r\n\0'));
  assert.deepEqual(r.messages, ['PUSH_REPLY,ping 10', 'EXIT']);
  assert.equal(r.dropped, 0);
});

test('split: messages with non-printable bytes are dropped and counted (CVE-2024-5594)', () => {
  const chunk = concatBytes(
    ascii('AUTH_FAILED,\x1b[31mred\0'), // escape sequence
    ascii('INFO,a\nb\0'), // embedded LF
    ascii('INFO,a\rb\0'), // embedded CR
    new Uint8Array([0x49, 0x4e, 0x46, 0x4f, 0x2c, 0xc3, 0xa9, 0x00]), // UTF-8 é: not CC_PRINT
    ascii('INFO,\x7f\0'), // DEL
    ascii('INFO,tab\there\0'), // TAB
    ascii('HALT,ok\0'),
  );
  const r = splitControlMessages(chunk);
  assert.deepEqual(r.messages, ['HALT,ok']);
  assert.equal(r.dropped, 6);
});

test('split: an unterminated tail longer than one TLS record is dropped and counted', () => {
  const a = splitControlMessages(new Uint8Array(MAX_CONTROL_MESSAGE_BYTES).fill(0x41));
  assert.equal(a.dropped, 0);
  assert.equal(a.carry.byteLength, MAX_CONTROL_MESSAGE_BYTES);
  const b = splitControlMessages(ascii('A'), a.carry);
  assert.equal(b.dropped, 1);
  assert.equal(b.carry.byteLength, 0);
  assert.deepEqual(splitControlMessages(ascii('HALT\0'), b.carry).messages, ['HALT']);
});

test('PUSH_REPLY captured from a real 2.6.14 server splits on commas into option strings', () => {
  const m = kind(REAL_PUSH_REPLY, 'PUSH_REPLY');
  assert.deepEqual(m.options, [
    'tun-ipv6',
    'route-gateway 10.8.0.1',
    'topology subnet',
    'ping 10',
    'ping-restart 120',
    'ifconfig-ipv6 fd00::1000/64 fd00::1',
    'ifconfig 10.8.0.2 255.255.255.0',
    'peer-id 0',
    'cipher AES-256-GCM',
    'protocol-flags cc-exit tls-ekm dyn-tls-crypt',
    'tun-mtu 1500',
  ]);
  assert.equal(m.continuation, undefined);
});

test('PUSH_REPLY: commas split even inside quotes (buf_parse), blank items vanish, empty reply is valid', () => {
  assert.deepEqual(kind('PUSH_REPLY,setenv-safe A "x,y",,ping 5,', 'PUSH_REPLY').options, ['setenv-safe A "x', 'y"', 'ping 5']);
  assert.deepEqual(kind('PUSH_REPLY', 'PUSH_REPLY').options, []);
  const bad = kind('PUSH_REPLYX', 'invalid');
  assert.equal(bad.error.code, 'PUSH_INVALID');
  assert.equal(kind('PUSH_REPLY,ping 1,push-continuation 7', 'invalid').error.code, 'PUSH_INVALID');
  assert.equal(kind('PUSH_FOO', 'invalid').error.code, 'PUSH_INVALID');
});

test('PUSH_REPLY continuation across 3 parts', () => {
  const acc = new PushAccumulator();
  const parts = [
    'PUSH_REPLY,route 10.1.0.0 255.255.0.0,route 10.2.0.0 255.255.0.0,push-continuation 2',
    'PUSH_REPLY,route 10.3.0.0 255.255.0.0,push-continuation 2',
    'PUSH_REPLY,ifconfig 10.8.0.2 255.255.255.0,peer-id 3,push-continuation 1',
  ];
  const results = parts.map((p) => acc.add(kind(p, 'PUSH_REPLY')));
  assert.deepEqual(results.slice(0, 2).map((r) => r.status), ['partial', 'partial']);
  assert.equal(acc.pendingParts, 0);
  const last = results[2];
  assert.ok(last !== undefined && last.status === 'complete');
  assert.equal(last.parts, 3);
  assert.deepEqual(last.options, [
    'route 10.1.0.0 255.255.0.0',
    'route 10.2.0.0 255.255.0.0',
    'route 10.3.0.0 255.255.0.0',
    'ifconfig 10.8.0.2 255.255.255.0',
    'peer-id 3',
  ]);
  // The accumulator starts afresh after a complete reply.
  const again = acc.add(kind('PUSH_REPLY,ping 10', 'PUSH_REPLY'));
  assert.ok(again.status === 'complete');
  assert.deepEqual(again.options, ['ping 10']);
});

test('PushAccumulator bounds the number of parts and total size', () => {
  const acc = new PushAccumulator({ maxParts: 3 });
  const part = kind('PUSH_REPLY,route 10.0.0.0 255.0.0.0,push-continuation 2', 'PUSH_REPLY');
  assert.equal(acc.add(part).status, 'partial');
  assert.equal(acc.add(part).status, 'partial');
  assert.equal(acc.add(part).status, 'partial');
  const over = acc.add(part);
  assert.ok(over.status === 'error');
  assert.equal(over.error.code, 'PUSH_INVALID');
  assert.equal(acc.pendingParts, 0);
  const small = new PushAccumulator({ maxBytes: 20 });
  const r = small.add(kind('PUSH_REPLY,route 10.0.0.0 255.0.0.0', 'PUSH_REPLY'));
  assert.equal(r.status, 'error');
});

test('PUSH_UPDATE and PUSH_REQUEST', () => {
  const u = kind('PUSH_UPDATE,-route 10.0.0.0 255.0.0.0,?dns server 0 address 1.1.1.1,push-continuation 1', 'PUSH_UPDATE');
  assert.deepEqual(u.options, ['-route 10.0.0.0 255.0.0.0', '?dns server 0 address 1.1.1.1']);
  assert.equal(u.continuation, 1);
  kind('PUSH_REQUEST', 'PUSH_REQUEST');
});

test('AUTH_FAILED variants', () => {
  const plain = kind('AUTH_FAILED', 'AUTH_FAILED');
  assert.ok(plain.variant === 'plain' && plain.reason === undefined);
  assert.equal(kind('AUTH_FAILED,', 'AUTH_FAILED').reason, undefined);
  const reason = kind('AUTH_FAILED,Username or password is too long. Maximum length is 128 bytes', 'AUTH_FAILED');
  assert.ok(reason.variant === 'plain');
  assert.equal(reason.reason, 'Username or password is too long. Maximum length is 128 bytes');

  const temp = kind('AUTH_FAILED,TEMP[backoff 42,advance remote]:server busy', 'AUTH_FAILED');
  assert.ok(temp.variant === 'temp');
  assert.equal(temp.backoff, 42);
  assert.equal(temp.advance, 'remote');
  assert.equal(temp.message, 'server busy');
  const tempBare = kind('AUTH_FAILED,TEMP', 'AUTH_FAILED');
  assert.ok(tempBare.variant === 'temp' && tempBare.backoff === undefined && tempBare.advance === undefined && tempBare.message === '');
  const tempOdd = kind('AUTH_FAILED,TEMP[backoff x,advance no,bogus]:m', 'AUTH_FAILED');
  assert.ok(tempOdd.variant === 'temp' && tempOdd.backoff === undefined && tempOdd.advance === 'no' && tempOdd.message === 'm');

  const session = kind('AUTH_FAILED,SESSION:Your session has expired', 'AUTH_FAILED');
  assert.ok(session.variant === 'session' && session.message === 'Your session has expired');

  const crv1 = kind('AUTH_FAILED,CRV1:R,E:Om01u7Fh4LrGBS7uh0SWmzwabUiGiW6l:Y3Ix:Please enter token PIN: now', 'AUTH_FAILED');
  assert.ok(crv1.variant === 'crv1');
  assert.deepEqual(crv1.flags, ['R', 'E']);
  assert.equal(crv1.stateId, 'Om01u7Fh4LrGBS7uh0SWmzwabUiGiW6l');
  assert.equal(crv1.usernameB64, 'Y3Ix');
  assert.equal(crv1.text, 'Please enter token PIN: now');
});

test('AUTH_PENDING with and without timeout', () => {
  const p = kind('AUTH_PENDING,timeout 300', 'AUTH_PENDING');
  assert.equal(p.timeout, 300);
  assert.deepEqual(p.keywords, ['timeout 300']);
  assert.equal(kind('AUTH_PENDING', 'AUTH_PENDING').timeout, undefined);
  assert.equal(kind('AUTH_PENDING,foo,timeout 30', 'AUTH_PENDING').timeout, 30);
});

test('INFO_PRE / INFO payloads: WEB_AUTH, OPEN_URL, CR_TEXT, plain text', () => {
  const web = kind('INFO_PRE,WEB_AUTH:external:https://vpn.example/auth?s=1:2', 'INFO_PRE');
  assert.deepEqual(web.info, { type: 'WEB_AUTH', flags: 'external', url: 'https://vpn.example/auth?s=1:2' });
  const open = kind('INFO_PRE,OPEN_URL:https://vpn.example/x', 'INFO_PRE');
  assert.deepEqual(open.info, { type: 'OPEN_URL', url: 'https://vpn.example/x' });
  const cr = kind('INFO_PRE,CR_TEXT:E,R:Enter your OTP: ', 'INFO_PRE');
  assert.deepEqual(cr.info, { type: 'CR_TEXT', flags: 'E,R', text: 'Enter your OTP: ' });
  const info = kind('INFO,hello world', 'INFO');
  assert.equal(info.text, 'hello world');
  assert.deepEqual(info.info, { type: 'text', text: 'hello world' });
});

test('RESTART / HALT flags: P preserves credentials, N advances the remote', () => {
  const r = kind('RESTART,[PN]server going down', 'RESTART');
  assert.ok(r.preserveCredentials && r.nextRemote);
  assert.equal(r.message, 'server going down');
  const plain = kind('RESTART', 'RESTART');
  assert.ok(!plain.preserveCredentials && !plain.nextRemote && plain.message === '');
  const n = kind('RESTART,[N]', 'RESTART');
  assert.ok(!n.preserveCredentials && n.nextRemote);
  const h = kind('HALT,bye', 'HALT');
  assert.ok(!h.preserveCredentials && h.message === 'bye');
});

test('EXIT and unknown messages', () => {
  kind('EXIT', 'EXIT');
  assert.equal(kind('CR_RESPONSE,abc', 'unknown').text, 'CR_RESPONSE,abc');
  assert.equal(kind('HELLO', 'unknown').text, 'HELLO');
});

test('encoders append the NUL and refuse non-printable text', () => {
  assert.equal(hex(encodePushRequest()), hex(ascii('PUSH_REQUEST\0')));
  assert.equal(hex(encodeExit()), hex(ascii('EXIT\0')));
  assert.equal(hex(encodeCrResponse('MTIzNDU2')), hex(ascii('CR_RESPONSE,MTIzNDU2\0')));
  assert.throws(() => encodeControlMessage('INFO,a\nb'), LocalProtocolError);
  assert.throws(() => encodeControlMessage('INFO,\0'), LocalProtocolError);
  assert.throws(() => encodeControlMessage('INFO,é'), LocalProtocolError);
  // Round trip through the splitter.
  assert.deepEqual(splitControlMessages(concatBytes(encodePushRequest(), encodeExit())).messages, ['PUSH_REQUEST', 'EXIT']);
});
