import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { ConfigErrors } from '../../../src/base/errors.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { ConfigReader, MAX_CONFIG_BYTES, MAX_DIRECTIVES } from '../../../src/config/reader.ts';
import { BASE, PKI, memFs } from './memfs.ts';

function errors(files: Record<string, string | Uint8Array>, argv: readonly string[] = ['--config', 'a.ovpn']): string[] {
  try {
    loadConfig(argv, memFs(files));
  } catch (e) {
    assert.ok(e instanceof ConfigErrors, `expected ConfigErrors, got ${String(e)}`);
    return e.errors.map((x) => x.message);
  }
  assert.fail('expected ConfigErrors');
}

test('inline blocks become inline FileRefs; CRLF and BOM are accepted', () => {
  const text = '\uFEFFclient\r\ndev tun\r\nremote h 1194\r\n<ca>\r\nAAA\r\nBBB\r\n</ca>\r\ncert c.crt  \r\nkey c.key\r\n';
  const { options } = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': text, ...PKI }));
  assert.deepEqual(options.ca, { kind: 'inline', text: 'AAA\nBBB\n', pos: { file: '/work/a.ovpn', line: 4 } });
  assert.deepEqual(options.cert, { kind: 'file', path: '/work/c.crt', pos: { file: '/work/a.ovpn', line: 8 } });
});

test('--name in a file means name (bypass_doubledash)', () => {
  const { options } = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': `${BASE}--verb 4\n`, ...PKI }));
  assert.equal(options.verb, 4);
});

test('connection blocks inherit globals set before them and hold their own remote', () => {
  const text = 'client\ndev tun\nproto tcp\nca ca.crt\ncert c.crt\nkey c.key\n<connection>\nremote a.example 443\n</connection>\n<connection>\nremote b.example 1194 udp\nconnect-timeout 9\n</connection>\n';
  const { options } = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': text, ...PKI }));
  assert.equal(options.connections.length, 2);
  assert.deepEqual(options.connections.map((c) => [c.remote, c.remotePort, c.proto, c.connectTimeout]), [
    ['a.example', 443, 'tcp', 120],
    ['b.example', 1194, 'udp', 9],
  ]);
});

test('tls-auth / tls-crypt after the <connection> blocks reach every block without its own (options_postprocess_mutate_ce)', () => {
  // Access Server profiles end with key-direction + <tls-auth>, after the blocks; OpenVPN 2.6
  // warns that the option "is ignored by previous <connection> blocks" yet uses it for them.
  const blocks = 'client\ndev tun\nca ca.crt\ncert c.crt\nkey c.key\n<connection>\nremote a.example 1194 udp\n</connection>\n<connection>\nremote b.example 443 tcp\ntls-crypt own.key\n</connection>\n';
  const text = `${blocks}key-direction 1\n<tls-auth>\nKEY\n</tls-auth>\n`;
  const { options, warnings } = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': text, '/work/own.key': 'K', ...PKI }));
  assert.deepEqual(options.connections.map((c) => [c.remote, c.tlsAuth, c.keyDirection, c.tlsCrypt]), [
    ['a.example', { key: { kind: 'inline', text: 'KEY\n', pos: { file: '/work/a.ovpn', line: 14 } }, direction: undefined }, 1, undefined],
    ['b.example', undefined, undefined, { kind: 'file', path: '/work/own.key', pos: { file: '/work/a.ovpn', line: 11 } }],
  ]);
  assert.deepEqual(warnings.filter((w) => /ignored by the <connection> blocks/.test(w.message)), []);
  // Other connection-level options after the blocks are still ignored by them, with a warning.
  const late = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': `${blocks}connect-timeout 9\n`, '/work/own.key': 'K', ...PKI }));
  assert.deepEqual(late.options.connections.map((c) => c.connectTimeout), [120, 120]);
  assert.match(late.warnings.map((w) => `${w.directive}: ${w.message}`).join('\n'), /connect-timeout: ignored by the <connection> blocks before it/);
});

test('a connection block without a remote, or a global-only directive inside one, is an error', () => {
  const base = 'client\nca ca.crt\ncert c.crt\nkey c.key\n';
  assert.deepEqual(errors({ '/work/a.ovpn': `${base}<connection>\nproto tcp\n</connection>\n`, ...PKI }), [
    '/work/a.ovpn:5: connection: each <connection> block must contain exactly one remote (found 0)',
  ]);
  assert.deepEqual(errors({ '/work/a.ovpn': `${base}<connection>\nremote h\n</connection>\n<connection>\n</connection>\n`, ...PKI }), [
    '/work/a.ovpn:8: connection: each <connection> block must contain exactly one remote (found 0)',
  ]);
  const m = errors({ '/work/a.ovpn': `${base}<connection>\nremote h\nverb 3\n</connection>\n`, ...PKI });
  assert.deepEqual(m, ['/work/a.ovpn:7: verb: not allowed inside a <connection> block']);
});

test('config includes resolve against the working directory as changed by cd', () => {
  const files = {
    '/work/a.ovpn': 'cd /etc/vpn\nconfig common.conf\nremote h\n',
    '/etc/vpn/common.conf': 'client\ndev tun\nca ca.crt\ncert c.crt\nkey c.key\n',
    '/etc/vpn/ca.crt': 'x', '/etc/vpn/c.crt': 'x', '/etc/vpn/c.key': 'x',
  };
  const { options, entries } = loadConfig(['--config', 'a.ovpn'], memFs(files));
  assert.deepEqual(options.ca, { kind: 'file', path: '/etc/vpn/ca.crt', pos: { file: '/etc/vpn/common.conf', line: 3 } });
  assert.equal(entries.find((e) => e.name === 'client')?.pos.file, '/etc/vpn/common.conf');
});

test('cd to a missing directory is an error', () => {
  assert.deepEqual(errors({ '/work/a.ovpn': `cd /nope\n${BASE}`, ...PKI }).slice(0, 1), ['/work/a.ovpn:1: cd: cannot change directory to /nope: no such file']);
});

test('relative files resolve against cwd, not the config folder; the error hints at the config folder', () => {
  const files = { '/cfg/a.ovpn': BASE, '/cfg/ca.crt': 'x', '/cfg/c.crt': 'x', '/cfg/c.key': 'x' };
  const m = errors(files, ['--config', '/cfg/a.ovpn']);
  assert.equal(m.length, 3);
  assert.match(m[0] ?? '', /^\/cfg\/a\.ovpn:4: ca: cannot read \/work\/ca\.crt: no such file \(hint: \/cfg\/ca\.crt exists next to the config file;.*cd \/cfg/);
});

test('include loop and include depth are errors naming the chain', () => {
  const loop = errors({ '/work/a.ovpn': 'config b.conf\n', '/work/b.conf': 'config a.ovpn\n' });
  assert.equal(loop[0], '/work/b.conf:1: config: include loop: /work/a.ovpn -> /work/b.conf -> /work/a.ovpn');
  const deep: Record<string, string> = {};
  for (let i = 0; i < 12; i++) deep[`/work/${i}.conf`] = `config ${i + 1}.conf\n`;
  const m = errors(deep, ['--config', '0.conf']);
  assert.match(m[0] ?? '', /^\/work\/9\.conf:1: config: maximum include depth \(10\) exceeded/);
});

test('unterminated inline block, stray closing tag, unknown and duplicate blocks', () => {
  const un = errors({ '/work/a.ovpn': `${BASE}<tls-auth>\nxx\n<cert>\nyy\n</cert>\n`, ...PKI });
  assert.deepEqual(un.slice(0, 1), ['/work/a.ovpn:7: tls-auth: inline block is not terminated (expected </tls-auth>; found <cert> at line 9 first)']);
  assert.deepEqual(errors({ '/work/a.ovpn': `${BASE}</key>\n`, ...PKI }), ['/work/a.ovpn:7: key: closing tag </key> without an opening <key>']);
  const unknown = errors({ '/work/a.ovpn': `${BASE}<cacert>\nx\n</cacert>\n`, ...PKI });
  assert.match(unknown[0] ?? '', /^\/work\/a\.ovpn:7: cacert: <cacert> is not a known inline block \(expected one of .*ca, cert/);
  const dup = errors({ '/work/a.ovpn': 'client\nremote h\ncert c.crt\nkey c.key\n<ca>\nA\n</ca>\n<ca>\nB\n</ca>\n', ...PKI });
  assert.deepEqual(dup, ['/work/a.ovpn:8: ca: duplicate inline <ca> block (the first one is at /work/a.ovpn:5)']);
});

test('a block tag on a flag directive or a non-inline directive is refused', () => {
  const m = errors({ '/work/a.ovpn': `${BASE}<verb>\n3\n</verb>\n`, ...PKI });
  assert.deepEqual(m, ['/work/a.ovpn:7: verb: cannot be given as an inline <verb> block']);
});

test('limits: long lines, binary files, invalid UTF-8, huge files', () => {
  const long = errors({ '/work/a.ovpn': `${BASE}setenv X ${'a'.repeat(300)}\n# ${'c'.repeat(400)}\n`, ...PKI });
  assert.deepEqual(long, ['/work/a.ovpn:7: line is too long (309 characters, at most 256 as in OpenVPN)']);
  assert.deepEqual(errors({ '/work/a.ovpn': new Uint8Array([0x63, 0x0a, 0x64, 0x00, 0x01]) }), ['/work/a.ovpn:2: binary data (NUL byte): this is not an OpenVPN text config']);
  assert.deepEqual(errors({ '/work/a.ovpn': new Uint8Array([0x63, 0x6c, 0xff, 0xfe, 0x0a]) }), ['/work/a.ovpn:1: not valid UTF-8 text: this is not an OpenVPN text config']);
  const big = 'verb 3\n'.repeat(Math.ceil((MAX_CONFIG_BYTES + 1) / 7));
  assert.match(errors({ '/work/a.ovpn': big })[0] ?? '', /file is too large/);
});

test('a 2 MB random file is rejected as binary with CONFIG_SYNTAX', () => {
  let seed = 12345;
  const buf = new Uint8Array(2 * 1024 * 1024);
  for (let i = 0; i < buf.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    buf[i] = seed >>> 24;
  }
  try {
    loadConfig(['--config', 'r.ovpn'], memFs({ '/work/r.ovpn': buf }));
    assert.fail('expected an error');
  } catch (e) {
    assert.ok(e instanceof ConfigErrors);
    assert.equal(e.errors.length, 1);
    assert.equal(e.code, 'CONFIG_SYNTAX');
    assert.match(e.errors[0]?.detail ?? '', /binary data|not valid UTF-8/);
  }
});

test('every line error in a file is reported together, in line order', () => {
  const m = errors({ '/work/a.ovpn': `${BASE}verbb 3\nport 70000\nproto udpp\nremote-cert-tls servr\n`, ...PKI });
  assert.deepEqual(m.map((x) => x.split(': ').slice(0, 2).join(': ')), [
    '/work/a.ovpn:7: verbb', '/work/a.ovpn:8: port', '/work/a.ovpn:9: proto', '/work/a.ovpn:10: remote-cert-tls',
  ]);
  assert.match(m[0] ?? '', /unknown directive \(did you mean "verb"\?\)/);
});

test('the reader tracks cd as state and never calls chdir', () => {
  const r = new ConfigReader(memFs({ '/x/y/f': '' }), '/x');
  r.add({ name: 'cd', args: ['y'], pos: { file: 'f', line: 1 }, from: 'file' });
  assert.equal(r.cwd, '/x/y');
  assert.deepEqual(r.entries[0]?.args, ['/x/y']);
});

test('limit: more than MAX_DIRECTIVES directives is one CONFIG_LIMIT error', () => {
  const m = errors({ '/work/a.ovpn': `${BASE}${'mute-replay-warnings\n'.repeat(MAX_DIRECTIVES)}`, ...PKI });
  assert.deepEqual(m, [`/work/a.ovpn:${MAX_DIRECTIVES + 1}: mute-replay-warnings: too many directives (at most ${MAX_DIRECTIVES})`]);
});

test('pure config modules never import node:fs or read the process state', () => {
  const dir = 'src/config';
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.ts') && x !== 'node-fs.ts')) {
    const src = readFileSync(`${dir}/${f}`, 'utf8');
    // node:net is imported only for the pure isIPv4/isIPv6 helpers.
    assert.ok(!/from '(node:)?(fs|child_process|dgram)'|process\.(cwd|chdir)\(|process\.env\b|Date\.now\(/.test(src), f);
  }
});

test('a file directive replaced later (ca ca.crt, then <ca>) is never opened: a warning at most, no error', () => {
  const text = 'client\ndev tun\nremote h\nca missing-ca.crt\ncert c.crt\nkey c.key\n<ca>\nAAA\n</ca>\n';
  const { options, warnings } = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': text, ...PKI }));
  assert.deepEqual(options.ca, { kind: 'inline', text: 'AAA\n', pos: { file: '/work/a.ovpn', line: 7 } });
  const w = warnings.find((x) => x.directive === 'ca');
  assert.deepEqual(w?.pos, { file: '/work/a.ovpn', line: 4 });
  assert.match(w?.message ?? '', /cannot read \/work\/missing-ca\.crt: no such file; not used: the inline <ca> block at line 7 replaces it/);
});

test('a missing file is still an error when nothing replaces it, also when a readable one came before', () => {
  const text = 'client\ndev tun\nremote h\nca ca.crt\ncert c.crt\nkey c.key\nca missing-ca.crt\n';
  assert.deepEqual(errors({ '/work/a.ovpn': text, ...PKI }), ['/work/a.ovpn:7: ca: cannot read /work/missing-ca.crt: no such file']);
});

test('setenv opt tolerates an unreadable file: a warning, not an error', () => {
  const text = 'client\ndev tun\nremote h\nca ca.crt\ncert c.crt\nkey c.key\nsetenv opt crl-verify missing.pem\n';
  const { warnings } = loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': text, ...PKI }));
  assert.ok(warnings.some((w) => w.pos.line === 7 && w.directive === 'crl-verify' && /no such file \(ignored: setenv opt\)/.test(w.message)), JSON.stringify(warnings));
});
