/**
 * `user` / `group` (docs/security.md): checked at start, the privileged helper forked while still
 * root, the drop itself once the first connection is up (init.c do_uid_gid_chroot, called from
 * initialization_sequence_completed), as OpenVPN 2.6 logs it:
 *
 *   start ─▶ user/group looked up ("failed to find UID for user X" otherwise)
 *         ─▶ helper forked (journals, DNS, nft go through it from the start)
 *   first CONNECTED ─▶ setgroups/setgid/setuid keeping CAP_NET_ADMIN (platform/caps.ts)
 *         ─▶ "UID set to nobody", "GID set to nogroup", "Capabilities retained: CAP_NET_ADMIN"
 *
 * After the drop the process reconfigures the tunnel itself (rtnetlink, TUNSETIFF with
 * CAP_NET_ADMIN); scripts run as the user, without capabilities, as 2.6's do.
 */
import type { ClientOptions } from '../config/index.ts';
import { OsError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import { CAP_NET_ADMIN, capNames, dropPrivileges, lookupId, type DropTarget } from '../platform/caps.ts';
import type { DnsChoice } from '../dns/choose.ts';
import type { TunDevice } from '../tun/device.ts';
import type { LinuxTunOptions } from '../tun/linux-tun.ts';
import { PrivHelper } from '../privsep/remote.ts';
import type { ProcessObserver } from './process-observer.ts';

/** What the privilege drop needs across SIGHUP reloads: one helper, one drop per process. */
export interface PrivState {
  readonly target: DropTarget;
  helper: PrivHelper | undefined;
  dropped: boolean;
}

/** The drop `o` asks for, or undefined; a user or group that does not exist is an error now, as in 2.6. */
export function privilegeTarget(o: ClientOptions): DropTarget | undefined {
  if (o.user === undefined && o.group === undefined) return undefined;
  const uid = o.user === undefined ? undefined : lookupId('/etc/passwd', o.user);
  if (o.user !== undefined && uid === undefined) throw new OsError('OS', `failed to find UID for user ${o.user}`);
  const gid = o.group === undefined ? undefined : lookupId('/etc/group', o.group);
  if (o.group !== undefined && gid === undefined) throw new OsError('OS', `failed to find GID for group ${o.group}`);
  if (process.getuid?.() !== 0) throw new OsError('OS', `user/group: ovpn-ts must be started as root to drop its privileges to ${o.user ?? o.group ?? ''}`);
  return {
    user: o.user === undefined || uid === undefined ? undefined : { name: o.user, uid },
    group: o.group === undefined || gid === undefined ? undefined : { name: o.group, gid },
  };
}

/** The helper, forked on first need (with the DNS backend chosen then, if any). */
export async function helperOf(p: PrivState, dns: DnsChoice | undefined, log: Logger): Promise<PrivHelper> {
  if (p.helper === undefined) p.helper = await PrivHelper.start(dns, log);
  return p.helper;
}

/** Drops privileges at the first CONNECTED; `fatal` is told when that fails (the process must not go on half-dropped). */
export function dropObserver(p: PrivState, log: Logger, fatal: (e: Error) => void): ProcessObserver {
  return {
    onState: (state) => {
      if (state !== 'CONNECTED' || p.dropped) return;
      p.dropped = true;
      try {
        const caps = dropPrivileges(p.target, [CAP_NET_ADMIN]);
        if (p.target.user !== undefined) log.info(`UID set to ${p.target.user.name}`);
        if (p.target.group !== undefined) log.info(`GID set to ${p.target.group.name}`);
        log.info(`Capabilities retained: ${capNames(caps.effective)}`);
      } catch (e) {
        fatal(new OsError('OS', `cannot drop privileges to ${p.target.user?.name ?? ''}${p.target.group === undefined ? '' : `:${p.target.group.name}`}: ${(e as Error).message}`, { cause: e }));
      }
    },
    onTunnel: () => undefined,
    ending: () => undefined,
  };
}

/**
 * Opening the tun device again after the drop (a reconnect without persist-tun) works when the
 * user may open /dev/net/tun (mode 0666, the usual udev rule); otherwise it fails as 2.6 fails
 * ("Cannot open TUN/TAP dev /dev/net/tun: Permission denied"), and the process exits.
 */
export function openAfterDrop(p: PrivState, open: (o: LinuxTunOptions) => TunDevice): (o: LinuxTunOptions) => TunDevice {
  return (o) => {
    try {
      return open(o);
    } catch (e) {
      if (!p.dropped) throw e;
      const who = p.target.user?.name ?? p.target.group?.name ?? '';
      const sys = (e as { cause?: unknown }).cause instanceof Error ? ((e as { cause: Error }).cause.message) : (e as Error).message;
      throw new OsError('TUN_OPEN', `ERROR: Cannot open TUN/TAP dev /dev/net/tun: ${sys} (after the privilege drop to ${who}: use persist-tun, or let ${who} open /dev/net/tun)`, { cause: e });
    }
  };
}
