/** Peer-info builder: OpenVPN 2.6 line order, IV_PROTO from implemented features, IV_NCP rule. */
import { readVector } from '../../helpers/repo.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LocalProtocolError } from '../../../src/base/errors.ts';
import { buildPeerInfo, IV_PROTO, ivProtoValue } from '../../../src/tls/peer-info.ts';
import type { PeerInfoParams } from '../../../src/tls/peer-info.ts';

function loadKeyVectors(name: string): unknown {
  return readVector('keys', name);
}
const captured = loadKeyVectors('openvpn-2.6.14-capture.json') as { clientPeerInfo: string };

const base: PeerInfoParams = {
  version: '2.6.14',
  tunMtuMax: 1600,
  dataCiphers: ['AES-256-GCM', 'AES-128-GCM', 'CHACHA20-POLY1305'],
  features: { dataV2: true, tlsKeyExport: true },
};

test('IV_PROTO bit values are ssl.h\'s', () => {
  assert.equal(IV_PROTO.DATA_V2, 2);
  assert.equal(IV_PROTO.TLS_KEY_EXPORT, 8);
  assert.equal(IV_PROTO.CC_EXIT_NOTIFY, 128);
  assert.equal(IV_PROTO.AUTH_FAIL_TEMP, 256);
  assert.equal(IV_PROTO.DYN_TLS_CRYPT, 512);
  assert.equal(IV_PROTO.PUSH_UPDATE, 4096);
});

test('a real 2.6 pulling client\'s features give 990', () => {
  const v = ivProtoValue({
    dataV2: true, requestPush: true, tlsKeyExport: true, authPendingKw: true,
    dnsOption: true, ccExitNotify: true, authFailTemp: true, dynTlsCrypt: true,
  });
  assert.equal(v, 990);
});

test('with a 2.6 client\'s features the text equals what a real 2.6.14 client sent', () => {
  const text = buildPeerInfo({
    version: '2.6.14',
    tunMtuMax: 1600,
    dataCiphers: ['AES-256-GCM', 'AES-128-GCM', 'CHACHA20-POLY1305'],
    features: {
      dataV2: true, requestPush: true, tlsKeyExport: true, authPendingKw: true,
      dnsOption: true, ccExitNotify: true, authFailTemp: true, dynTlsCrypt: true,
    },
  });
  assert.equal(text, captured.clientPeerInfo);
});

test('DATA_V2 is always added when any bit is set; nothing set gives 0', () => {
  assert.equal(ivProtoValue({ tlsKeyExport: true }), 8 | 2);
  assert.equal(ivProtoValue({ requestPush: true, authFailTemp: true }), 4 | 256 | 2);
  assert.equal(ivProtoValue({}), 0);
  assert.equal(ivProtoValue({ dataV2: false, tlsKeyExport: false }), 0);
});

test('the default text has OpenVPN\'s lines in order, with stub compression vars', () => {
  const text = buildPeerInfo({
    ...base,
    features: { dataV2: true, requestPush: true, tlsKeyExport: true, authPendingKw: true, ccExitNotify: true, authFailTemp: true },
  });
  assert.equal(
    text,
    'IV_VER=2.6.14\nIV_PLAT=linux\nIV_TCPNL=1\nIV_MTU=1600\nIV_NCP=2\n' +
      'IV_CIPHERS=AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\nIV_PROTO=414\n' +
      'IV_LZO_STUB=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n',
  );
});

test('IV_NCP=2 only when both AES-128-GCM and AES-256-GCM are in data-ciphers', () => {
  assert.doesNotMatch(buildPeerInfo({ ...base, dataCiphers: ['AES-256-GCM', 'CHACHA20-POLY1305'] }), /IV_NCP/);
  assert.match(buildPeerInfo({ ...base, dataCiphers: ['aes-128-gcm', 'AES-256-GCM'] }), /^IV_NCP=2$/m);
});

test('compression adverts: lzo-lz4 and none', () => {
  const full = buildPeerInfo({ ...base, compression: 'lzo-lz4' });
  assert.match(full, /IV_LZ4=1\nIV_LZ4v2=1\nIV_LZO=1\nIV_COMP_STUB=1\nIV_COMP_STUBv2=1\n$/);
  assert.doesNotMatch(full, /IV_LZO_STUB/);
  assert.doesNotMatch(buildPeerInfo({ ...base, compression: 'none' }), /COMP|LZO|LZ4/);
});

test('setenv: IV_GUI_VER and IV_SSO always; UV_* and IV_PLAT_VER only with push-peer-info', () => {
  const setenv = [['IV_GUI_VER', 'ovpn-ts_1.0'], ['IV_SSO', 'webauth,crtext'], ['UV_TEAM', 'blue'], ['OTHER', 'x']] as const;
  const plain = buildPeerInfo({ ...base, setenv });
  assert.match(plain, /\nIV_GUI_VER=ovpn-ts_1.0\nIV_SSO=webauth,crtext\n$/);
  assert.doesNotMatch(plain, /UV_TEAM|OTHER/);
  const detailed = buildPeerInfo({
    ...base,
    setenv,
    pushPeerInfo: { hwaddr: '02:00:00:00:00:01', ssl: 'OpenSSL 3.0.19 27 Jan 2026', platVer: '6.12.0' },
  });
  assert.match(detailed, /IV_COMP_STUBv2=1\nIV_HWADDR=02:00:00:00:00:01\nIV_SSL=OpenSSL 3.0.19 27 Jan 2026\nIV_PLAT_VER=6.12.0\nIV_GUI_VER=ovpn-ts_1.0\nIV_SSO=webauth,crtext\nUV_TEAM=blue\n$/);
  assert.doesNotMatch(detailed, /OTHER/);
});

test('push-peer-info without a known gateway MAC omits IV_HWADDR', () => {
  const t = buildPeerInfo({ ...base, pushPeerInfo: { ssl: 'OpenSSL 3', platVer: '6.1' } });
  assert.doesNotMatch(t, /IV_HWADDR/);
  assert.match(t, /IV_SSL=OpenSSL 3\nIV_PLAT_VER=6.1\n$/);
});

test('every line is KEY=VALUE\\n', () => {
  const t = buildPeerInfo({ ...base, setenv: [['IV_SSO', 'webauth']] });
  assert.ok(t.endsWith('\n'));
  for (const l of t.slice(0, -1).split('\n')) assert.match(l, /^[A-Za-z0-9_]+=[^\n]*$/);
});

test('values with a newline, CR or NUL, and bad names, are refused', () => {
  assert.throws(() => buildPeerInfo({ ...base, setenv: [['IV_SSO', 'webauth\nIV_PROTO=9999']] }), LocalProtocolError);
  assert.throws(() => buildPeerInfo({ ...base, setenv: [['IV_GUI_VER', 'a\rb']] }), LocalProtocolError);
  assert.throws(() => buildPeerInfo({ ...base, version: '2.6\0' }), LocalProtocolError);
  assert.throws(() => buildPeerInfo({ ...base, dataCiphers: ['AES-256-GCM\n'] }), LocalProtocolError);
});
