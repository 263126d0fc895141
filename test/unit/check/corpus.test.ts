/**
 * The --check corpus (test/fixtures/configs/check, see its README): every file is run through
 * `ovpn-ts --check --config FILE` as a user runs it, and must give the exit code, the
 * `FILE:LINE: directive: …` errors and warnings its `# check:` lines name, and never a stack
 * trace or a secret. Also: an empty file names itself, not "<command line>".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from '../../helpers/repo.ts';

const ROOT = repoRoot();
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const DIR_REL = 'test/fixtures/configs/check';
const STACK_LINE = /^\s+at .+\(.*:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;
/** Strings that must never reach the output: key material and the throwaway password. */
const SECRETS = [/PRIVATE KEY-----\n[A-Za-z0-9+/]/, /OpenVPN Static key V1-----\n[0-9a-f]/, /testpass/];

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function runCheck(config: string): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, '--check', '--config', config], { cwd: ROOT, timeout: 20_000 }, (err, stdout, stderr) => {
      done({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

type Expect =
  | { kind: 'exit'; code: number }
  | { kind: 'error' | 'warning'; line: number; directive: string; text: string }
  | { kind: 'no-error'; directive: string }
  | { kind: 'stdout'; text: string }
  | { kind: 'stock'; text: string };

export function expectations(text: string): Expect[] {
  const out: Expect[] = [];
  for (const m of text.matchAll(/^# check: (\S+) ?(.*)$/gm)) {
    const [, kind = '', rest = ''] = m;
    if (kind === 'exit') out.push({ kind, code: Number(rest) });
    else if (kind === 'stdout' || kind === 'stock') out.push({ kind, text: rest });
    else if (kind === 'no-error') out.push({ kind, directive: rest });
    else {
      const e = /^(\d+) (\S+): (.+)$/.exec(rest);
      assert.ok(e !== null && (kind === 'error' || kind === 'warning'), `malformed "# check: ${kind} ${rest}"`);
      out.push({ kind, line: Number(e[1]), directive: e[2] ?? '', text: e[3] ?? '' });
    }
  }
  return out;
}

const files = readdirSync(join(ROOT, DIR_REL)).filter((f) => /\.(ovpn|conf)$/.test(f)).sort();

test('the check corpus has a case for each class of the issue, each with an exit code', () => {
  assert.ok(files.length >= 18, `${files.length} files`);
  for (const f of files) {
    const text = readFileSync(join(ROOT, DIR_REL, f), 'utf8');
    assert.match(text.split('\n')[0] ?? '', /^# Imitates /, `${f}: first line says what it imitates`);
    const exp = expectations(text);
    assert.equal(exp.filter((e) => e.kind === 'exit').length, 1, `${f}: one "# check: exit N"`);
    const refused = exp.some((e) => e.kind === 'exit' && e.code === 3);
    assert.equal(exp.some((e) => e.kind === 'stock'), refused, `${f}: a refused file names the stock client's reason ("# check: stock …"), an accepted one does not`);
  }
});

for (const f of files) {
  test(`check/${f}`, async () => {
    const rel = `${DIR_REL}/${f}`;
    const abs = resolve(ROOT, rel);
    const r = await runCheck(rel);
    const all = `${r.stderr}\n${r.stdout}`;
    assert.doesNotMatch(all, STACK_LINE, 'no stack trace');
    for (const secret of SECRETS) assert.doesNotMatch(all, secret, 'no secret in the output');
    for (const e of expectations(readFileSync(abs, 'utf8'))) {
      if (e.kind === 'exit') assert.equal(r.code, e.code, `exit code\n${all}`);
      else if (e.kind === 'stock') continue; // the stock client's side: test/netns/check-corpus.test.ts
      else if (e.kind === 'stdout') assert.ok(r.stdout.includes(e.text), `stdout has "${e.text}"\n${r.stdout}`);
      else if (e.kind === 'no-error') assert.ok(!all.split('\n').some((l) => l.startsWith(`${abs}:`) && l.includes(` ${e.directive}`) && !l.includes(': warning: ')), `no error names ${e.directive}\n${all}`);
      else {
        const prefix = `${abs}:${e.line}: ${e.directive === '-' ? '' : `${e.directive}: `}${e.kind === 'warning' ? 'warning: ' : ''}`;
        // Errors are on stderr; a warning is on stderr, or in the report's Warnings section.
        const lines = (e.kind === 'error' ? r.stderr : all).split('\n').map((l) => l.trim());
        assert.ok(lines.some((l) => l.startsWith(prefix) && l.includes(e.text)), `expected a line "${prefix}…${e.text}…" in\n${all}`);
      }
    }
    if (r.code === 3) assert.match(r.stderr, /^ovpn-ts: \d+ configuration errors?$/m);
    else assert.match(r.stdout, /^Configuration OK/m);
  });
}

test('an empty file: one error naming the file and what is missing, never "<command line>"', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovts-check-'));
  try {
    const file = join(dir, 'empty.ovpn');
    writeFileSync(file, '');
    const r = await runCheck(file);
    assert.equal(r.code, 3);
    assert.equal(r.stderr.split('\n')[0], `${file}:0: the file holds no directives (it is empty or only comments): a client config needs at least "client", "dev tun", "remote HOST PORT", "ca", and "cert" + "key" (or "auth-user-pass")`);
    assert.doesNotMatch(r.stderr, /<command line>/);
    assert.match(r.stderr, /^ovpn-ts: 1 configuration error$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
