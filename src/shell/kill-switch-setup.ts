/**
 * The shell's side of the kill switch: builds the real adapters (nft, the journal file, rtnetlink
 * for the LAN exception) and hands client.ts a small port. Without `kill-switch` only a leftover
 * of a crashed run is looked for (no nft runs unless one exists).
 */
import type { ClientOptions, ConnectionEntry } from '../config/index.ts';
import type { Endpoint } from '../link/link.ts';
import type { Logger } from '../log/logger.ts';
import { KillSwitch, removeLeftoverKillSwitch, type KillSwitchDeps, type ViaProxy } from '../firewall/kill-switch.ts';
import type { PrivHelper } from '../privsep/remote.ts';

/** What client.ts needs of the kill switch. */
export interface LeakGuard {
  resolve(host: string, port: number, af: ConnectionEntry['af']): Promise<Endpoint>;
  allow(ce: ConnectionEntry, remote: Endpoint, proxy: ViaProxy | undefined): Promise<void>;
  setTunDev(name: string): Promise<void>;
  remove(): Promise<void>;
}

/** `helper`: with user/group, nft and the owner record go through the privileged helper (it outlives the drop). */
async function deps(o: ClientOptions, log: Logger, withNet: boolean, helper: PrivHelper | undefined): Promise<{ deps: KillSwitchDeps; close: () => void }> {
  const [{ NftFirewall }, { FileFirewallJournal }] = await Promise.all([import('../firewall/nft.ts'), import('../firewall/journal.ts')]);
  const net = withNet && o.killSwitch?.lan === true ? new (await import('../routing/netlink-backend.ts')).NetlinkBackend() : undefined;
  const firewall = helper === undefined ? new NftFirewall() : helper.firewall();
  const journal = helper === undefined ? new FileFirewallJournal() : helper.firewallJournal(new FileFirewallJournal());
  const d: KillSwitchDeps = { firewall, journal, log, ...(net === undefined ? {} : { net }) };
  return { deps: d, close: () => net?.close() };
}

/** With `kill-switch`: installs the rules (before any packet to a server). Without: removes a crashed run's rules. */
export async function setUpKillSwitch(o: ClientOptions, log: Logger, tunDev: string | undefined, helper?: PrivHelper): Promise<LeakGuard | undefined> {
  if (o.killSwitch === undefined) {
    const { FileFirewallJournal } = await import('../firewall/journal.ts');
    if (new FileFirewallJournal().owner() === undefined) return undefined;
    const { deps: d } = await deps(o, log, false, helper);
    await removeLeftoverKillSwitch(d);
    return undefined;
  }
  const { deps: d, close } = await deps(o, log, true, helper);
  try {
    return await KillSwitch.install(o, tunDev, d);
  } finally {
    close();
  }
}
