/**
 * The DnsApplier port the tunnel calls, and NativeDns, its one implementation: decides (with
 * dns-updown) whether ovpn-ts applies DNS at all, plans the tunnel's DNS from the effective
 * options, and hands the plan to a DnsBackend. With MemoryDnsBackend it is the in-memory twin.
 *
 *   init()         repair what dead runs left (journal), log the backend and the decision
 *   up(opts, dev)  plan -> backend.apply (again only when the plan changed)     [after addresses]
 *   down()         backend.revert                                              [before route-pre-down]
 *
 * A failure to apply or revert is logged, never thrown (OpenVPN: "WARNING: Failed running dns
 * updown"). Never: change what scripts see (src/scripts/env.ts is independent of this).
 */
import type { ClientOptions } from '../config/options.ts';
import type { Logger } from '../log/logger.ts';
import type { DnsBackend } from './backend.ts';
import { describePlan, dnsSettings, nativeDnsDecision, planDns, redirectsDefault, type DnsPlan } from './plan.ts';

export interface DnsApplier {
  init(): Promise<void>;
  up(o: ClientOptions, dev: string): Promise<void>;
  down(): Promise<void>;
}

export interface NativeDnsDeps {
  readonly log: Logger;
  /** Undefined when native DNS is off (or no backend can be used); `why` says which. */
  readonly backend: DnsBackend | undefined;
  readonly why: string;
  /** Undoes what dead runs left; returns lines for the log. */
  readonly repair?: () => Promise<readonly string[]>;
}

/** The plan for options as `backend` would apply it (also used by --check). */
export function planFor(o: ClientOptions, backend: DnsBackend) {
  return planDns(dnsSettings(o), backend.caps, { redirect: redirectsDefault(o), ipv4: o.ifconfig !== undefined, ipv6: o.ifconfigIpv6 !== undefined });
}

export class NativeDns implements DnsApplier {
  readonly #o: ClientOptions;
  readonly #d: NativeDnsDeps;
  #applied: { readonly dev: string; readonly plan: DnsPlan } | undefined;

  constructor(o: ClientOptions, deps: NativeDnsDeps) {
    this.#o = o;
    this.#d = deps;
  }

  get applied(): DnsPlan | undefined {
    return this.#applied?.plan;
  }

  async init(): Promise<void> {
    for (const line of (await this.#d.repair?.()) ?? []) this.#d.log.info(`DNS repair: ${line}`);
    const decision = nativeDnsDecision(this.#o);
    const b = this.#d.backend;
    if (!decision.on) this.#d.log.info(`DNS: ovpn-ts does not apply DNS: ${decision.why}`);
    else if (b === undefined) this.#d.log.warn(`DNS: pushed DNS cannot be applied: ${this.#d.why}`);
    else this.#d.log.info(`DNS: pushed DNS will be applied via ${b.caps.name} (${this.#d.why})`);
  }

  async up(o: ClientOptions, dev: string): Promise<void> {
    const b = this.#d.backend;
    if (b === undefined || !nativeDnsDecision(this.#o).on) return;
    const { plan, notes } = planFor(o, b);
    for (const n of notes) this.#d.log.warn(`DNS: ${n}`);
    const prev = this.#applied;
    if (plan === undefined) {
      if (dnsSettings(o).source === 'none') this.#d.log.verb(3, 'DNS: no DNS server configured or pushed; the system DNS is left as it is');
      if (prev !== undefined) await this.down();
      return;
    }
    if (prev !== undefined && prev.dev === dev && JSON.stringify(prev.plan) === JSON.stringify(plan)) return;
    if (prev !== undefined && prev.dev !== dev) await this.down();
    try {
      await b.apply(dev, plan);
      this.#applied = { dev, plan };
      this.#d.log.info(`DNS on ${dev} set via ${b.caps.name}: ${describePlan(plan)}`);
    } catch (e) {
      this.#d.log.error(`ERROR: setting DNS via ${b.caps.name} failed: ${(e as Error).message}`);
    }
  }

  async down(): Promise<void> {
    const a = this.#applied;
    const b = this.#d.backend;
    if (a === undefined || b === undefined) return;
    this.#applied = undefined;
    try {
      await b.revert(a.dev);
      this.#d.log.info(`DNS on ${a.dev} reverted (${b.caps.name})`);
    } catch (e) {
      this.#d.log.warn(`WARNING: reverting DNS on ${a.dev} via ${b.caps.name}: ${(e as Error).message}`);
    }
  }
}
