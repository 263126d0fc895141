/**
 * The layering, enforced: a pure module (everything in src/ that is not on the adapter list
 * below) may not import an I/O module nor read the clock, set timers or draw randomness.
 * src/tls and src/dataplane never import each other at runtime (`import type` is fine).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from '../helpers/repo.ts';

const ROOT = repoRoot();

/** Adapters and the shell: the only files allowed to do I/O, each with the reason. */
const ADAPTERS: Readonly<Record<string, string>> = {
  'src/cli.ts': 'composition root: process, stdout',
  'src/client.ts': 'the shell: signals, timers, DNS resolution',
  'src/connection.ts': 'the shell of one attempt: timers, sockets, TLS engines',
  'src/logging.ts': 'winston adapter',
  'src/clock.ts': 'real clock and randomness behind the Clock/Random ports',
  'src/material.ts': 'reads key and certificate files; node-forge for legacy PKCS#12',
  'src/prompt.ts': 'terminal prompts',
  'src/config/node-fs.ts': 'the ConfigFs adapter',
  'src/link/udp-link.ts': 'node:dgram adapter',
  'src/link/tcp-link.ts': 'node:net adapter',
  'src/tls/tls-engine.ts': 'node:tls over an in-memory Duplex',
  'src/dataplane/evp.ts': 'OpenSSL EVP through koffi',
  'src/tun/linux-tun.ts': '/dev/net/tun through koffi ioctls',
  'src/routing/netlink-backend.ts': 'rtnetlink through the netlink package',
  'src/scripts/run.ts': 'child_process.spawn of the user scripts, with a timeout',
  'src/scripts/hooks.ts': 'process facts for the scripts (pid, start time, argv)',
};

const OPTIONAL_ADAPTERS = new Set(['src/tun-tunnel.ts', 'src/routing/journal-store.ts']);

const FORBIDDEN_IMPORT = /from\s+'(node:(?:dgram|net|fs|fs\/promises|child_process|tls|dns|dns\/promises|readline|http|https)|koffi|netlink|winston|node-forge)'/;
/** Pure helpers that happen to live in an I/O module. */
const ALLOWED_IMPORT = /import\s+\{\s*(?:isIP|isIPv4|isIPv6)(?:\s*,\s*(?:isIP|isIPv4|isIPv6))*\s*\}\s+from\s+'node:net'/;
const FORBIDDEN_CALL = /\b(?:setTimeout|setInterval|setImmediate|Date\.now|performance\.now|Math\.random|process\.hrtime)\s*\(/;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts')) out.push(relative(ROOT, p));
  }
  return out.sort();
}

/** Source text without comments (line and block) so prose may mention what code may not do. */
function code(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

test('every adapter on the list exists (the list does not rot)', () => {
  for (const path of Object.keys(ADAPTERS)) assert.ok(existsSync(join(ROOT, path)), `${path} is listed as an adapter but does not exist`);
});

test('pure modules import no I/O module and never read the clock', () => {
  const offenders: string[] = [];
  for (const path of sourceFiles(join(ROOT, 'src'))) {
    if (path in ADAPTERS || OPTIONAL_ADAPTERS.has(path)) continue;
    for (const line of code(path).split('\n')) {
      if (FORBIDDEN_IMPORT.test(line) && !ALLOWED_IMPORT.test(line) && !/^\s*import\s+type\b/.test(line)) offenders.push(`${path}: ${line.trim()}`);
      if (FORBIDDEN_CALL.test(line)) offenders.push(`${path}: ${line.trim()}`);
    }
  }
  assert.deepEqual(offenders, []);
});

test('src/tls and src/dataplane do not import each other at runtime', () => {
  const offenders: string[] = [];
  for (const [from, other] of [['src/tls', 'dataplane'], ['src/dataplane', 'tls']] as const) {
    for (const path of sourceFiles(join(ROOT, from))) {
      for (const line of code(path).split('\n')) {
        if (new RegExp(`^\\s*import\\s+(?!type\\b).*from\\s+'\\.\\./${other}/`).test(line)) offenders.push(`${path}: ${line.trim()}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});

test('the checker itself catches a forbidden import and a clock read', () => {
  assert.ok(FORBIDDEN_IMPORT.test("import dgram from 'node:dgram';"));
  assert.ok(FORBIDDEN_CALL.test('const t = Date.now();'));
  assert.ok(ALLOWED_IMPORT.test("import { isIPv4, isIPv6 } from 'node:net';"));
  assert.ok(!ALLOWED_IMPORT.test("import { createServer } from 'node:net';"));
});
