/**
 * Connect time, ovpn-ts next to the stock OpenVPN 2.6 client: from process spawn to the
 * "Initialization Sequence Completed" line, both with `dev null`, against the same real server
 * (lab profile udp-gcm-tlscrypt) in the same run. Prints min and median side by side; no
 * pass/fail (the target is ovpn-ts within 2x of the stock client).
 *
 *   lab: ovts-s-<id> openvpn server  <──veth──>  ovts-c-<id>: for i in 1..N, alternating:
 *        spawn `openvpn --config c.ovpn`          ──▶ wait for the line, stop (SIGTERM)
 *        spawn `node dist/src/cli/main.js --config c`  ──▶ wait for the line, stop (SIGTERM)
 *
 * Usage (root, after the build):  node dist/scripts/connect-time.js [N=5]
 * Never runs anything outside the lab namespaces; stops clients by PID.
 */
import { INIT_COMPLETE, startClient, startServer, withLab, type ClientKind, type NetnsPair } from '../test/lab/index.ts';

const DEFAULT_RUNS = 5;
/** Pause between runs so the server has forgotten the previous client's packets. */
const SETTLE_MS = 300;
/** The stock client opens nothing for dev null but still sets the pushed MTU/addresses unless told not to. */
const DEV_NULL = '\ndev null\nifconfig-noexec\nroute-noexec\n';

/** Log poll period: the lab's waitForLog polls every 100 ms, too coarse for this measurement. */
const POLL_MS = 2;
/** Bound on one connection. */
const CONNECT_BOUND_MS = 20_000;

interface Timing {
  /** Spawn to the first log line (the banner): process and module start-up. */
  readonly firstLine: number;
  /** Spawn to "Initialization Sequence Completed". */
  readonly init: number;
}

async function timeOne(lab: NetnsPair, kind: ClientKind, config: string): Promise<Timing> {
  const started = process.hrtime.bigint();
  const client = await startClient(lab, kind, config, { waitFor: null });
  let firstLine: number | undefined;
  try {
    for (;;) {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const log = client.log();
      if (firstLine === undefined && log !== '') firstLine = ms;
      if (INIT_COMPLETE.test(log)) return { firstLine: firstLine ?? ms, init: ms };
      if (client.process.exitStatus() !== undefined || ms > CONNECT_BOUND_MS) {
        throw new Error(`${kind} did not connect (${client.process.exitStatus() ?? 'timeout'}):\n${client.log().slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    await client.stop();
  }
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

const fmt = (ms: number): string => `${ms.toFixed(0).padStart(7)} ms`;

async function main(): Promise<void> {
  const runs = Number(process.argv[2] ?? DEFAULT_RUNS);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new Error(`runs must be 1..50, got ${process.argv[2] ?? ''}`);
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt', { extraServerLines: ['duplicate-cn'] });
    const config = server.clientConfig({ inline: true }) + DEV_NULL;
    const times: Record<ClientKind, Timing[]> = { stock: [], 'ovpn-ts': [] };
    for (let i = 0; i < runs; i++) {
      for (const kind of ['stock', 'ovpn-ts'] as const) {
        times[kind].push(await timeOne(lab, kind, config));
        await new Promise((r) => setTimeout(r, SETTLE_MS));
      }
    }
    const stock = times.stock.map((t) => t.init);
    const ours = times['ovpn-ts'].map((t) => t.init);
    process.stdout.write(`connect time, spawn to "Initialization Sequence Completed", dev null, udp-gcm-tlscrypt, ${runs} runs each\n`);
    process.stdout.write(`${'client'.padEnd(16)}${'min'.padStart(10)}${'median'.padStart(10)}${'1st line'.padStart(10)}   all\n`);
    for (const [name, kind] of [['openvpn (stock)', 'stock'], ['ovpn-ts', 'ovpn-ts']] as const) {
      const xs = times[kind].map((t) => t.init);
      const first = median(times[kind].map((t) => t.firstLine));
      process.stdout.write(`${name.padEnd(16)}${fmt(Math.min(...xs))}${fmt(median(xs))}${fmt(first)}   ${xs.map((x) => x.toFixed(0)).join(' ')}\n`);
    }
    process.stdout.write(`ratio ovpn-ts / stock (median): ${(median(ours) / median(stock)).toFixed(2)}x\n`);
    process.stdout.write('("1st line" = median spawn to the first log line: process and module start-up before any packet)\n');
  });
}

await main();
