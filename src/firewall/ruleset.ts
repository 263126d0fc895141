/**
 * The kill switch's nftables ruleset, built as data (the JSON document `nft -j -f -` reads;
 * libnftables-json(5)), never as rule text. Pure: no I/O, no clock.
 *
 *   table inet ovpn_ts
 *     chain output  (hook output,  policy drop)   chain input (hook input, policy drop)
 *       oifname lo                 accept           iifname lo                 accept
 *       oifname <tun>              accept           iifname <tun>              accept
 *       daddr <server> <proto> dport <port> accept  saddr <server> <proto> sport <port> accept
 *       ICMPv6 neighbour discovery accept           (the same)
 *       DHCP / DHCPv6 client       accept           (the same, replies)
 *       [lan] daddr <uplink subnet> accept          [lan] saddr <uplink subnet> accept
 *       counter drop                                counter drop
 *     chain forward (hook forward, policy drop): to or from <tun> accept, counter drop
 *
 * Replacing is one transaction: add table (a no-op if it exists), delete it, add it again with its
 * chains and rules, so the old rules are never gone before the new ones are in (no gap to leak
 * through) and a missing table is no error. Removing is add + delete for the same reason.
 */

export const KILL_SWITCH_TABLE = 'ovpn_ts';
export const KILL_SWITCH_FAMILY = 'inet';

/** One place the tunnel's own packets go: a server, or the proxy in front of it. */
export interface AllowedEndpoint {
  readonly address: string;
  readonly family: 4 | 6;
  readonly proto: 'udp' | 'tcp';
  /** undefined: every port of that protocol (a SOCKS UDP relay picks its port at run time). */
  readonly port: number | undefined;
}

export interface Subnet {
  readonly address: string;
  readonly family: 4 | 6;
  readonly prefixLen: number;
}

export interface KillSwitchState {
  /** The tunnel's device names (none with dev null). */
  readonly tunDevs: readonly string[];
  readonly endpoints: readonly AllowedEndpoint[];
  /** The opt-in LAN exception: the subnets of the uplink(s); empty without it. */
  readonly lan: readonly Subnet[];
}

/** A libnftables JSON command ({"add": {...}}, {"delete": {...}}). */
export type NftCommand = Readonly<Record<string, unknown>>;
export interface NftDocument {
  readonly nftables: readonly NftCommand[];
}

type Expr = Readonly<Record<string, unknown>>;

const TABLE = { family: KILL_SWITCH_FAMILY, name: KILL_SWITCH_TABLE } as const;
/** RFC 4861 router/neighbour solicitation and advertisement, redirect (133-137). */
const ND_TYPES = [133, 134, 135, 136, 137];
/** DHCPv4 client/server and DHCPv6 client/server ports. */
const DHCP = [
  { client: 68, server: 67 },
  { client: 546, server: 547 },
] as const;

const accept: Expr = { accept: null };

function match(left: Expr, right: unknown): Expr {
  return { match: { op: '==', left, right } };
}
const meta = (key: string): Expr => ({ meta: { key } });
const payload = (protocol: string, field: string): Expr => ({ payload: { protocol, field } });
const ipField = (family: 4 | 6, field: 'saddr' | 'daddr'): Expr => payload(family === 4 ? 'ip' : 'ip6', field);
const prefix = (s: Subnet): unknown => ({ prefix: { addr: s.address, len: s.prefixLen } });

type Dir = 'in' | 'out';

function rule(chain: string, expr: readonly Expr[]): NftCommand {
  return { add: { rule: { ...TABLE_REF, chain, expr } } };
}
const TABLE_REF = { family: KILL_SWITCH_FAMILY, table: KILL_SWITCH_TABLE } as const;

function chain(name: string, hook: string): NftCommand {
  return { add: { chain: { ...TABLE_REF, name, type: 'filter', hook, prio: 0, policy: 'drop' } } };
}

function ifRule(c: string, dir: Dir, dev: string): NftCommand {
  return rule(c, [match(meta(dir === 'out' ? 'oifname' : 'iifname'), dev), accept]);
}

/** Traffic to (out) or from (in) an endpoint: the server side's address and port. */
function endpointRule(c: string, dir: Dir, e: AllowedEndpoint): NftCommand {
  const expr: Expr[] = [match(ipField(e.family, dir === 'out' ? 'daddr' : 'saddr'), e.address)];
  if (e.port === undefined) expr.push(match(meta('l4proto'), e.proto));
  else expr.push(match(payload(e.proto, dir === 'out' ? 'dport' : 'sport'), e.port));
  return rule(c, [...expr, accept]);
}

function lanRule(c: string, dir: Dir, s: Subnet): NftCommand {
  return rule(c, [match(ipField(s.family, dir === 'out' ? 'daddr' : 'saddr'), prefix(s)), accept]);
}

function infraRules(c: string, dir: Dir): NftCommand[] {
  const out: NftCommand[] = [rule(c, [match(payload('icmpv6', 'type'), { set: ND_TYPES }), accept])];
  for (const d of DHCP) {
    const [sport, dport] = dir === 'out' ? [d.client, d.server] : [d.server, d.client];
    out.push(rule(c, [match(payload('udp', 'sport'), sport), match(payload('udp', 'dport'), dport), accept]));
  }
  return out;
}

const countedDrop = (c: string): NftCommand => rule(c, [{ counter: null }, { drop: null }]);

function dedupe<T>(items: readonly T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => {
    const k = JSON.stringify(i);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The whole table, replacing whatever ovpn_ts table exists, in one transaction. */
export function buildKillSwitch(state: KillSwitchState): NftDocument {
  const tunDevs = [...new Set(state.tunDevs)];
  const endpoints = dedupe(state.endpoints);
  const lan = dedupe(state.lan);
  const cmds: NftCommand[] = [{ add: { table: TABLE } }, { delete: { table: TABLE } }, { add: { table: TABLE } }];
  for (const [name, dir] of [['output', 'out'], ['input', 'in']] as const) {
    cmds.push(chain(name, name));
    cmds.push(ifRule(name, dir, 'lo'));
    for (const d of tunDevs) cmds.push(ifRule(name, dir, d));
    for (const e of endpoints) cmds.push(endpointRule(name, dir, e));
    cmds.push(...infraRules(name, dir));
    for (const s of lan) cmds.push(lanRule(name, dir, s));
    cmds.push(countedDrop(name));
  }
  cmds.push(chain('forward', 'forward'));
  for (const d of tunDevs) cmds.push(ifRule('forward', 'in', d), ifRule('forward', 'out', d));
  cmds.push(countedDrop('forward'));
  return { nftables: cmds };
}

/** Deletes the table if it exists (add + delete: no error when it does not). */
export function removeKillSwitch(): NftDocument {
  return { nftables: [{ add: { table: TABLE } }, { delete: { table: TABLE } }] };
}

/** One line per allowed thing, for logs and --check. */
export function describeKillSwitch(state: KillSwitchState): string[] {
  const lines = [`nftables table ${KILL_SWITCH_FAMILY} ${KILL_SWITCH_TABLE}: input, output and forward drop everything except`];
  lines.push('  loopback');
  lines.push(state.tunDevs.length === 0 ? '  (no tun device: dev null)' : `  the tunnel device ${state.tunDevs.join(', ')}`);
  for (const e of dedupe(state.endpoints)) {
    const host = e.family === 6 ? `[${e.address}]` : e.address;
    lines.push(`  ${e.proto} to and from ${host}:${e.port ?? '*'}`);
  }
  lines.push('  ICMPv6 neighbour discovery, DHCP and DHCPv6 (the uplink keeps its address)');
  for (const s of dedupe(state.lan)) lines.push(`  LAN ${s.family === 6 ? s.address : s.address}/${s.prefixLen}`);
  return lines;
}
