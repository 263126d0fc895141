/**
 * `npm run bench` (root): the stock OpenVPN 2.6 client and ovpn-ts side by side against the same
 * real 2.6 server, one after the other, in the lab namespaces; prints every figure of issue 8
 * with its ratio and target (met / missed), never a pass/fail exit code.
 *
 *   1. connect time: node -e 0, stock, ovpn-ts; (ovpn-ts - node) / stock   (bench/connect.ts)
 *   2. per case (UDP GCM, UDP CHACHA20, UDP CBC+HMAC, TCP GCM) and direction: iperf3 Mbit/s,
 *      client CPU seconds, Mbit per CPU-second, ratios; peak RSS           (bench/throughput.ts)
 *   3. RTT through the tunnel idle and under load vs the bare veth path (UDP GCM, bench/rtt.ts)
 *   4. the client-only pipeline benchmark, when dist/scripts/bench-pipeline.js exists
 *   5. the data-channel crypto micro-benchmark (bench-crypto.ts, 1 s)
 *   --soak SECONDS: then traffic through ovpn-ts for that long, RSS growth after warm-up
 *   --soak-profile tcp: the soak over TCP instead of UDP
 *
 * Usage: node dist/scripts/bench.js [--seconds N=4] [--connect-runs N=5] [--soak SECONDS [--soak-profile tcp]]
 * About 3 minutes without --soak. Never touches the root namespace; stops processes by PID.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withLab } from '../test/lab/index.ts';
import { formatConnect, measureConnect } from './bench/connect.ts';
import { formatRss, formatRtt, formatThroughput } from './bench/report.ts';
import { PING_COUNT, PING_INTERVAL_S } from './bench/rtt.ts';
import { soak } from './bench/soak.ts';
import { CASES, runCase, type BenchCase, type CaseResult } from './bench/throughput.ts';

function flag(name: string, fallback: number, min: number, max: number): number {
  const i = process.argv.indexOf(name);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`${name} must be an integer ${min}..${max}`);
  return v;
}

const seconds = flag('--seconds', 4, 1, 60);
const connectRuns = flag('--connect-runs', 5, 1, 50);
const soakSeconds = flag('--soak', 0, 0, 7200);
const soakProfile = process.argv[process.argv.indexOf('--soak-profile') + 1] === 'tcp' ? 'tcp' : 'udp-gcm-tlscrypt';
const say = (lines: readonly string[]): void => void process.stdout.write(`${lines.join('\n')}\n\n`);

say([`ovpn-ts bench: stock openvpn 2.6 client vs ovpn-ts (${process.env['OVTS_CLI'] ?? 'bin/ovpn-ts'}), Node ${process.versions.node}, ${new Date().toISOString()}`]);
await withLab(async (lab) => {
  say(formatConnect(await measureConnect(lab, connectRuns)));
  const rows: { c: BenchCase; r: CaseResult }[] = [];
  for (const [i, c] of CASES.entries()) {
    process.stderr.write(`bench: ${c.name} ...\n`);
    rows.push({ c, r: await runCase(lab, c, seconds, i === 0) });
  }
  say(formatThroughput(rows, seconds));
  say(formatRss(rows));
  const first = rows[0];
  if (first !== undefined) say(formatRtt(first.c, first.r, PING_COUNT, PING_INTERVAL_S));
  if (soakSeconds > 0) say(await soak(lab, soakSeconds, soakProfile));
});

const pipeline = fileURLToPath(new URL('./bench-pipeline.js', import.meta.url));
if (existsSync(pipeline)) {
  process.stdout.write('client-only pipeline (dist/scripts/bench-pipeline.js):\n');
  spawnSync(process.execPath, [pipeline], { stdio: 'inherit', timeout: 120_000 });
  process.stdout.write('\n');
} else {
  say(['client-only pipeline: dist/scripts/bench-pipeline.js is not there (not written yet), skipped']);
}
process.stdout.write('data-channel crypto (scripts/bench-crypto.ts, 1 s, 1400-byte packets):\n');
spawnSync(process.execPath, [fileURLToPath(new URL('./bench-crypto.js', import.meta.url)), '1', '1400'], { stdio: 'inherit', timeout: 60_000 });
