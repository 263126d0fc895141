/**
 * Tier 4 (root): the GOOD config corpus (test/fixtures/configs/good) against the real OpenVPN 2.6
 * client and against `ovpn-ts --check`.
 *
 * Done-criterion being checked: "ovpn-ts --check --config X accepts every realistic config that
 * the stock OpenVPN 2.6 client accepts". So every corpus file must be accepted by the stock client
 * (a file it rejects is a bug in the corpus) AND by `node dist/src/cli/main.js --check --config X`
 * (exit 0). The stock client runs in throwaway namespaces with only loopback (helpers/stock-check.ts).
 *
 * Run with cwd = repository root, as root. Never: touch the host network, leave an openvpn process
 * or an ovts-corpus-* namespace behind (checked by the last test; after() is the backstop).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  cleanupAll,
  listNamespaces,
  liveProcessCount,
  strayProcesses,
  runCliCheck,
  runStockClient,
} from './helpers/stock-check.ts';

const ROOT = process.cwd();
const GOOD_REL = 'test/fixtures/configs/good';
const GOOD_DIR = join(ROOT, GOOD_REL);
const PKI_REL = 'test/fixtures/pki';
/** Brief: at least 32 realistic configs. */
const MIN_CORPUS = 32;
/** Stock runs in parallel; each is short (well under 1 s when accepted). */
const STOCK_CONCURRENCY = 4;
const CLI_CONCURRENCY = 2;

function corpus(): string[] {
  return readdirSync(GOOD_DIR).filter((n) => /\.(ovpn|conf)$/.test(n)).sort();
}

function lines(name: string): string[] {
  return readFileSync(join(GOOD_DIR, name), 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/);
}

/** Hosts a corpus file may name: reserved .invalid names, 198.18.0.0/15, 2001:db8::/32, loopback. */
function isHarmlessHost(host: string): boolean {
  if (host.endsWith('.invalid')) return true;
  if (isIP(host) === 4) return /^198\.1[89]\./.test(host) || host.startsWith('127.');
  if (isIP(host) === 6) return /^2001:db8:/i.test(host) || host === '::1';
  return false;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  const worker = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, worker));
}

after(cleanupAll);

test('runs as root with cwd = repository root', () => {
  assert.equal(process.getuid?.(), 0, 'tier-4 netns tests need root');
  assert.ok(existsSync(GOOD_DIR), `cwd must be the repository root (no ${GOOD_REL} under ${ROOT})`);
});

test(`the corpus has at least ${MIN_CORPUS} configs, each opening with a comment naming what it imitates`, () => {
  const names = corpus();
  assert.ok(names.length >= MIN_CORPUS, `only ${names.length} configs`);
  for (const name of names) {
    assert.match(lines(name)[0] ?? '', /^#.*Imitates /, `${name}: first line must say what it imitates`);
  }
});

test('corpus remotes and proxies only name hosts that cannot leave the machine', () => {
  for (const name of corpus()) {
    for (const line of lines(name)) {
      const m = /^\s*(remote|http-proxy|socks-proxy)\s+(\S+)/.exec(line);
      if (m?.[2]) assert.ok(isHarmlessHost(m[2]), `${name}: ${m[1]} ${m[2]} is not a reserved host`);
    }
  }
});

test('the stock check rejects broken configs (negative control)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovts-corpus-neg-'));
  const base = ['client', 'dev tun', 'remote 198.18.0.1 1194', 'nobind', `ca ${PKI_REL}/ca.crt`];
  // label -> [config body, the stock client's stated reason]
  const cases: Record<string, [string[], RegExp]> = {
    'removed-option': [[...base, `cert ${PKI_REL}/client.crt`, `key ${PKI_REL}/client.key`, 'keysize 256'],
      /Options error: Unrecognized option .*keysize/],
    'missing-file': [[...base, `cert ${PKI_REL}/no-such.crt`, `key ${PKI_REL}/client.key`],
      /Options error: --cert fails/],
    'key-mismatch': [[...base, `cert ${PKI_REL}/client.crt`, `key ${PKI_REL}/revoked.key`],
      /Cannot load private key/],
    'wrong-key-password': [[...base, `cert ${PKI_REL}/client-enc.crt`, `key ${PKI_REL}/client-enc.key`,
      `askpass ${PKI_REL}/creds.txt`], /Cannot load private key/],
  };
  try {
    await pool(Object.entries(cases), STOCK_CONCURRENCY, async ([label, [body, why]]) => {
      const file = join(dir, `${label}.ovpn`);
      writeFileSync(file, `${body.join('\n')}\n`);
      const verdict = await runStockClient(file, { cwd: ROOT });
      assert.equal(verdict.accepted, false, `${label} was accepted: ${verdict.reason}`);
      assert.match(verdict.reason, why, `${label}: unexpected reason`);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stock openvpn 2.6 accepts every good config', { concurrency: STOCK_CONCURRENCY }, async (t) => {
  await Promise.all(corpus().map((name) => t.test(name, async () => {
    const verdict = await runStockClient(`${GOOD_REL}/${name}`, { cwd: ROOT });
    assert.ok(verdict.accepted, `stock openvpn rejected ${name}: ${verdict.reason}\n${verdict.log.join('\n')}`);
  })));
});

test('ovpn-ts --check accepts every good config', { concurrency: CLI_CONCURRENCY }, async (t) => {
  const cli = join(ROOT, 'dist', 'src', 'cli', 'main.js');
  await Promise.all(corpus().map((name) => t.test(name, async () => {
    assert.ok(existsSync(cli), `${cli} does not exist (build the project first)`);
    const res = await runCliCheck(`${GOOD_REL}/${name}`, ROOT);
    assert.equal(res.code, 0, `ovpn-ts --check rejected ${name}:\n${res.stderr}${res.stdout}`);
    assert.notEqual(res.stdout.trim(), '', `ovpn-ts --check printed no effective config for ${name}`);
  })));
});

test('leaves no openvpn process or ovts-corpus namespace behind', async () => {
  assert.equal(liveProcessCount(), 0, 'a stock openvpn process is still running');
  assert.deepEqual(strayProcesses(), [], 'processes started by this test (found by their temp dir in /proc) are still alive');
  assert.deepEqual(await listNamespaces(), [], 'namespaces left behind');
});
