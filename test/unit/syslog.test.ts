/**
 * `syslog [name]`: log lines reach the system logger as glibc's syslog() writes them to
 * /dev/log (RFC 3164, facility daemon, severity by kind), here a test socket in a temp dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createShellLogger, syslogLine } from '../../src/log/winston-logger.ts';
import { listenUnixDatagrams } from '../helpers/unix-dgram-listener.ts';

test('syslogLine: <PRI>Mmm dd hh:mm:ss TAG[PID]: text, daemon facility', () => {
  const d = new Date(2026, 11, 5, 9, 4, 3);
  assert.equal(syslogLine('error', 'openvpn', 'boom', d, 42), '<27>Dec  5 09:04:03 openvpn[42]: boom');
  assert.equal(syslogLine('warn', 'openvpn', 'hm', d, 42), '<28>Dec  5 09:04:03 openvpn[42]: hm');
  assert.equal(syslogLine('info', 'openvpn', 'ok', d, 42), '<29>Dec  5 09:04:03 openvpn[42]: ok');
});

test('syslog: every line that passes --verb is one datagram to the syslog socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovts-syslog-'));
  const path = join(dir, 'log');
  const l = listenUnixDatagrams(path);
  try {
    const shell = createShellLogger({ verb: 3, mute: 0, syslog: 'vpn-work', syslogSocket: path });
    shell.logger.error('cannot resolve');
    shell.logger.info('Initialization Sequence Completed');
    shell.logger.verb(4, 'not at verb 3');
    await shell.close();
    l.drain();
    assert.equal(l.messages.length, 2, l.messages.join('\n'));
    assert.match(l.messages[0] ?? '', new RegExp(`^<27>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d vpn-work\\[${process.pid}\\]: cannot resolve$`));
    assert.match(l.messages[1] ?? '', /^<29>.* vpn-work\[\d+\]: Initialization Sequence Completed$/);
  } finally {
    l.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('syslog: an unreachable system logger falls back to stdout with a warning', async () => {
  const lines: string[] = [];
  const { Writable } = await import('node:stream');
  const stream = new Writable({ write: (c: Buffer, _e, done) => { lines.push(String(c)); done(); } });
  const shell = createShellLogger({ verb: 3, mute: 0, syslog: 'x', syslogSocket: '/nonexistent/dev-log', stream, suppressTimestamps: true });
  shell.logger.info('still here');
  await shell.close();
  assert.match(lines.join(''), /syslog: cannot reach the system logger .*; logging to stdout\n/);
  assert.match(lines.join(''), /still here/);
});
