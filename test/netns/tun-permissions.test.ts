/**
 * A container without `--device /dev/net/tun --cap-add NET_ADMIN`, reproduced without a
 * container: ovpn-ts started without CAP_NET_ADMIN (setpriv drops it from the bounding set),
 * and with /dev/net/tun hidden (a private mount namespace with an empty tmpfs on /dev/net).
 * Both must fail at once, before any packet is sent, with exit code 6 and a message that names
 * the fix. Each run happens inside a throwaway network namespace.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo.ts';

const NS = `ovts-perm-${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'ovts-perm-'));
const pki = (f: string): string => join(repoRoot(), 'test', 'fixtures', 'pki', f);
const config = join(dir, 'client.ovpn');
writeFileSync(
  config,
  ['client', 'dev tun', 'proto udp', 'remote 198.18.0.1 1194', 'nobind', `ca ${pki('ca.crt')}`, `cert ${pki('client.crt')}`, `key ${pki('client.key')}`, 'verb 3', ''].join('\n'),
);
execFileSync('ip', ['netns', 'add', NS]);
after(() => {
  execFileSync('ip', ['netns', 'del', NS]);
  rmSync(dir, { recursive: true, force: true });
});

interface Result {
  readonly code: number | null;
  readonly out: string;
}

function run(prefix: readonly string[]): Promise<Result> {
  const cli = join(repoRoot(), 'dist', 'src', 'cli', 'main.js');
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', NS, ...prefix, process.execPath, cli, '--config', config], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, out: stdout + stderr });
    });
  });
}

test('without CAP_NET_ADMIN: exit 6, the message names --cap-add NET_ADMIN, nothing was sent', async () => {
  const r = await run(['setpriv', '--bounding-set=-net_admin', '--inh-caps=-net_admin', '--']);
  assert.equal(r.code, 6, r.out);
  assert.match(r.out, /needs CAP_NET_ADMIN: run as root, or in a container add --cap-add NET_ADMIN --device \/dev\/net\/tun/);
  assert.doesNotMatch(r.out, /link remote/, 'it must fail before connecting');
  assert.doesNotMatch(r.out, /^\s+at /m, 'no stack trace');
});

test('without /dev/net/tun: exit 6, the message names modprobe tun and --device /dev/net/tun', async () => {
  const r = await run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /dev/net && exec "$0" "$@"']);
  assert.equal(r.code, 6, r.out);
  assert.match(r.out, /\/dev\/net\/tun is missing: load the tun module \(modprobe tun\), or in a container add --device \/dev\/net\/tun/);
  assert.doesNotMatch(r.out, /^\s+at /m);
});
