import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigErrors } from '../../../src/base/errors.ts';
import { argvToEntries } from '../../../src/config/argv.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { BASE, PKI, memFs } from './memfs.ts';

test('each --x starts a directive; following words are its arguments', () => {
  const e = argvToEntries(['--remote', 'h', '443', 'tcp', '--nobind', '--verb', '5'], memFs({}));
  assert.deepEqual(e.map((x) => [x.name, x.args, x.pos.line, x.from]), [
    ['remote', ['h', '443', 'tcp'], 0, 'cmdline'],
    ['nobind', [], 4, 'cmdline'],
    ['verb', ['5'], 5, 'cmdline'],
  ]);
  assert.equal(e[0]?.pos.file, '<command line>');
});

test('--config is expanded in place and may repeat; later entries win', () => {
  const fs = memFs({ '/work/a.ovpn': `${BASE}verb 3\n`, '/work/b.conf': 'verb 6\n', ...PKI });
  assert.equal(loadConfig(['--verb', '9', '--config', 'a.ovpn'], fs).options.verb, 3);
  assert.equal(loadConfig(['--config', 'a.ovpn', '--verb', '9'], fs).options.verb, 9);
  const r = loadConfig(['--config', 'a.ovpn', '--config', 'b.conf'], fs);
  assert.equal(r.options.verb, 6);
  assert.deepEqual(r.entries.filter((x) => x.name === 'verb').map((x) => x.pos.file), ['/work/a.ovpn', '/work/b.conf']);
});

test('a single bare word is a config file (openvpn client.ovpn)', () => {
  const r = loadConfig(['a.ovpn'], memFs({ '/work/a.ovpn': BASE, ...PKI }));
  assert.equal(r.options.connections[0]?.remote, 'vpn.example.invalid');
});

test('a word without -- where an option is expected is an error; a flag given an argument too', () => {
  assert.throws(() => argvToEntries(['oops', '--verb', '3'], memFs({})), (e: unknown) => {
    assert.ok(e instanceof ConfigErrors);
    assert.equal(e.errors[0]?.message, '<command line>:0: "oops" is not an option (expected --name; arguments follow their option)');
    return true;
  });
  assert.throws(() => loadConfig(['--config', 'a.ovpn', '--nobind', 'oops'], memFs({ '/work/a.ovpn': BASE, ...PKI })), (e: unknown) => {
    assert.ok(e instanceof ConfigErrors);
    assert.equal(e.errors[0]?.message, '<command line>:2: nobind: takes no arguments, got 1');
    return true;
  });
});

test('cmdline-only directives are refused in files and vice versa', () => {
  try {
    loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': `${BASE}push-continuation 1\n`, ...PKI }));
    assert.fail('expected error');
  } catch (e) {
    assert.ok(e instanceof ConfigErrors);
    assert.equal(e.errors[0]?.message, '/work/a.ovpn:7: push-continuation: cannot be used in a config file (only in a pushed option)');
  }
});
