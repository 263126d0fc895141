/** The management directives as the table reads them, and the checks 2.6 makes on them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigErrors } from '../../../src/base/errors.ts';
import { loadConfig } from '../../../src/config/index.ts';
import { BASE, PKI, memFs } from '../config/memfs.ts';

const load = (extra: string) => loadConfig(['--config', 'a.ovpn'], memFs({ '/work/a.ovpn': `${BASE}${extra}`, ...PKI, '/work/pw': 'x\n' })).options;
function errors(extra: string): string[] {
  try {
    load(extra);
    return [];
  } catch (e) {
    if (e instanceof ConfigErrors) return e.errors.map((x) => x.message);
    throw e;
  }
}

test('management IP PORT [pw-file], PATH unix, flags, client user/group, log cache', () => {
  const tcp = load('management 127.0.0.1 7505 pw\nmanagement-hold\nmanagement-query-passwords\nmanagement-log-cache 500\n');
  assert.deepEqual(tcp.management, { address: '127.0.0.1', port: '7505', pwFile: '/work/pw' });
  assert.deepEqual(tcp.managementFlags, ['management-hold', 'management-query-passwords']);
  assert.equal(tcp.managementLogCache, 500);
  const unix = load('management run/mgmt.sock unix\nmanagement-client-user alice\nmanagement-client-group vpn\n');
  assert.deepEqual(unix.management, { address: '/work/run/mgmt.sock', port: 'unix', pwFile: undefined });
  assert.equal(unix.managementClientUser, 'alice');
  assert.equal(unix.managementClientGroup, 'vpn');
});

test('management flags without management, client-user on TCP, a bad port: errors at the line', () => {
  assert.match(errors('management-hold\n').join('\n'), /a\.ovpn:7: management-hold: management-hold needs a management interface/);
  assert.match(errors('management 127.0.0.1 7505\nmanagement-client-user alice\n').join('\n'), /management-client-user\/-group only work with a unix socket/);
  assert.match(errors('management 127.0.0.1 seven\n').join('\n'), /port "seven" is not a number/);
  assert.match(errors('management 127.0.0.1 7505\nmanagement-client\n').join('\n'), /management-client: .*ovpn-ts only listens/);
});
