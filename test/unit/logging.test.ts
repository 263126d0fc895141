/**
 * The winston adapter: --verb filtering, --mute, JSON lines, the last-line redaction of
 * secret-looking fields, and that close() flushes everything before resolving.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createShellLogger, type LogSettings } from '../../src/log/winston-logger.ts';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

async function logLines(settings: Omit<LogSettings, 'stream'>, fn: (log: ReturnType<typeof createShellLogger>['logger']) => void): Promise<string[]> {
  const out = sink();
  const shell = createShellLogger({ ...settings, stream: out.stream });
  fn(shell.logger);
  await shell.close();
  return out.text().split('\n').filter((l) => l !== '');
}

test('--verb filters: errors always, info from 1, verb(n) from n', async () => {
  const lines = await logLines({ verb: 3, mute: 0, suppressTimestamps: true }, (log) => {
    log.error('E');
    log.info('I');
    log.verb(3, 'V3');
    log.verb(4, 'V4');
  });
  assert.deepEqual(lines, ['E', 'I', 'V3']);
  const quiet = await logLines({ verb: 0, mute: 0, suppressTimestamps: true }, (log) => {
    log.error('E');
    log.warn('W');
    log.info('I');
  });
  assert.deepEqual(quiet, ['E']);
});

test('timestamps look like OpenVPN\'s unless suppressed', async () => {
  const [line] = await logLines({ verb: 1, mute: 0 }, (log) => log.info('Initialization Sequence Completed'));
  assert.match(line ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d Initialization Sequence Completed$/);
});

test('--mute n: at most n identical lines in a row, then a count of the suppressed ones', async () => {
  const lines = await logLines({ verb: 3, mute: 2, suppressTimestamps: true }, (log) => {
    for (let i = 0; i < 5; i++) log.warn('replay');
    log.info('other');
  });
  assert.deepEqual(lines, ['replay', 'replay', '[3 similar message(s) suppressed]', 'other']);
});

test('JSON lines carry level, category and fields; secret-looking fields are redacted', async () => {
  const lines = await logLines({ verb: 4, mute: 0, json: true }, (log) => {
    log.scope('push').verb(4, 'pushed', { option: 'route', password: 'hunter2', authToken: 'tok', privateKey: 'k' });
  });
  assert.equal(lines.length, 1);
  const obj = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  assert.equal(obj['msg'], 'pushed');
  assert.equal(obj['category'], 'push');
  assert.equal(obj['level'], 4);
  assert.equal(obj['option'], 'route');
  assert.equal(obj['password'], '[redacted]');
  assert.equal(obj['authToken'], '[redacted]');
  assert.equal(obj['privateKey'], '[redacted]');
  assert.doesNotMatch(lines[0] ?? '', /hunter2|"tok"/);
});

test('close() resolves after the last line was written (the exit line is never lost)', async () => {
  const lines = await logLines({ verb: 1, mute: 0, suppressTimestamps: true }, (log) => {
    for (let i = 0; i < 200; i++) log.info(`line ${i}`);
    log.info('SIGTERM[hard,] received, process exiting');
  });
  assert.equal(lines.length, 201);
  assert.equal(lines.at(-1), 'SIGTERM[hard,] received, process exiting');
});

test('log FILE truncates and log-append FILE appends (the File transport, loaded on first use)', async () => {
  const { mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'ovts-log-'));
  try {
    const file = join(dir, 'client.log');
    writeFileSync(file, 'old line\n');
    const write = async (append: boolean, msg: string): Promise<void> => {
      const shell = createShellLogger({ verb: 3, mute: 0, suppressTimestamps: true, logFile: file, append });
      shell.logger.info(msg);
      await shell.close();
    };
    await write(false, 'first');
    assert.equal(readFileSync(file, 'utf8'), 'first\n');
    await write(true, 'second');
    assert.equal(readFileSync(file, 'utf8'), 'first\nsecond\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
