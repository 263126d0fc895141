/**
 * Traffic through the lab: ping and an iperf3 TCP stream between the two namespaces.
 *
 * Test tooling. Bounded in time (ping counts and deadlines, iperf3 -t); never targets anything
 * outside the lab's namespaces.
 *
 *   client ns: iperf3 -c <addr> -t 3 -J  ====tunnel====>  server ns: iperf3 -s -1 -B <addr>
 */

import type { Netns, NetnsPair } from './netns.ts';
import { waitForLog } from './proc.ts';

export interface PingResult {
  readonly transmitted: number;
  readonly received: number;
  readonly output: string;
}

/** ping -c count from ns to addr (IPv4 or IPv6), 0.2 s apart, with a hard deadline. */
export async function ping(ns: Netns, addr: string, count = 3): Promise<PingResult> {
  const deadline = String(count + 3);
  const r = await ns.exec('ping', ['-n', '-c', String(count), '-i', '0.2', '-W', '2', '-w', deadline, addr], {
    allowFail: true,
    timeoutMs: (count + 6) * 1000,
  });
  const m = /(\d+) packets transmitted, (\d+) received/.exec(r.stdout);
  return { transmitted: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), output: r.stdout + r.stderr };
}

export const IPERF_PORT = 5201;
export const IPERF_SECONDS = 3;
const IPERF_READY_TIMEOUT_MS = 5_000;

export interface IperfResult {
  /** Receiver-side throughput of the TCP stream, Mbit/s. */
  readonly mbps: number;
  readonly retransmits: number | undefined;
}

/**
 * One bounded iperf3 TCP run: server bound to `serverAddr` in the server namespace (one-off),
 * client in the client namespace. Data flows client -> server, or server -> client with reverse.
 */
export async function iperf3(lab: NetnsPair, serverAddr: string, opts: { reverse?: boolean; seconds?: number } = {}): Promise<IperfResult> {
  const seconds = opts.seconds ?? IPERF_SECONDS;
  // No fixed name: each server gets its own log file, so waiting for "Server listening" can
  // never match the line an earlier run left in a shared, appended log.
  const srv = lab.server.spawn('iperf3', ['-s', '-1', '--forceflush', '-B', serverAddr, '-p', String(IPERF_PORT)]);
  try {
    await waitForLog(srv, /Server listening/, { timeoutMs: IPERF_READY_TIMEOUT_MS });
    const args = ['-c', serverAddr, '-p', String(IPERF_PORT), '-t', String(seconds), '-J', ...(opts.reverse === true ? ['-R'] : [])];
    const r = await lab.client.exec('iperf3', args, { timeoutMs: (seconds + 15) * 1000 });
    return parseIperfJson(r.stdout);
  } finally {
    await srv.stop();
  }
}

/** Extracts the receiver-side figure from `iperf3 -J` output. */
export function parseIperfJson(text: string): IperfResult {
  const j = JSON.parse(text) as {
    error?: string;
    end?: { sum_received?: { bits_per_second?: number }; sum_sent?: { retransmits?: number } };
  };
  if (j.error !== undefined) throw new Error(`iperf3: ${j.error}`);
  const bps = j.end?.sum_received?.bits_per_second;
  if (typeof bps !== 'number') throw new Error('iperf3: no end.sum_received.bits_per_second in output');
  return { mbps: bps / 1e6, retransmits: j.end?.sum_sent?.retransmits };
}
