/**
 * What the unprivileged client may ask of its privileged helper (docs/security.md), and the
 * checks the helper makes before it acts. Pure: the helper (helper.ts) and the client's side
 * (remote.ts) share these types; nothing here does I/O.
 *
 *   route-journal-save {dev, journal}   write the route journal of `dev` (what to undo after a hard kill)
 *   route-journal-remove {dev}          delete it
 *   dns-apply {dev, plan}               make `plan` the tunnel's DNS (the backend chosen before the drop)
 *   dns-revert {dev}                    undo it
 *   nft-apply {doc}                     one nft transaction, confined to table inet ovpn_ts
 *   nft-has-table                       is table inet ovpn_ts there?
 *   firewall-claim / firewall-release   the kill switch's owner record
 *
 * Anything else, or a request that fails its check, is refused (an error answer, nothing done).
 * The helper's configuration (which DNS backend, the client's pid) comes on its command line from
 * the client while it is still root, never in a request.
 */
import { NetJournal } from '../routing/apply.ts';
import type { DnsPlan } from '../dns/plan.ts';
import type { DnsChoice } from '../dns/choose.ts';

export type { DnsChoice };
import type { NftDocument } from '../firewall/ruleset.ts';
import { KILL_SWITCH_FAMILY, KILL_SWITCH_TABLE } from '../firewall/ruleset.ts';
import { parseIPv4, parseIPv6 } from '../base/ip.ts';

/** The helper's command-line configuration (JSON), set by the client before the drop. */
export interface HelperConfig {
  readonly clientPid: number;
  readonly dns: DnsChoice | undefined;
}

export type Request =
  | { readonly op: 'route-journal-save'; readonly dev: string; readonly journal: unknown }
  | { readonly op: 'route-journal-remove'; readonly dev: string }
  | { readonly op: 'dns-apply'; readonly dev: string; readonly plan: DnsPlan }
  | { readonly op: 'dns-revert'; readonly dev: string }
  | { readonly op: 'nft-apply'; readonly doc: NftDocument }
  | { readonly op: 'nft-has-table' }
  | { readonly op: 'firewall-claim' }
  | { readonly op: 'firewall-release' };

export type Op = Request['op'];
export const OPS: readonly Op[] = ['route-journal-save', 'route-journal-remove', 'dns-apply', 'dns-revert', 'nft-apply', 'nft-has-table', 'firewall-claim', 'firewall-release'];

/** A request on the wire: numbered so that answers find their caller. */
export type Message = Request & { readonly id: number };
export type Answer = { readonly id: number; readonly ok: true; readonly value?: unknown } | { readonly id: number; readonly ok: false; readonly error: string };

/** A Linux interface name (IFNAMSIZ - 1), nothing that could be a path. */
const DEV = /^[A-Za-z0-9_.-]{1,15}$/;
/** A DNS name or a routing domain (`.` is the root). */
const DOMAIN = /^(\.|[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?)$/;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function devOk(dev: unknown): string | undefined {
  return typeof dev === 'string' && DEV.test(dev) && dev !== '.' && dev !== '..' ? undefined : 'not a device name';
}

/** Why a DNS plan may not be written to the system, or undefined. */
export function planProblem(plan: unknown): string | undefined {
  if (!isObj(plan)) return 'not a DNS plan';
  const servers = plan['servers'];
  if (!Array.isArray(servers) || servers.length > 16) return 'bad server list';
  for (const s of servers as unknown[]) {
    if (!isObj(s)) return 'bad server';
    const ip = s['ip'];
    if (typeof ip !== 'string' || (s['family'] === 4 ? parseIPv4(ip) : parseIPv6(ip)) === undefined) return 'bad server address';
    const port = s['port'];
    if (port !== undefined && !(Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536)) return 'bad server port';
  }
  for (const key of ['searchDomains', 'routingDomains'] as const) {
    const list = plan[key];
    if (!Array.isArray(list) || list.length > 256) return `bad ${key}`;
    for (const d of list as unknown[]) if (typeof d !== 'string' || d.length > 253 || !DOMAIN.test(d)) return `bad domain in ${key}`;
  }
  const sni = plan['sni'];
  if (sni !== undefined && (typeof sni !== 'string' || !DOMAIN.test(sni))) return 'bad sni';
  if (typeof plan['backend'] !== 'string' || !/^[A-Za-z0-9 ._-]{0,64}$/.test(plan['backend'])) return 'bad backend name';
  if (typeof plan['defaultRoute'] !== 'boolean' || typeof plan['dot'] !== 'boolean' || !Number.isInteger(plan['priority'])) return 'bad flags';
  const dnssec = plan['dnssec'];
  if (dnssec !== undefined && dnssec !== 'yes' && dnssec !== 'no' && dnssec !== 'optional') return 'bad dnssec';
  return undefined;
}

/** Why an nft document reaches outside table inet ovpn_ts (or is not one), or undefined. */
export function nftProblem(doc: unknown): string | undefined {
  if (!isObj(doc) || !Array.isArray(doc['nftables']) || Object.keys(doc).length !== 1) return 'not an nft document';
  for (const cmd of doc['nftables'] as unknown[]) {
    if (!isObj(cmd) || Object.keys(cmd).length !== 1) return 'not an nft command';
    const [verb, body] = Object.entries(cmd)[0] ?? [];
    if (verb !== 'add' && verb !== 'delete') return `nft command "${String(verb)}" refused`;
    if (!isObj(body) || Object.keys(body).length !== 1) return 'not an nft object';
    const [kind, obj] = Object.entries(body)[0] ?? [];
    if (!isObj(obj) || obj['family'] !== KILL_SWITCH_FAMILY) return 'outside the kill switch table';
    if (kind === 'table') {
      if (obj['name'] !== KILL_SWITCH_TABLE) return 'outside the kill switch table';
    } else if (kind === 'chain' || kind === 'rule') {
      if (obj['table'] !== KILL_SWITCH_TABLE) return 'outside the kill switch table';
    } else return `nft object "${String(kind)}" refused`;
  }
  return undefined;
}

/** The request in `m` if it is one the helper serves and it passes its checks; else why not. */
export function checkRequest(m: unknown): { readonly ok: true; readonly req: Message } | { readonly ok: false; readonly id: number; readonly error: string } {
  const id = isObj(m) && Number.isInteger(m['id']) ? (m['id'] as number) : -1;
  if (!isObj(m) || id < 0) return { ok: false, id, error: 'not a request' };
  const op = m['op'];
  const refuse = (why: string) => ({ ok: false as const, id, error: `${String(op)}: ${why}` });
  if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) return { ok: false, id, error: `request "${String(op)}" refused: not one the helper serves` };
  switch (op as Op) {
    case 'route-journal-save': {
      const bad = devOk(m['dev']);
      if (bad !== undefined) return refuse(bad);
      try {
        if (NetJournal.fromJSON(m['journal']).dev !== m['dev']) return refuse('the journal names another device');
      } catch (e) {
        return refuse((e as Error).message);
      }
      break;
    }
    case 'route-journal-remove':
    case 'dns-revert': {
      const bad = devOk(m['dev']);
      if (bad !== undefined) return refuse(bad);
      break;
    }
    case 'dns-apply': {
      const bad = devOk(m['dev']) ?? planProblem(m['plan']);
      if (bad !== undefined) return refuse(bad);
      break;
    }
    case 'nft-apply': {
      const bad = nftProblem(m['doc']);
      if (bad !== undefined) return refuse(bad);
      break;
    }
    default:
      break;
  }
  return { ok: true, req: m as unknown as Message };
}
