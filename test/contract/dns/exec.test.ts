/**
 * runTool, the way the DNS backends run resolvectl / resolvconf: bounded, no shell, stdin always
 * closed. A tool that exits before reading its input must not crash the process (EPIPE on the
 * pipe is not an error of ours): its exit status is the answer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OsError } from '../../../src/base/errors.ts';
import { runTool } from '../../../src/dns/exec.ts';

const BIG = 'nameserver 10.8.0.1\n'.repeat(50_000); // ~1 MB: more than a pipe holds

test('a tool that exits without reading a large stdin: its status decides, no EPIPE escapes', async () => {
  for (let i = 0; i < 5; i++) {
    assert.equal(await runTool('/bin/true', [], BIG), '');
    await assert.rejects(runTool('/bin/false', [], BIG), (e: unknown) => e instanceof OsError && e.code === 'DNS_APPLY' && /\/bin\/false failed/.test(e.message));
  }
});

test('a tool that reads its stdin gets all of it', async () => {
  assert.equal(await runTool('/usr/bin/wc', ['-c'], BIG), `${Buffer.byteLength(BIG)}\n`);
});
