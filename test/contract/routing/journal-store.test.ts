/**
 * The file journal store trusts a journal only when nobody else could have written it: the
 * directory and the file belong to this process's user, are not group- or other-writable, and
 * the file is a regular file. Anything else is reported and left alone, never repaired.
 * Runs in a temp dir, as root like the whole contract tier (one case chowns a file).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NetJournal } from '../../../src/routing/apply.ts';
import { FileJournalStore, journalFileName } from '../../../src/routing/journal-store.ts';

const NETNS = 'net:[4026530123]';
const ENTRY = {
  done: { op: 'route-add', route: { family: 4, dst: '10.99.0.0', prefixLen: 16, dev: 'tun0' } },
  undo: { op: 'route-del', route: { family: 4, dst: '10.99.0.0', prefixLen: 16, dev: 'tun0' } },
} as const;

function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.equal(typeof r.pid, 'number');
  return r.pid!;
}

/** A journal left by a dead run in a fresh 0700 directory; `spoil` then changes something about it. */
function withLeftover(spoil: (dir: string, file: string) => void, check: (stale: ReturnType<FileJournalStore['stale']>, dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ovts-journal-'));
  try {
    new FileJournalStore(dir, NETNS, deadPid()).save(new NetJournal('tun0', [ENTRY as never]));
    spoil(dir, join(dir, journalFileName(NETNS, 'tun0')));
    check(new FileJournalStore(dir, NETNS, process.pid).stale(), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a journal of a dead run in a private directory is repaired', () => {
  withLeftover(() => {}, (s) => {
    assert.deepEqual(s.errors, []);
    assert.equal(s.journals.length, 1);
    assert.deepEqual(s.journals[0]?.journal.entries, [ENTRY]);
  });
});

test('a directory others (or the group) may write to is not trusted: nothing in it is repaired', () => {
  for (const mode of [0o777, 0o770]) {
    withLeftover((dir) => chmodSync(dir, mode), (s, dir) => {
      assert.deepEqual(s.journals, []);
      assert.equal(s.errors.length, 1);
      assert.match(s.errors[0] ?? '', new RegExp(`^${dir}: not trusted \\(writable by (others|its group) \\(mode ${mode.toString(8)}\\)\\)`));
    });
  }
});

test('a group-writable journal file, or a symlink in place of one, is not trusted', () => {
  withLeftover((_dir, file) => chmodSync(file, 0o620), (s) => {
    assert.deepEqual(s.journals, []);
    assert.match(s.errors.join('\n'), /not trusted \(writable by its group \(mode 620\)\): not repaired/);
  });
  withLeftover((dir, file) => {
    renameSync(file, join(dir, 'elsewhere'));
    symlinkSync(join(dir, 'elsewhere'), file);
  }, (s) => {
    assert.deepEqual(s.journals, []);
    assert.match(s.errors.join('\n'), /not trusted \(not a regular file but a symlink\)/);
  });
});

test('a journal file owned by another user is not trusted', () => {
  withLeftover((_dir, file) => chownSync(file, 65534, 65534), (s) => {
    assert.deepEqual(s.journals, []);
    assert.match(s.errors.join('\n'), /not trusted \(owned by uid 65534, not 0\)/);
  });
});
