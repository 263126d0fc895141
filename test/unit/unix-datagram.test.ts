/** sockaddr_un as sd_notify(3) builds it for $NOTIFY_SOCKET: a path, or '@name' as an abstract name. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sockaddrUn } from '../../src/platform/unix-datagram.ts';

test('sockaddrUn: path with a trailing NUL, abstract name with a leading NUL, length limits', () => {
  const p = sockaddrUn('/run/systemd/notify');
  assert.ok(p !== undefined);
  assert.equal(p.len, 2 + '/run/systemd/notify'.length + 1);
  assert.deepEqual([...p.addr.subarray(0, 3)], [1, 0, '/'.charCodeAt(0)]);
  assert.equal(p.addr[2 + '/run/systemd/notify'.length], 0);
  const a = sockaddrUn('@/org/freedesktop/systemd1/notify/123');
  assert.ok(a !== undefined);
  assert.equal(a.len, 2 + 1 + '/org/freedesktop/systemd1/notify/123'.length, 'abstract: leading NUL, no trailing one');
  assert.equal(a.addr[2], 0);
  assert.equal(String.fromCharCode(...a.addr.subarray(3, 3 + 4)), '/org');
  assert.ok(sockaddrUn(`/${'x'.repeat(106)}`) !== undefined, '107 bytes + NUL fit in sun_path');
  assert.equal(sockaddrUn(`/${'x'.repeat(107)}`), undefined);
});
