/**
 * The shipped systemd unit (packaging/ovpn-ts@.service) passes `systemd-analyze verify` without
 * a single warning, as an instance (ovpn-ts@lab.service), and keeps what ovpn-ts needs: notify
 * readiness, /dev/net/tun, netlink, CAP_NET_ADMIN, a journal directory that survives a crash.
 * systemd-analyze verify loads the unit in a private manager: nothing is started or changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo.ts';

const UNIT = join(repoRoot(), 'packaging', 'ovpn-ts@.service');

test('packaging/ovpn-ts@.service: systemd-analyze verify is clean', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovts-unit-'));
  try {
    copyFileSync(UNIT, join(dir, 'ovpn-ts@.service'));
    symlinkSync('ovpn-ts@.service', join(dir, 'ovpn-ts@lab.service'));
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile('systemd-analyze', ['verify', join(dir, 'ovpn-ts@lab.service')], { timeout: 20_000 }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1;
        resolve({ code, out: `${stdout}${stderr}${err !== null && code === -1 ? err.message : ''}` });
      });
    });
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), '', 'no warnings');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('packaging/ovpn-ts@.service: readiness and the hardening that still allows TUN, netlink and nftables', () => {
  const text = readFileSync(UNIT, 'utf8');
  const has = (line: string): void => assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  has('Type=notify');
  has('DevicePolicy=closed');
  has('DeviceAllow=/dev/net/tun rw');
  has('RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK');
  has('RuntimeDirectory=ovpn-ts');
  has('RuntimeDirectoryPreserve=yes');
  assert.match(text, /^CapabilityBoundingSet=.*\bCAP_NET_ADMIN\b/m);
  assert.doesNotMatch(text, /^(PrivateDevices|PrivateNetwork|MemoryDenyWriteExecute)=(yes|true)/m);
  assert.match(text, /\/etc\/ovpn-ts\/%i\.conf/);
  assert.match(text, /\/etc\/openvpn\/client/);
});
