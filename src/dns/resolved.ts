/**
 * DnsBackend over systemd-resolved: per-link settings on the tun device through resolved's own
 * tool, `resolvectl` (each command is one D-Bus call: SetLinkDNS / SetLinkDNSEx, SetLinkDomains,
 * SetLinkDefaultRoute, SetLinkDNSSEC, SetLinkDNSOverTLS; RevertLink on teardown). Nothing needs
 * a journal: resolved forgets a link's settings when the link goes, and the tun device goes
 * with the process.
 *
 *   dns DEV a [b ...]            addresses, `ip:port`, `[ip6]:port`, `#sni` for DNS over TLS
 *   domain DEV search... ~route  search domains, then routing-only domains (`~.` = everything)
 *   default-route DEV yes|no
 *   dnssec DEV yes|allow-downgrade|no, dnsovertls DEV yes   only when the profile says so
 */
import { RESOLVED_CAPS, type DnsBackend } from './backend.ts';
import { runTool } from './exec.ts';
import { formatDnsAddr, type DnsPlan } from './plan.ts';

export { RESOLVED_CAPS };

/** The resolvectl command lines for a plan (pure; unit-tested). */
export function resolvectlCommands(dev: string, plan: DnsPlan): string[][] {
  const sni = plan.dot && plan.sni !== undefined ? `#${plan.sni}` : '';
  const cmds = [
    ['dns', dev, ...plan.servers.map((s) => formatDnsAddr(s) + sni)],
    ['domain', dev, ...plan.searchDomains, ...plan.routingDomains.map((d) => `~${d}`)],
    ['default-route', dev, plan.defaultRoute ? 'yes' : 'no'],
  ];
  if (plan.dnssec !== undefined) cmds.push(['dnssec', dev, plan.dnssec === 'optional' ? 'allow-downgrade' : plan.dnssec]);
  if (plan.dot) cmds.push(['dnsovertls', dev, 'yes']);
  return cmds;
}

export class ResolvedBackend implements DnsBackend {
  readonly caps = RESOLVED_CAPS;
  readonly #resolvectl: string;
  readonly #applied = new Set<string>();

  constructor(resolvectl: string) {
    this.#resolvectl = resolvectl;
  }

  async apply(dev: string, plan: DnsPlan): Promise<void> {
    if (this.#applied.has(dev)) await runTool(this.#resolvectl, ['revert', dev]);
    this.#applied.add(dev);
    for (const args of resolvectlCommands(dev, plan)) await runTool(this.#resolvectl, args);
  }

  async revert(dev: string): Promise<void> {
    if (!this.#applied.delete(dev)) return;
    await runTool(this.#resolvectl, ['revert', dev]);
  }
}
