/**
 * DnsBackend over resolvconf (Debian's resolvconf, or openresolv): the tunnel's servers are one
 * record, `<dev>.openvpn`, given on stdin to `resolvconf -a` and removed with `resolvconf -d`
 * (as update-resolv-conf and 2.7's dns-updown do). With openresolv, a plan that makes the
 * tunnel the default DNS route marks the record exclusive (`-x`), so the local network's
 * servers are not used beside it. The record is journaled for repair after a hard kill.
 */
import { resolvConfCaps, type DnsBackend } from './backend.ts';
import { runTool } from './exec.ts';
import type { DnsJournalStore } from './journal.ts';
import { resolvConfText, type DnsPlan } from './plan.ts';

export const recordName = (dev: string): string => `${dev}.openvpn`;

export class ResolvconfBackend implements DnsBackend {
  readonly caps;
  readonly #program: string;
  readonly #openresolv: boolean;
  readonly #journal: DnsJournalStore;
  readonly #applied = new Set<string>();

  constructor(program: string, openresolv: boolean, journal: DnsJournalStore) {
    this.#program = program;
    this.#openresolv = openresolv;
    this.#journal = journal;
    this.caps = resolvConfCaps(openresolv ? 'openresolv' : 'resolvconf', 6);
  }

  async apply(dev: string, plan: DnsPlan): Promise<void> {
    const record = recordName(dev);
    this.#journal.save({ kind: 'resolvconf', dev, program: this.#program, record });
    const exclusive = this.#openresolv && plan.defaultRoute ? ['-x'] : [];
    try {
      await runTool(this.#program, [...exclusive, '-a', record], resolvConfText(plan, dev));
    } catch (e) {
      if (!this.#applied.has(dev)) this.#journal.remove(dev);
      throw e;
    }
    this.#applied.add(dev);
  }

  async revert(dev: string): Promise<void> {
    if (!this.#applied.delete(dev)) return;
    await runTool(this.#program, ['-d', recordName(dev)]);
    this.#journal.remove(dev);
  }
}

/** openresolv says so in `resolvconf --version`; Debian's resolvconf does not know the flag. */
export async function isOpenresolv(program: string): Promise<boolean> {
  try {
    return /openresolv/i.test(await runTool(program, ['--version']));
  } catch {
    return false;
  }
}
