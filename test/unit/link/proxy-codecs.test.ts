/**
 * Tier 1: the HTTP CONNECT and SOCKS5 codecs (src/link/http-proxy.ts, socks-proxy.ts): request
 * bytes as OpenVPN 2.6 sends them, response parsing, and what each refusal tells the user
 * (never the password).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyError } from '../../../src/base/errors.ts';
import { connectRequest, offeredSchemes, parseResponseHead, refusal, type HttpResponseHead } from '../../../src/link/http-proxy.ts';
import * as socks from '../../../src/link/socks-proxy.ts';

const bytes = (t: string): Uint8Array => new TextEncoder().encode(t);

function head(text: string): HttpResponseHead {
  const h = parseResponseHead(bytes(text), 'proxy:3128');
  assert.ok(h !== undefined);
  return h;
}

describe('HTTP CONNECT', () => {
  it('HTTP/1.0 with a Host header and nothing else by default', () => {
    assert.equal(connectRequest({ host: 'vpn.example.com', port: 1194, options: [] }), 'CONNECT vpn.example.com:1194 HTTP/1.0\r\nHost: vpn.example.com\r\n\r\n');
  });

  it('VERSION, AGENT, CUSTOM-HEADER (a custom Host replaces ours) and Basic', () => {
    const req = connectRequest({
      host: '2001:db8::1',
      port: 443,
      options: [['VERSION', '1.1'], ['AGENT', 'Mozilla/5.0'], ['CUSTOM-HEADER', 'Host', 'front.example'], ['CUSTOM-HEADER', 'X-A: b']],
      basic: { username: 'alice', password: 'pw:with:colons' },
    });
    assert.equal(
      req,
      'CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: front.example\r\nX-A: b\r\nUser-Agent: Mozilla/5.0\r\n' +
        `Proxy-Authorization: Basic ${Buffer.from('alice:pw:with:colons').toString('base64')}\r\n\r\n`,
    );
  });

  it('waits for the whole head, and says how long it was', () => {
    assert.equal(parseResponseHead(bytes('HTTP/1.1 200 Connection established\r\n'), 'p'), undefined);
    const h = parseResponseHead(bytes('HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n\x00\x2a'), 'p');
    assert.equal(h?.status, 200);
    assert.equal(h?.length, 'HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n'.length);
  });

  it('refuses what is not HTTP, and an endless head', () => {
    assert.throws(() => parseResponseHead(bytes('SSH-2.0-OpenSSH\r\n\r\n'), 'p'), (e: unknown) => e instanceof ProxyError && e.kind === 'protocol');
    assert.throws(() => parseResponseHead(new Uint8Array(20_000).fill(0x41), 'p'), ProxyError);
  });

  it('reads the offered schemes from Proxy-Authenticate (WWW-Authenticate on a 401)', () => {
    assert.deepEqual(offeredSchemes(head('HTTP/1.1 407 x\r\nProxy-Authenticate: NTLM\r\nProxy-Authenticate: Basic realm="r"\r\n\r\n')), ['ntlm', 'basic']);
    assert.deepEqual(offeredSchemes(head('HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm="tinyproxy"\r\n\r\n')), ['basic']);
  });

  it('explains 407 with and without credentials, 403, 502 and others, naming the proxy', () => {
    const r = (t: string, sent: boolean): ProxyError => refusal(head(t), 'proxy:3128', 'vpn:1194', sent);
    const wrong = r('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n', true);
    assert.equal(wrong.kind, 'auth');
    assert.match(wrong.message, /HTTP proxy proxy:3128 refused the username\/password/);
    assert.match(r('HTTP/1.1 407 x\r\n\r\n', false).message, /requires authentication/);
    assert.equal(r('HTTP/1.1 403 Forbidden\r\n\r\n', true).kind, 'forbidden');
    const gw = r('HTTP/1.1 502 Bad Gateway\r\n\r\n', false);
    assert.equal(gw.kind, 'bad-gateway');
    assert.match(gw.message, /could not reach vpn:1194/);
    assert.equal(r('HTTP/1.1 418 teapot\r\n\r\n', false).kind, 'protocol');
  });
});

describe('SOCKS5', () => {
  it('greeting offers username/password only with credentials', () => {
    assert.deepEqual([...socks.greeting(false)], [5, 1, 0]);
    assert.deepEqual([...socks.greeting(true)], [5, 2, 0, 2]);
    assert.equal(socks.chosenMethod(Uint8Array.of(5, 2), 'p', true), 2);
    assert.throws(() => socks.chosenMethod(Uint8Array.of(5, 2), 'p', false), /requires a username and password/);
    assert.throws(() => socks.chosenMethod(Uint8Array.of(5, 0xff), 'p', true), (e: unknown) => e instanceof ProxyError && e.kind === 'auth');
    assert.throws(() => socks.chosenMethod(Uint8Array.of(4, 0), 'p', true), /does not speak SOCKS5/);
  });

  it('RFC 1929 request and reply', () => {
    assert.deepEqual([...socks.userPassRequest('al', 'pw!', 'p')], [1, 2, 0x61, 0x6c, 3, 0x70, 0x77, 0x21]);
    assert.doesNotThrow(() => socks.checkUserPassReply(Uint8Array.of(1, 0), 'p'));
    assert.throws(() => socks.checkUserPassReply(Uint8Array.of(1, 1), 'p'), (e: unknown) => e instanceof ProxyError && e.kind === 'auth' && !e.message.includes('pw!'));
  });

  it('CONNECT sends a name as a name; UDP ASSOCIATE sends 0.0.0.0:0', () => {
    assert.deepEqual([...socks.request(socks.CMD_CONNECT, 'vpn.x', 1194)], [5, 1, 0, 3, 5, ...bytes('vpn.x'), 0x04, 0xaa]);
    assert.deepEqual([...socks.request(socks.CMD_UDP_ASSOCIATE, '0.0.0.0', 0)], [5, 3, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.equal(socks.request(socks.CMD_CONNECT, 'fd00::1', 1).byteLength, 4 + 16 + 2);
  });

  it('parses replies and explains failures', () => {
    const ok = Uint8Array.of(5, 0, 0, 1, 198, 18, 0, 1, 0x1f, 0x90);
    assert.equal(socks.replyLength(ok.subarray(0, 5)), 10);
    assert.deepEqual(socks.parseReply(ok, 'p', 't'), { host: '198.18.0.1', port: 8080 });
    assert.throws(() => socks.parseReply(Uint8Array.of(5, 5, 0, 1, 0, 0, 0, 0, 0, 0), 'p', 'vpn:1194'), /could not connect to vpn:1194: connection refused/);
    assert.throws(() => socks.parseReply(Uint8Array.of(5, 2, 0, 1, 0, 0, 0, 0, 0, 0), 'p', 't'), (e: unknown) => e instanceof ProxyError && e.kind === 'forbidden');
  });

  it('UDP header: 10 bytes for an IPv4 server; replies with fragments or short headers are refused', () => {
    const d = new Uint8Array(12);
    assert.equal(socks.writeUdpHeader(d, { address: '10.1.2.3', port: 1194, family: 4 }), 10);
    assert.deepEqual([...d.subarray(0, 10)], [0, 0, 0, 1, 10, 1, 2, 3, 0x04, 0xaa]);
    assert.equal(socks.udpHeaderLength(d), 10);
    d[2] = 1;
    assert.equal(socks.udpHeaderLength(d), -1, 'a fragment');
    assert.equal(socks.udpHeaderLength(Uint8Array.of(0, 0, 0, 1, 1)), -1, 'too short');
  });
});
