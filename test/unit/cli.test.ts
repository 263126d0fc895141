/**
 * The command line as a user meets it: `ovpn-ts` run as a process. Every bad config of the
 * corpus is rejected with exit code 3, `FILE:LINE: directive: …` on stderr and never a stack
 * trace; --help, --version and usage errors behave as documented in docs/cli.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo.ts';

const ROOT = repoRoot();
const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const BAD = join(ROOT, 'test', 'fixtures', 'configs', 'bad');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: ROOT, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const STACK_LINE = /^\s+at .+\(.*:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;

test('every bad config: exit 3, FILE:LINE: directive: message, no stack trace', async () => {
  const files = readdirSync(BAD).filter((f) => f.endsWith('.ovpn')).sort();
  assert.ok(files.length >= 30, `at least 30 bad configs (have ${files.length})`);
  const results = await Promise.all(files.map(async (f) => ({ f, r: await run(['--check', '--config', join('test/fixtures/configs/bad', f)]) })));
  for (const { f, r } of results) {
    assert.equal(r.code, 3, `${f}: exit code (stderr: ${r.stderr})`);
    assert.doesNotMatch(r.stderr, STACK_LINE, `${f}: no stack trace`);
    // `# expect: LINE: DIRECTIVE: text` (`-` when the line has no directive: a lexer error)
    const expect = /^# expect: (\d+): ([^:]+): (.*)$/m.exec(readFileSync(join(BAD, f), 'latin1'));
    if (expect !== null) {
      const [, line, directive, text] = expect;
      const prefix = directive === '-' ? `${line}: ` : `${line}: ${directive}: `;
      assert.ok(
        r.stderr.split('\n').some((l) => l.includes(`.ovpn:${prefix}`) && l.includes((text ?? '').trim())),
        `${f}: expected a line "FILE:${prefix}${text ?? ''}" in\n${r.stderr}`,
      );
    } else {
      assert.match(r.stderr, /^[^:\n]+:\d+: /m, `${f}: a FILE:LINE: error`);
    }
    assert.match(r.stderr, /configuration errors?$/m);
  }
});

test('a 2 MB file of random bytes is refused as a config error, not a crash', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { randomBytes } = await import('node:crypto');
  const dir = mkdtempSync(join(tmpdir(), 'ovts-cli-'));
  const file = join(dir, 'random.ovpn');
  writeFileSync(file, randomBytes(2 * 1024 * 1024));
  const r = await run(['--check', '--config', file]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /random\.ovpn:\d+: /);
  assert.doesNotMatch(r.stderr, STACK_LINE);
});

test('no configuration at all is a usage error (exit 2)', async () => {
  const r = await run([]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /no configuration given/);
});

test('--help lists directives by topic; --version names Node, OpenSSL and ciphers', async () => {
  const help = await run(['--help']);
  assert.equal(help.code, 0);
  for (const group of ['Connection:', 'TLS:', 'Data channel:', 'Routing:']) assert.ok(help.stdout.includes(group), `help has ${group}`);
  assert.match(help.stdout, /--remote\b/);
  assert.match(help.stdout, /--check\b/);
  const version = await run(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, new RegExp(`Node ${process.versions.node.replace(/\./g, '\\.')}`));
  assert.match(version.stdout, /OpenSSL \d/);
  assert.match(version.stdout, /AES-256-GCM/);
});

test('--check on a good config prints the plan, marks pushed parts, redacts keys', async () => {
  const r = await run(['--check', '--config', 'test/fixtures/configs/good/pivpn-tls-crypt.ovpn']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Effective configuration/);
  assert.match(r.stdout, /\[push\]/);
  assert.match(r.stdout, /tls-crypt \[redacted\]/);
  assert.doesNotMatch(r.stdout, /BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY/);
  assert.doesNotMatch(r.stdout, /OpenVPN Static key/);
});

test('command-line order: a later option wins over the config file', async () => {
  const r = await run(['--config', 'test/fixtures/configs/good/pivpn-tls-crypt.ovpn', '--verb', '7', '--check']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\s+verb 7$/m);
  const r2 = await run(['--verb', '7', '--config', 'test/fixtures/configs/good/pivpn-tls-crypt.ovpn', '--check']);
  assert.doesNotMatch(r2.stdout, /^\s+verb 7$/m, 'the file read after --verb 7 sets its own verb');
});

test('--check shows the HTTP proxy and its options without the password; an auth method ovpn-ts lacks is refused when connecting', async () => {
  const config = 'test/fixtures/configs/good/http-proxy-basic-auth.ovpn';
  const check = await run(['--check', '--config', config, '--sndbuf', '524288', '--mark', '7']);
  assert.equal(check.code, 0, check.stderr);
  assert.doesNotMatch(check.stderr, /http-proxy: warning/);
  assert.match(check.stdout, /http-proxy 198\.18\.120\.1 3128 \S*creds\.txt basic/);
  assert.match(check.stdout, /http-proxy-option VERSION 1\.1/);
  assert.match(check.stdout, /http-proxy-option CUSTOM-HEADER X-Forwarded-Proto https/);
  assert.match(check.stdout, /sndbuf 524288/);
  assert.match(check.stdout, /mark 7/);
  const password = readFileSync('test/fixtures/pki/creds.txt', 'utf8').split('\n')[1] ?? '';
  assert.ok(password.length > 0 && !check.stdout.includes(password), 'the proxy password is not shown');
  const connect = await run(['--config', config, '--dev', 'null', '--http-proxy', '198.18.120.1', '3128', 'test/fixtures/pki/creds.txt', 'ntlm2']);
  assert.equal(connect.code, 3, connect.stderr + connect.stdout);
  assert.match(connect.stderr, /http-proxy auth method ntlm2 is not implemented/);
  assert.doesNotMatch(connect.stdout, /link remote/, 'nothing was sent');
});
