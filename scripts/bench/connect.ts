/**
 * Connect time, ovpn-ts next to the stock OpenVPN 2.6 client and a bare Node start, in one lab
 * and one run (the machine's noise hits all three alike): from process spawn to the
 * "Initialization Sequence Completed" line, both clients with `dev null`, against the same real
 * server (profile udp-gcm-tlscrypt, `duplicate-cn`). Used by scripts/connect-time.ts and
 * scripts/bench.ts.
 *
 *   for i in 1..N:  spawn node -e 0                       ──▶ exit            (Node's own start)
 *                   spawn openvpn --config c.ovpn         ──▶ the line, SIGTERM
 *                   spawn node dist/bin/ovpn-ts.js --config c ──▶ the line, SIGTERM
 *
 * `node -e 0` runs through the same private-mount wrapper as ovpn-ts (the lab's), so the ratio
 * (ovpn-ts − node) / stock compares what ovpn-ts itself adds with what the stock client takes.
 * Never runs anything outside the lab namespaces; stops clients by PID.
 */
import { INIT_COMPLETE, labResolvConf, privateResolvConfWrapper, startClient, startServer, type ClientKind, type NetnsPair } from '../../test/lab/index.ts';

/** Pause between runs so the server has forgotten the previous client's packets. */
const SETTLE_MS = 300;
/** The stock client opens nothing for dev null but still sets the pushed MTU/addresses unless told not to. */
const DEV_NULL = '\ndev null\nifconfig-noexec\nroute-noexec\n';
/** Log poll period: the lab's waitForLog polls every 100 ms, too coarse for this measurement. */
const POLL_MS = 2;
/** Bound on one connection. */
const CONNECT_BOUND_MS = 20_000;

export interface Timing {
  /** Spawn to the first log line (the banner): process and module start-up. */
  readonly firstLine: number;
  /** Spawn to "Initialization Sequence Completed". */
  readonly init: number;
}

export interface ConnectTimes {
  readonly runs: number;
  /** Spawn to exit of `node -e 0`, ms. */
  readonly node: readonly number[];
  readonly stock: readonly Timing[];
  readonly ours: readonly Timing[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const elapsedMs = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e6;

async function timeClient(lab: NetnsPair, kind: ClientKind, config: string): Promise<Timing> {
  const started = process.hrtime.bigint();
  const client = await startClient(lab, kind, config, { waitFor: null });
  let firstLine: number | undefined;
  try {
    for (;;) {
      const ms = elapsedMs(started);
      const log = client.log();
      if (firstLine === undefined && log !== '') firstLine = ms;
      if (INIT_COMPLETE.test(log)) return { firstLine: firstLine ?? ms, init: ms };
      if (client.process.exitStatus() !== undefined || ms > CONNECT_BOUND_MS) {
        throw new Error(`${kind} did not connect (${client.process.exitStatus() ?? 'timeout'}):\n${client.log().slice(-2000)}`);
      }
      await sleep(POLL_MS);
    }
  } finally {
    await client.stop();
  }
}

async function timeBareNode(lab: NetnsPair): Promise<number> {
  const wrapper = privateResolvConfWrapper(labResolvConf(lab));
  const started = process.hrtime.bigint();
  const proc = lab.client.spawn(wrapper[0] ?? 'unshare', [...wrapper.slice(1), process.execPath, '-e', '0'], { name: 'node-e-0' });
  const bound = setTimeout(() => void proc.stop(), CONNECT_BOUND_MS);
  await proc.exited;
  clearTimeout(bound);
  if (proc.exitStatus() !== 'exit 0') throw new Error(`node -e 0 failed: ${proc.exitStatus() ?? '?'}`);
  return elapsedMs(started);
}

/** Runs the three, interleaved, `runs` times in the given lab (starts its own server). */
export async function measureConnect(lab: NetnsPair, runs: number): Promise<ConnectTimes> {
  const server = await startServer(lab, 'udp-gcm-tlscrypt', { extraServerLines: ['duplicate-cn'] });
  try {
    const config = server.clientConfig({ inline: true }) + DEV_NULL;
    const node: number[] = [];
    const stock: Timing[] = [];
    const ours: Timing[] = [];
    for (let i = 0; i < runs; i++) {
      node.push(await timeBareNode(lab));
      stock.push(await timeClient(lab, 'stock', config));
      await sleep(SETTLE_MS);
      ours.push(await timeClient(lab, 'ovpn-ts', config));
      await sleep(SETTLE_MS);
    }
    return { runs, node, stock, ours };
  } finally {
    await server.stop();
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/** (ovpn-ts − node -e 0) / stock on the medians: what ovpn-ts adds over Node's own start. */
export function connectRatio(t: ConnectTimes): number {
  return (median(t.ours.map((x) => x.init)) - median(t.node)) / median(t.stock.map((x) => x.init));
}

/** The connect target of issue 8: (ovpn-ts − node) ≤ 2x stock. */
export const CONNECT_TARGET = 2;

const ms = (v: number): string => `${v.toFixed(0).padStart(7)} ms`;

export function formatConnect(t: ConnectTimes): string[] {
  const rows: [string, readonly number[], number | undefined][] = [
    ['node -e 0', t.node, undefined],
    ['openvpn (stock)', t.stock.map((x) => x.init), median(t.stock.map((x) => x.firstLine))],
    ['ovpn-ts', t.ours.map((x) => x.init), median(t.ours.map((x) => x.firstLine))],
  ];
  const ratio = connectRatio(t);
  return [
    `connect time, spawn to "Initialization Sequence Completed" (node: to exit), dev null, udp-gcm-tlscrypt, ${t.runs} runs each`,
    `${'process'.padEnd(16)}${'min'.padStart(10)}${'median'.padStart(10)}${'1st line'.padStart(10)}   all`,
    ...rows.map(
      ([name, xs, first]) =>
        `${name.padEnd(16)}${ms(Math.min(...xs))}${ms(median(xs))}${first === undefined ? '         -' : ms(first)}   ${xs.map((x) => x.toFixed(0)).join(' ')}`,
    ),
    `(ovpn-ts - node) / stock, medians: ${ratio.toFixed(2)}x   target <= ${CONNECT_TARGET}x: ${ratio <= CONNECT_TARGET ? 'met' : 'missed'}`,
    '("1st line" = median spawn to the first log line: process and module start-up before any packet)',
  ];
}
