/**
 * The DNS section of `--check`: who applies DNS (dns-updown), through which backend (the same
 * rule the start uses, on facts probed by the caller), what the local options would set, and
 * that pushed DNS is applied the same way at connect time. Pure: options and facts in, lines out.
 */
import type { ClientOptions } from '../config/index.ts';
import { RESOLVED_CAPS, resolvConfCaps } from '../dns/backend.ts';
import { chooseBackend, type BackendChoice, type DnsFacts } from '../dns/choose.ts';
import { describePlan, dnsSettings, nativeDnsDecision, planDns, redirectsDefault, type BackendCaps } from '../dns/plan.ts';
import { PUSH } from './plan.ts';

function capsOf(c: BackendChoice): BackendCaps | undefined {
  switch (c.kind) {
    case 'resolved':
      return RESOLVED_CAPS;
    case 'resolvconf':
      return resolvConfCaps('resolvconf', 6);
    case 'file':
      return resolvConfCaps('resolv.conf', 6);
    case 'none':
      return undefined;
  }
}

function undoLine(c: BackendChoice): string | undefined {
  switch (c.kind) {
    case 'resolved':
      return 'undone with RevertLink on exit; resolved forgets the link when the tun device goes (nothing to repair after a hard kill)';
    case 'resolvconf':
      return `record <dev>.openvpn added with ${c.program} -a, removed with -d on exit; journal in /run/ovpn-ts/dns/ so a later start removes what a killed run left`;
    case 'file':
      return '/etc/resolv.conf rewritten while connected, restored byte for byte on exit; journal (with the original) in /run/ovpn-ts/dns/ so a later start restores what a killed run left';
    case 'none':
      return undefined;
  }
}

/** `facts` undefined: not probed (the backend is then named as "detected at start"). */
export function dnsPlanLines(o: ClientOptions, facts: DnsFacts | undefined): string[] {
  if (o.dev === 'null') return [];
  const decision = nativeDnsDecision(o);
  const out: string[] = [];
  const settings = dnsSettings(o);
  if (!decision.on) {
    out.push(`not applied by ovpn-ts: ${decision.why}`);
    if (settings.source !== 'none') out.push(`local DNS options (exported to scripts only): ${settings.profiles.map((p) => p.addresses.map((a) => a.ip).join(' ')).join('; ')}`);
    return out;
  }
  if (facts === undefined) {
    out.push(`backend: detected at start (dns-backend ${o.dnsBackend})`);
    return out;
  }
  const choice = chooseBackend(o.dnsBackend, facts);
  const caps = capsOf(choice);
  if (caps === undefined) return [`cannot apply DNS: ${choice.why} (the start fails)`];
  out.push(`backend: ${caps.name} (${choice.why}); override with dns-backend auto|resolved|resolvconf|file`);
  if (settings.source !== 'none') {
    // Whether the tunnel gets IPv4/IPv6 is the server's decision: no family warning here.
    const r = planDns(settings, caps, { redirect: redirectsDefault(o) });
    if (r.plan !== undefined) out.push(`from the local options: ${describePlan(r.plan)}`);
    for (const n of r.notes) out.push(`note: ${n}`);
  }
  out.push(o.routeNopull ? 'DNS pushed by the server is ignored (route-nopull)' : `pushed DNS will be applied via ${caps.name} ${PUSH}`);
  const undo = undoLine(choice);
  if (undo !== undefined) out.push(undo);
  return out;
}
