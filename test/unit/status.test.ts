/**
 * The status file keeps OpenVPN's client format (sig.c print_status) line for line, so
 * monitoring scripts that parse `openvpn --status` output keep working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openvpnTime } from '../../src/log/logger.ts';
import { formatStatus, TrafficStats } from '../../src/shell/status.ts';

test('OpenVPN STATISTICS block with the counters in OpenVPN order', () => {
  const s = new TrafficStats();
  s.tunReadBytes = 1;
  s.tunWriteBytes = 2;
  s.linkReadBytes = 3;
  s.linkWriteBytes = 4;
  s.authReadBytes = 5;
  const when = new Date(2026, 10, 25, 7, 5, 9);
  assert.equal(
    formatStatus(s, when),
    [
      'OpenVPN STATISTICS',
      'Updated,2026-11-25 07:05:09',
      'TUN/TAP read bytes,1',
      'TUN/TAP write bytes,2',
      'TCP/UDP read bytes,3',
      'TCP/UDP write bytes,4',
      'Auth read bytes,5',
      'END',
      '',
    ].join('\n'),
  );
  assert.equal(openvpnTime(new Date(2026, 0, 2, 3, 4, 5)), '2026-01-02 03:04:05');
});
