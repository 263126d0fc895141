/**
 * The DnsBackend port: one way of telling the system's resolver about the tunnel's DNS, and of
 * taking it back. Adapters: resolved.ts (systemd-resolved through resolvectl), resolvconf.ts
 * (resolvconf/openresolv), resolv-file.ts (/etc/resolv.conf with a backup and a journal), and
 * MemoryDnsBackend below (the in-memory twin for contract tests).
 *
 *   apply(dev, plan)  make `plan` the tunnel's DNS (replacing what this backend applied before)
 *   revert(dev)       undo it exactly; a no-op when nothing is applied
 *
 * What a hard-killed process left behind is undone from the journal by native.ts (repairDns),
 * whatever backend the next start picks. Never: touch anything the backend did not apply.
 */
import type { BackendCaps, DnsPlan } from './plan.ts';

export interface DnsBackend {
  readonly caps: BackendCaps;
  apply(dev: string, plan: DnsPlan): Promise<void>;
  revert(dev: string): Promise<void>;
}

/** systemd-resolved: DNS over TLS (with SNI), DNSSEC, ports and split DNS; DoH is not supported. */
export const RESOLVED_CAPS: BackendCaps = { name: 'systemd-resolved', dot: true, dnssec: true, ports: true, splitDns: true, maxServers: 8, maxSearch: 256 };

/** resolv.conf-shaped backends: plain DNS on port 53 only, 3 name servers, no split DNS. */
export function resolvConfCaps(name: string, maxSearch: number): BackendCaps {
  return { name, dot: false, dnssec: false, ports: false, splitDns: false, maxServers: 3, maxSearch };
}

/** In-memory twin: the "system" is a map from device to the plan in force. */
export class MemoryDnsBackend implements DnsBackend {
  readonly caps: BackendCaps;
  readonly applied = new Map<string, DnsPlan>();
  readonly calls: string[] = [];

  constructor(caps: BackendCaps = resolvConfCaps('memory', 6)) {
    this.caps = caps;
  }

  async apply(dev: string, plan: DnsPlan): Promise<void> {
    this.calls.push(`apply ${dev}`);
    this.applied.set(dev, plan);
  }

  async revert(dev: string): Promise<void> {
    this.calls.push(`revert ${dev}`);
    this.applied.delete(dev);
  }
}
