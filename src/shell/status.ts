/**
 * Traffic counters for `--status FILE [n]` and SIGUSR2, in OpenVPN's own format (sig.c
 * print_status), so monitoring scripts written for OpenVPN keep working:
 *
 *   OpenVPN STATISTICS
 *   Updated,2026-11-25 17:05:00
 *   TUN/TAP read bytes,1234
 *   TUN/TAP write bytes,5678
 *   TCP/UDP read bytes,...
 *   TCP/UDP write bytes,...
 *   Auth read bytes,...
 *   END
 *
 * Pure: the counters are plain numbers the shell increments; formatting takes the time.
 */
import { openvpnTime } from '../log/logger.ts';

export class TrafficStats {
  tunReadBytes = 0;
  tunWriteBytes = 0;
  linkReadBytes = 0;
  linkWriteBytes = 0;
  /** Bytes of packets that passed authentication (data packets that opened). */
  authReadBytes = 0;
  /** Brings in traffic counted on another thread (the data-plane worker); readers call it first. */
  refresh: (() => void) | undefined;
}

export function formatStatus(s: TrafficStats, now: Date): string {
  return [
    'OpenVPN STATISTICS',
    `Updated,${openvpnTime(now)}`,
    `TUN/TAP read bytes,${s.tunReadBytes}`,
    `TUN/TAP write bytes,${s.tunWriteBytes}`,
    `TCP/UDP read bytes,${s.linkReadBytes}`,
    `TCP/UDP write bytes,${s.linkWriteBytes}`,
    `Auth read bytes,${s.authReadBytes}`,
    'END',
    '',
  ].join('\n');
}
