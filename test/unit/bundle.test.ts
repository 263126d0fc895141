/**
 * The shipped CLI is the bundle `npm run build` makes (scripts/bundle.ts): bin/ovpn-ts runs
 * dist/bin/ovpn-ts.js. Each lazily loaded part must still load from the bundle's chunks (--help
 * with yargs, --version, --check), errors still exit with their codes, and the packages that
 * must stay outside (native code, node-forge) are not inlined.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo.ts';

const ROOT = repoRoot();
const BIN = join(ROOT, 'bin', 'ovpn-ts');
const BUNDLE_DIR = join(ROOT, 'dist', 'bin');

function run(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

test('bin/ovpn-ts runs the bundle: --version, --help (yargs chunk), --check', async () => {
  const version = await run(['--version']);
  assert.equal(version.code, 0, version.stderr);
  assert.match(version.stdout, /^ovpn-ts \d+\.\d+\.\d+ /);
  assert.match(version.stdout, /AES-256-GCM/);
  const help = await run(['--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /--remote\b/);
  const check = await run(['--check', '--config', 'test/fixtures/configs/good/pivpn-tls-crypt.ovpn']);
  assert.equal(check.code, 0, check.stderr);
  assert.match(check.stdout, /remote/);
});

test('the bundle reports a configuration error with its exit code and FILE:LINE', async () => {
  const bad = readdirSync(join(ROOT, 'test', 'fixtures', 'configs', 'bad')).filter((f) => f.endsWith('.ovpn')).sort()[0];
  assert.ok(bad !== undefined);
  const r = await run(['--check', '--config', join('test/fixtures/configs/bad', bad)]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stderr, /\.ovpn:\d+: /);
});

test('koffi, netlink and node-forge stay outside the bundle', () => {
  const code = readdirSync(BUNDLE_DIR)
    .filter((f) => f.endsWith('.js'))
    .map((f) => readFileSync(join(BUNDLE_DIR, f), 'utf8'))
    .join('\n');
  assert.match(code, /from "koffi"/);
  assert.doesNotMatch(code, /\/\/ node_modules\/(koffi|netlink|node-forge)\//);
});

test('every file the bundle loads by path (new URL("./x.js", import.meta.url)) is in dist/bin', () => {
  const files = new Set(readdirSync(BUNDLE_DIR));
  const wanted = new Set<string>();
  for (const f of files) {
    if (!f.endsWith('.js')) continue;
    for (const m of readFileSync(join(BUNDLE_DIR, f), 'utf8').matchAll(/new URL\("\.\/([^"]+)", import\.meta\.url\)/g)) wanted.add(m[1] ?? '');
  }
  assert.ok(wanted.has('worker-entry.js'), 'the data-plane worker is started by path');
  for (const w of wanted) assert.ok(files.has(w), `dist/bin/${w} (add its source to ENTRIES in scripts/bundle.ts)`);
});
