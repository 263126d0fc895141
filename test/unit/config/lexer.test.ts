import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenizeLine } from '../../../src/config/lexer.ts';

const pos = { file: 't.ovpn', line: 7 };
function tok(line: string): readonly string[] {
  const r = tokenizeLine(line, pos);
  if (!r.ok) throw new Error(`unexpected error: ${r.error.message}`);
  return r.tokens;
}
function err(line: string): string {
  const r = tokenizeLine(line, pos);
  assert.equal(r.ok, false, `expected an error for ${JSON.stringify(line)}`);
  return r.ok ? '' : r.error.message;
}

test('splits on spaces and tabs, ignores trailing spaces and CR', () => {
  assert.deepEqual(tok('remote  vpn.example.com\t1194 udp   \r'), ['remote', 'vpn.example.com', '1194', 'udp']);
  assert.deepEqual(tok('   '), []);
});

test('# and ; start a comment only at a token boundary', () => {
  assert.deepEqual(tok('# whole line'), []);
  assert.deepEqual(tok('  ; whole line'), []);
  assert.deepEqual(tok('verb 3 # trailing'), ['verb', '3']);
  assert.deepEqual(tok('verb 3 ;trailing'), ['verb', '3']);
  assert.deepEqual(tok('x a#b c;d'), ['x', 'a#b', 'c;d']);
});

test('double quotes keep spaces and allow \\" and \\\\ escapes', () => {
  assert.deepEqual(tok('ca "/etc/my vpn/ca.crt"'), ['ca', '/etc/my vpn/ca.crt']);
  assert.deepEqual(tok('x "a \\"b\\" c\\\\d"'), ['x', 'a "b" c\\d']);
  assert.deepEqual(tok('x ""'), ['x', '']);
  assert.deepEqual(tok('x "# not a comment"'), ['x', '# not a comment']);
});

test('a closing quote ends the token: "a"b is two tokens (OpenVPN quirk)', () => {
  assert.deepEqual(tok('x "a"b'), ['x', 'a', 'b']);
});

test('single quotes are literal: no escapes inside', () => {
  assert.deepEqual(tok("x 'C:\\dir\\f \"q\"'"), ['x', 'C:\\dir\\f "q"']);
});

test('backslash escapes space and backslash outside quotes', () => {
  assert.deepEqual(tok('ca my\\ vpn\\\\ca.crt'), ['ca', 'my vpn\\ca.crt']);
  assert.deepEqual(tok('x \\"quoted\\"'), ['x', '"quoted"']);
});

test('bad backslash escapes are errors with the position', () => {
  const m = err('ca C:\\dir\\ca.crt');
  assert.match(m, /^t\.ovpn:7: bad backslash escape '\\d'/);
  assert.match(err('x "a\\nb"'), /bad backslash escape '\\n'/);
});

test('unterminated quotes and a trailing backslash are errors', () => {
  assert.match(err('x "abc'), /no closing quotation \("\)/);
  assert.match(err("x 'abc"), /no closing single quotation/);
  assert.match(err('x abc\\'), /line ends with a backslash/);
});

test('limits: 256-character parameters and 16 tokens', () => {
  assert.equal(tok(`x ${'a'.repeat(256)}`)[1]?.length, 256);
  assert.match(err(`x ${'a'.repeat(257)}`), /parameter is too long/);
  assert.equal(tok(`x${' a'.repeat(15)}`).length, 16);
  assert.match(err(`x${' a'.repeat(16)}`), /too many parameters/);
});

test('UTF-8 text passes through unchanged', () => {
  assert.deepEqual(tok('setenv NAME "Zürich ☃"'), ['setenv', 'NAME', 'Zürich ☃']);
});
