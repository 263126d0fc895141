/**
 * What a PUSH_REPLY settles for the data channel, decided like an OpenVPN 2.6 client: the
 * pushed cipher must be one of data-ciphers, the fallback and the server's OCC string for old
 * servers, EKM vs PRF, peer-id, compression framing, keepalive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultOptions, type ClientOptions } from '../../src/config/options.ts';
import { parsePushOptions } from '../../src/config/push.ts';
import type { CryptoCaps } from '../../src/dataplane/cipher-suite.ts';
import { compressionMode, negotiateDataChannel, type AppliedPush } from '../../src/core/negotiate.ts';

const local = defaultOptions() as ClientOptions;
/** A process that can run every cipher in the table. */
const caps: CryptoCaps = { cipher: () => true, auth: () => true };
const push = (options: string[], base: ClientOptions = local): AppliedPush => parsePushOptions(options, base);

test('a 2.6 server: pushed cipher, tls-ekm via protocol-flags, peer-id, keepalive', () => {
  const n = negotiateDataChannel(push(['cipher AES-256-GCM', 'protocol-flags cc-exit tls-ekm', 'peer-id 3', 'ping 10', 'ping-restart 60']), local, '', caps);
  assert.ok(n.ok);
  assert.deepEqual(n.params, { cipher: 'AES-256-GCM', auth: undefined, peerId: 3, useEkm: true, compression: 'none', pingSeconds: 10, pingRestartSeconds: 60, ccExit: true });
});

test('a pushed cipher equal to the config\'s own cipher line is the server\'s choice (provider files carry one)', () => {
  const provider = { ...local, cipher: 'AES-256-CBC', dataCiphers: ['AES-256-CBC'], auth: 'SHA256' } as ClientOptions;
  const n = negotiateDataChannel(push(['cipher AES-256-CBC', 'peer-id 0'], provider), provider, 'V4,dev-type tun,link-mtu 1602,tun-mtu 1500,proto UDPv4,auth SHA256,keysize 256,tls-auth,key-method 2,tls-server', caps);
  assert.ok(n.ok, n.ok ? '' : n.error);
  assert.equal(n.params.cipher, 'AES-256-CBC');
  assert.equal(n.params.auth, 'SHA256');
});

test('a pushed cipher outside data-ciphers is refused with the fix', () => {
  const n = negotiateDataChannel(push(['cipher AES-128-CBC']), local, '', caps);
  assert.ok(!n.ok);
  assert.match(n.error, /pushed cipher AES-128-CBC, which is not in data-ciphers \(AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\)/);
});

test('no pushed cipher: data-ciphers-fallback, else the cipher in the server OCC string, else an error', () => {
  const withFallback = { ...local, dataCiphersFallback: 'AES-256-CBC' } as ClientOptions;
  const a = negotiateDataChannel(push([], withFallback), withFallback, '', caps);
  assert.ok(a.ok && a.params.cipher === 'AES-256-CBC' && a.params.auth === 'SHA1' && !a.params.useEkm);
  const b = negotiateDataChannel(push([]), local, 'V4,dev-type tun,cipher AES-128-GCM,auth [null-digest],keysize 128', caps);
  assert.ok(b.ok && b.params.cipher === 'AES-128-GCM');
  const c = negotiateDataChannel(push([]), local, 'V4,dev-type tun,cipher BF-CBC,auth SHA1', caps);
  assert.ok(!c.ok);
  assert.match(c.error, /did not negotiate a data cipher \(the server uses BF-CBC\)/);
});

test('key-derivation tls-ekm (2.5 servers) also selects EKM; force-tls-key-material-export refuses PRF', () => {
  const e = negotiateDataChannel(push(['cipher AES-256-GCM', 'key-derivation tls-ekm']), local, '', caps);
  assert.ok(e.ok && e.params.useEkm);
  const forced = { ...local, forceTlsKeyMaterialExport: true } as ClientOptions;
  const f = negotiateDataChannel(push(['cipher AES-256-GCM'], forced), forced, '', caps);
  assert.ok(!f.ok);
  assert.match(f.error, /force-tls-key-material-export/);
});

test('compression framing: stubs unless allow-compression lets real algorithms through', () => {
  const mode = (compress: ClientOptions['compress'], allow: ClientOptions['allowCompression']) => compressionMode({ ...local, compress, allowCompression: allow } as ClientOptions);
  assert.equal(mode(undefined, 'no'), 'none');
  assert.equal(mode({ algo: 'lzo-no' }, 'no'), 'lzo-stub');
  assert.equal(mode({ algo: 'stub' }, 'no'), 'stub');
  assert.equal(mode({ algo: 'stub-v2' }, 'no'), 'stub-v2');
  assert.equal(mode({ algo: 'lz4' }, 'no'), 'stub');
  assert.equal(mode({ algo: 'lz4' }, 'asym'), 'lz4');
  assert.equal(mode({ algo: 'lz4-v2' }, 'no'), 'stub-v2');
  assert.equal(mode({ algo: 'lzo' }, 'yes'), 'lzo');
});
