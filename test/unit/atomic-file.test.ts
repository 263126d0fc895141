/**
 * Files written as root (status, pid, route journal) are replaced atomically and never written
 * through a symlink: the status file was once seen empty by a reader (truncate-then-write).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/platform/atomic-file.ts';
import { startStatusFile } from '../../src/shell/status-file.ts';
import { TrafficStats } from '../../src/shell/status.ts';
import { MemoryLogger } from '../../src/log/logger.ts';

test('a symlink planted at the target is replaced, never followed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovts-atomic-'));
  try {
    const victim = join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    const target = join(dir, 'status.log');
    symlinkSync(victim, target);
    writeFileAtomic(target, 'new content\n');
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.ok(lstatSync(target).isFile());
    assert.equal(readFileSync(target, 'utf8'), 'new content\n');
    assert.deepEqual(readdirSync(dir).sort(), ['status.log', 'victim'], 'no temporary file left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the status file is whole at every rewrite: each replacement is a new inode, never a truncated one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovts-status-'));
  try {
    const path = join(dir, 'status.log');
    const stats = new TrafficStats();
    const s = startStatusFile(path, 3600, stats, new MemoryLogger());
    const first = lstatSync(path).ino;
    stats.tunReadBytes += 1234;
    s.stop();
    const text = readFileSync(path, 'utf8');
    assert.match(text, /TUN\/TAP read bytes,1234/);
    assert.match(text, /^END$/m);
    assert.notEqual(lstatSync(path).ino, first, 'replaced by rename, not rewritten in place');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
