/**
 * The bad corpus (test/fixtures/configs/bad/*.ovpn): each file has ONE realistic mistake and says
 * on its first line what loadConfig must report: `# expect: LINE: DIRECTIVE: substring` (DIRECTIVE
 * `-` = none, LINE 0 = the config as a whole) or `# expect-code: CONFIG_…`. The good corpus must
 * load with zero errors. Both run from the repository root, as the corpora's READMEs require.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigErrors } from '../../../src/base/errors.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { nodeConfigFs } from '../../../src/config/node-fs.ts';

const BAD = 'test/fixtures/configs/bad';
const GOOD = 'test/fixtures/configs/good';

function list(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.ovpn') || f.endsWith('.conf')).sort();
}

function loadErrors(rel: string): ConfigErrors {
  try {
    loadConfig(['--config', rel], nodeConfigFs);
  } catch (e) {
    if (e instanceof ConfigErrors) return e;
    throw e;
  }
  assert.fail(`${rel}: loaded without errors`);
}

test('the bad corpus has at least 30 configs, each with an expectation', () => {
  const files = list(BAD);
  assert.ok(files.length >= 30, `${files.length} files`);
  for (const f of files) {
    const first = readFileSync(`${BAD}/${f}`, 'latin1').split('\n')[0] ?? '';
    assert.match(first, /^# expect(-code)?: /, f);
  }
});

for (const f of list(BAD)) {
  test(`bad/${f}`, () => {
    const rel = `${BAD}/${f}`;
    const first = readFileSync(rel, 'latin1').split('\n')[0] ?? '';
    const errs = loadErrors(rel);
    const code = /^# expect-code: (CONFIG_[A-Z]+)/.exec(first);
    if (code) {
      assert.equal(errs.code, code[1]);
      return;
    }
    const m = /^# expect: (\d+): (\S+): (.+)$/.exec(first.trimEnd());
    assert.ok(m, `${f}: malformed expect line`);
    assert.equal(errs.errors.length, 1, `${f}: expected exactly one error, got:\n${errs.message}`);
    const e = errs.errors[0];
    assert.ok(e);
    assert.equal(e.file, resolve(rel), errs.message);
    assert.equal(e.line, Number(m[1]), errs.message);
    assert.equal(e.directive ?? '-', m[2], errs.message);
    assert.ok(e.detail.includes(m[3] ?? ''), `${f}: "${e.detail}" does not contain "${m[3] ?? ''}"`);
    assert.ok(!/\n\s+at /.test(e.message), 'no stack trace in the message');
  });
}

test('every good config loads with zero errors', () => {
  const files = list(GOOD);
  assert.ok(files.length >= 30, `${files.length} good configs`);
  const failures: string[] = [];
  for (const f of files) {
    try {
      loadConfig(['--config', `${GOOD}/${f}`], nodeConfigFs);
    } catch (e) {
      failures.push(`${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  assert.deepEqual(failures, []);
});
