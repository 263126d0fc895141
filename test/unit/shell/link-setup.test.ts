/**
 * Tier 1: what a link that cannot be opened means for the process (open-link.ts linkFailure),
 * and which socket options and proxy methods a connection entry asks for (proxy-setup.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OsError, ProxyError } from '../../../src/base/errors.ts';
import { defaultConnection, defaultOptions, type ClientOptions, type ConnectionEntry } from '../../../src/config/options.ts';
import { linkFailure } from '../../../src/shell/open-link.ts';
import { socketOptionsOf, unsupportedProxy } from '../../../src/shell/proxy-setup.ts';

const ce = (over: Partial<ConnectionEntry> = {}): ConnectionEntry => ({ ...(defaultConnection() as ConnectionEntry), ...over });

test('a proxy that refuses the credentials exits (code 4) unless auth-retry asks to go on; other failures restart', () => {
  const refused = new ProxyError('auth', 'HTTP proxy p:1 refused the username/password');
  assert.deepEqual(linkFailure(refused, 'none'), { kind: 'exit', error: refused });
  assert.deepEqual(linkFailure(refused, 'nointeract'), { kind: 'restart', reason: 'proxy-auth', message: refused.message, connected: false });
  const down = new ProxyError('unreachable', 'cannot connect to HTTP proxy p:1');
  assert.equal(linkFailure(down, 'none').kind, 'restart');
  const os = new OsError('SOCKET', 'TCP connection failed');
  assert.deepEqual(linkFailure(os, 'none'), { kind: 'restart', reason: 'link', message: os.message, connected: false });
});

test('socket options come from mark, bind-dev, sndbuf, rcvbuf and the entry\'s mtu-disc; none when nothing is set', () => {
  const o = defaultOptions() as ClientOptions;
  assert.equal(socketOptionsOf(o, ce()), undefined);
  const set = { ...o, mark: 66, bindDev: 'eth1', sndbuf: 524288, rcvbuf: 262144 } as ClientOptions;
  assert.deepEqual(socketOptionsOf(set, ce({ mtuDisc: 'yes' })), { mark: 66, bindDev: 'eth1', sndbuf: 524288, rcvbuf: 262144, mtuDisc: 'yes' });
});

test('only Basic proxy authentication is offered; digest and ntlm2 are named as not implemented', () => {
  const hp = (authMethod: 'basic' | 'digest' | 'ntlm2' | undefined) => ce({ httpProxy: { host: 'p', port: 8080, auth: { kind: 'auto' }, authMethod, options: [] } });
  assert.equal(unsupportedProxy(hp('basic')), undefined);
  assert.equal(unsupportedProxy(hp(undefined)), undefined);
  assert.match(unsupportedProxy(hp('ntlm2')) ?? '', /ntlm2 is not implemented/);
  assert.match(unsupportedProxy(hp('digest')) ?? '', /digest is not implemented/);
});
