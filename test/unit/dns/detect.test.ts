import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseBackend, usesResolved, type DnsFacts } from '../../../src/dns/detect.ts';

const NONE: DnsFacts = { resolvectl: undefined, resolved: 'absent', resolvConfUsesResolved: false, resolvconf: undefined };
const RESOLVED: DnsFacts = { resolvectl: '/usr/bin/resolvectl', resolved: 'running', resolvConfUsesResolved: true, resolvconf: '/usr/sbin/resolvconf' };

test('auto: resolved first, then resolvconf, then the file', () => {
  assert.equal(chooseBackend('auto', RESOLVED).kind, 'resolved');
  assert.equal(chooseBackend('auto', { ...NONE, resolvconf: '/usr/sbin/resolvconf' }).kind, 'resolvconf');
  assert.deepEqual(chooseBackend('auto', NONE), { kind: 'file', why: 'neither systemd-resolved nor resolvconf is in use' });
});

test('auto: resolved is not used when resolv.conf bypasses it or it runs in another network namespace, and the reason is kept', () => {
  const c = chooseBackend('auto', { ...RESOLVED, resolvConfUsesResolved: false });
  assert.equal(c.kind, 'resolvconf');
  assert.match(c.why, /systemd-resolved runs but \/etc\/resolv.conf does not use it/);
  const e = chooseBackend('auto', { ...RESOLVED, resolved: 'elsewhere', resolvconf: undefined });
  assert.equal(e.kind, 'file');
  assert.match(e.why, /another network namespace/);
});

test('dns-backend overrides; an impossible choice is "none" with the reason', () => {
  assert.equal(chooseBackend('file', RESOLVED).kind, 'file');
  assert.equal(chooseBackend('resolvconf', RESOLVED).kind, 'resolvconf');
  assert.deepEqual(chooseBackend('resolved', NONE), { kind: 'none', why: 'dns-backend resolved: resolvectl is not installed' });
  assert.match(chooseBackend('resolved', { ...RESOLVED, resolved: 'absent' }).why, /is not running/);
  assert.equal(chooseBackend('resolvconf', NONE).kind, 'none');
});

test('usesResolved: the stub symlink or only stub name servers', () => {
  assert.equal(usesResolved('../run/systemd/resolve/stub-resolv.conf', undefined), true);
  assert.equal(usesResolved(undefined, '# x\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n'), true);
  assert.equal(usesResolved(undefined, 'nameserver 127.0.0.53\nnameserver 192.0.2.1\n'), false);
  assert.equal(usesResolved('/run/resolvconf/resolv.conf', 'nameserver 192.0.2.1\n'), false);
  assert.equal(usesResolved(undefined, ''), false);
});
