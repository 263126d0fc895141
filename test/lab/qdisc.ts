/**
 * Backpressure in the lab: a token-bucket rate limit (tc tbf) on one of the lab's veth ends,
 * the qdisc's counters, and a namespace's UDP counters from /proc/net/snmp (SndbufErrors counts
 * the sends its kernel refused for a full socket buffer, i.e. the EAGAIN a sender saw).
 *
 * Test tooling. It only ever runs tc inside a lab namespace (never the root namespace); the
 * qdisc goes away with the namespace.
 *
 *   sender ns: socket ─▶ sndbuf full? EAGAIN ─▶ tbf (rate, burst, queue) ─▶ veth ─▶ receiver ns
 */
import type { Netns } from './netns.ts';

export interface TokenBucket {
  /** tc rate, e.g. '1mbit'. */
  readonly rate: string;
  /** tc burst, e.g. '32kbit'. */
  readonly burst: string;
  /** Queue bound as the longest wait, e.g. '400ms' (tc's `latency`). */
  readonly latency: string;
}

/** Replaces the root qdisc of `dev` in `ns` with a token bucket filter. */
export async function rateLimit(ns: Netns, dev: string, tb: TokenBucket): Promise<void> {
  await ns.exec('tc', ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', tb.rate, 'burst', tb.burst, 'latency', tb.latency]);
}

export interface QdiscStats {
  readonly kind: string;
  readonly packets: number;
  /** Packets the qdisc dropped (its queue was full). */
  readonly drops: number;
  /** Packets that had to wait for tokens. */
  readonly overlimits: number;
  /** Bytes queued now. */
  readonly backlog: number;
}

/** The root qdisc's counters (`tc -s -j qdisc show dev`). */
export async function qdiscStats(ns: Netns, dev: string): Promise<QdiscStats> {
  const r = await ns.exec('tc', ['-s', '-j', 'qdisc', 'show', 'dev', dev]);
  const all = JSON.parse(r.stdout) as (Partial<QdiscStats> & { root?: boolean })[];
  const q = all.find((x) => x.root === true);
  if (q === undefined) throw new Error(`no root qdisc on ${dev} in ${ns.name}: ${r.stdout}`);
  return { kind: q.kind ?? '', packets: q.packets ?? 0, drops: q.drops ?? 0, overlimits: q.overlimits ?? 0, backlog: q.backlog ?? 0 };
}

/** The `Udp:` counters of the namespace (/proc/net/snmp), e.g. OutDatagrams, SndbufErrors. */
export async function udpCounters(ns: Netns): Promise<Record<string, number>> {
  const r = await ns.exec('cat', ['/proc/net/snmp']);
  const [names, values] = r.stdout.split('\n').filter((l) => l.startsWith('Udp: '));
  if (names === undefined || values === undefined) throw new Error(`no Udp: lines in /proc/net/snmp of ${ns.name}`);
  const keys = names.split(/\s+/).slice(1);
  const nums = values.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, nums[i] ?? 0]));
}
