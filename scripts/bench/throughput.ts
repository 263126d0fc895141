/**
 * One bench case: a real OpenVPN 2.6 server with the case's profile, then the stock client and
 * ovpn-ts one after the other, each through a real TUN in the lab: iperf3 TCP both directions,
 * the client's CPU seconds (all threads) over each stream, its peak RSS, and (when asked) the
 * RTT through the tunnel idle and under load next to the bare veth path's.
 *
 *   server ns: openvpn --config <profile>  <══veth══>  client ns: <client> ─ tun ─ iperf3 -c / ping
 */
import { CLIENT_KINDS, iperf3, startClient, startServer, type ClientKind, type NetnsPair, type ProfileName } from '../../test/lab/index.ts';
import { cpuSeconds, peakRssMb } from './proc-stats.ts';
import { pingAvgMs, pingUnderLoadMs } from './rtt.ts';

export interface BenchCase {
  readonly name: string;
  readonly profile: ProfileName;
  /** Client lines that choose the data cipher (the server offers it). */
  readonly clientLines: readonly string[];
  /** The throughput target ovpn-ts / stock for this case (issue 8). */
  readonly throughputTarget: number;
}

export const CASES: readonly BenchCase[] = [
  { name: 'UDP AES-256-GCM', profile: 'udp-gcm-tlscrypt', clientLines: ['data-ciphers AES-256-GCM'], throughputTarget: 1.2 },
  { name: 'UDP CHACHA20-POLY1305', profile: 'udp-gcm-tlscrypt', clientLines: ['data-ciphers CHACHA20-POLY1305'], throughputTarget: 1.0 },
  { name: 'UDP AES-256-CBC+SHA256', profile: 'udp-cbc-tlsauth', clientLines: [], throughputTarget: 1.0 },
  { name: 'TCP AES-256-GCM', profile: 'tcp', clientLines: ['data-ciphers AES-256-GCM'], throughputTarget: 1.0 },
];

export const DIRECTIONS = ['up', 'down'] as const;
export type Direction = (typeof DIRECTIONS)[number];

export interface StreamResult {
  readonly mbps: number;
  /** Client CPU seconds (utime + stime, all threads) over the stream. */
  readonly cpuS: number;
  readonly seconds: number;
}

export interface RttResult {
  readonly vethIdle: number;
  readonly tunIdle: number;
  readonly tunLoaded: number;
}

export interface ClientResult {
  readonly cipher: string;
  readonly streams: Readonly<Record<Direction, StreamResult>>;
  readonly peakRssMb: number;
  readonly rtt?: RttResult;
}

export type CaseResult = Readonly<Record<ClientKind, ClientResult>>;

/** One iperf3 run, retried once: the one-off iperf3 server of the previous run may still be exiting. */
async function stream(lab: NetnsPair, addr: string, pid: number, seconds: number, reverse: boolean): Promise<StreamResult> {
  const once = async (): Promise<StreamResult> => {
    const before = cpuSeconds(pid);
    const r = await iperf3(lab, addr, { seconds, reverse });
    return { mbps: r.mbps, cpuS: cpuSeconds(pid) - before, seconds };
  };
  try {
    return await once();
  } catch {
    await new Promise((r) => setTimeout(r, 1000));
    return once();
  }
}

/** The data cipher the client's log names (both clients print OpenVPN's "Data Channel: cipher '…'" line). */
const cipherOf = (log: string): string => /Data Channel: cipher '([^']+)'/.exec(log)?.[1] ?? '?';

export async function runCase(lab: NetnsPair, c: BenchCase, seconds: number, withRtt: boolean): Promise<CaseResult> {
  const server = await startServer(lab, c.profile);
  try {
    const config = server.clientConfig({ inline: true, extra: c.clientLines });
    const out: Partial<Record<ClientKind, ClientResult>> = {};
    for (const kind of CLIENT_KINDS) {
      const client = await startClient(lab, kind, config);
      try {
        const up = await stream(lab, server.tunAddr4, client.pid, seconds, false);
        const down = await stream(lab, server.tunAddr4, client.pid, seconds, true);
        const rtt = withRtt
          ? {
              vethIdle: await pingAvgMs(lab, lab.serverAddr4),
              tunIdle: await pingAvgMs(lab, server.tunAddr4),
              tunLoaded: await pingUnderLoadMs(lab, server.tunAddr4, server.tunAddr4, 3),
            }
          : undefined;
        out[kind] = { cipher: cipherOf(client.log()), streams: { up, down }, peakRssMb: peakRssMb(client.pid), ...(rtt === undefined ? {} : { rtt }) };
      } finally {
        await client.stop();
      }
    }
    return out as CaseResult;
  } finally {
    await server.stop();
  }
}
