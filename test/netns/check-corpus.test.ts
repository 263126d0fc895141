/**
 * Tier 4 (root): the --check corpus (test/fixtures/configs/check) against the stock OpenVPN 2.6
 * client. `--check` must agree with a real start: every file it refuses (`# check: exit 3`) the
 * stock client refuses too, and every file it accepts (exit 0, warnings allowed) the stock
 * client starts with. test/unit/check/corpus.test.ts checks ovpn-ts's side of each file.
 *
 * The stock client runs in throwaway namespaces with only loopback (helpers/stock-check.ts), with
 * cwd = repository root. Never: touch the host network, leave an openvpn process or an
 * ovts-corpus-* namespace behind (checked by the last test; after() is the backstop).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cleanupAll, listNamespaces, liveProcessCount, runStockClient, strayProcesses } from './helpers/stock-check.ts';

const ROOT = process.cwd();
const CHECK_REL = 'test/fixtures/configs/check';
const STOCK_CONCURRENCY = 4;

after(cleanupAll);

function corpus(): string[] {
  return readdirSync(join(ROOT, CHECK_REL)).filter((n) => /\.(ovpn|conf)$/.test(n)).sort();
}

/** What a file's `# check:` lines say: the exit code of `ovpn-ts --check`, and the stock client's reason to refuse. */
function expected(name: string): { exit: number; stockReason: string | undefined } {
  const text = readFileSync(join(ROOT, CHECK_REL, name), 'utf8');
  const m = /^# check: exit (\d+)$/m.exec(text);
  assert.ok(m, `${name}: no "# check: exit N" line`);
  return { exit: Number(m[1]), stockReason: /^# check: stock (.+)$/m.exec(text)?.[1] };
}

test('runs as root with cwd = repository root', () => {
  assert.equal(process.getuid?.(), 0, 'tier-4 netns tests need root');
  assert.ok(corpus().length > 0, `no configs under ${CHECK_REL} (cwd must be the repository root)`);
});

test('the stock client refuses what --check refuses (for the same reason) and starts with what it accepts', { concurrency: STOCK_CONCURRENCY }, async (t) => {
  await Promise.all(corpus().map((name) => t.test(name, async () => {
    const want = expected(name);
    const refused = want.exit === 3;
    const verdict = await runStockClient(`${CHECK_REL}/${name}`, { cwd: ROOT });
    const log = verdict.log.join('\n');
    assert.equal(verdict.accepted, !refused, `stock openvpn ${verdict.accepted ? 'accepted' : 'refused'} ${name} (${verdict.reason}), --check ${refused ? 'refuses' : 'accepts'} it\n${log}`);
    if (want.stockReason !== undefined) assert.ok(log.includes(want.stockReason), `${name}: the stock client refused it for another reason than "${want.stockReason}":\n${log}`);
  })));
});

test('the stock client refuses an empty config file too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovts-check-empty-'));
  try {
    const file = join(dir, 'empty.ovpn');
    writeFileSync(file, '');
    const verdict = await runStockClient(file, { cwd: ROOT });
    assert.equal(verdict.accepted, false, verdict.reason);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('leaves no openvpn process or ovts-corpus namespace behind', async () => {
  assert.equal(liveProcessCount(), 0, 'a stock openvpn process is still running');
  assert.deepEqual(strayProcesses(), [], 'processes started by this test are still alive');
  assert.deepEqual(await listNamespaces(), [], 'namespaces left behind');
});
