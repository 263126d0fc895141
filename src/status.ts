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

export class TrafficStats {
  tunReadBytes = 0;
  tunWriteBytes = 0;
  linkReadBytes = 0;
  linkWriteBytes = 0;
  /** Bytes of packets that passed authentication (data packets that opened). */
  authReadBytes = 0;
}

/** OpenVPN's time_string(): local time as `YYYY-MM-DD HH:MM:SS`. */
export function statusTime(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function formatStatus(s: TrafficStats, now: Date): string {
  return [
    'OpenVPN STATISTICS',
    `Updated,${statusTime(now)}`,
    `TUN/TAP read bytes,${s.tunReadBytes}`,
    `TUN/TAP write bytes,${s.tunWriteBytes}`,
    `TCP/UDP read bytes,${s.linkReadBytes}`,
    `TCP/UDP write bytes,${s.linkWriteBytes}`,
    `Auth read bytes,${s.authReadBytes}`,
    'END',
    '',
  ].join('\n');
}
