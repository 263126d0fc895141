/**
 * Connect time: `node -e 0`, the stock OpenVPN 2.6 client and ovpn-ts (the shipped bundle),
 * interleaved in one lab run, spawn to "Initialization Sequence Completed" (scripts/bench/connect.ts).
 * Prints min and median side by side and (ovpn-ts − node) / stock against the target (≤ 2x);
 * no pass/fail exit code.
 *
 * Usage (root, after the build):  node dist/scripts/connect-time.js [N=5]
 * OVTS_CLI=dist/src/cli/main.js measures the unbundled modules instead.
 * Never runs anything outside the lab namespaces; stops clients by PID.
 */
import { withLab } from '../test/lab/index.ts';
import { formatConnect, measureConnect } from './bench/connect.ts';

const DEFAULT_RUNS = 5;

const runs = Number(process.argv[2] ?? DEFAULT_RUNS);
if (!Number.isInteger(runs) || runs < 1 || runs > 50) throw new Error(`runs must be 1..50, got ${process.argv[2] ?? ''}`);
await withLab(async (lab) => {
  const times = await measureConnect(lab, runs);
  process.stdout.write(`${formatConnect(times).join('\n')}\n`);
});
