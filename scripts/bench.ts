/**
 * `npm run bench`: throughput through the real tunnel, ovpn-ts beside the stock OpenVPN 2.6 client,
 * in the lab namespaces (root), server profile udp-gcm-tlscrypt: iperf3 TCP 5 s each direction.
 * Then the data-channel crypto micro-benchmark (scripts/bench-crypto.ts) for one second.
 * Prints numbers side by side; no pass/fail. Never touches the root namespace.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { iperf3, startClient, startServer, withLab, type ClientKind } from '../test/lab/index.ts';

const SECONDS = 5;

/** One iperf3 run, retried once: the one-off iperf3 server of the previous run may still be exiting. */
async function mbps(run: () => Promise<{ mbps: number }>): Promise<number> {
  try {
    return (await run()).mbps;
  } catch {
    await new Promise((r) => setTimeout(r, 1000));
    return (await run()).mbps;
  }
}

const results: Record<ClientKind, { up: number; down: number }> = { stock: { up: 0, down: 0 }, 'ovpn-ts': { up: 0, down: 0 } };
await withLab(async (lab) => {
  const server = await startServer(lab, 'udp-gcm-tlscrypt');
  for (const kind of ['stock', 'ovpn-ts'] as const) {
    const client = await startClient(lab, kind, server.clientConfig({ inline: true }));
    results[kind].up = await mbps(() => iperf3(lab, server.tunAddr4, { seconds: SECONDS }));
    results[kind].down = await mbps(() => iperf3(lab, server.tunAddr4, { seconds: SECONDS, reverse: true }));
    await client.stop();
  }
});
console.log(`iperf3 TCP ${SECONDS} s through the tunnel (AES-256-GCM, UDP), Mbit/s`);
console.log('client          client->server  server->client');
for (const kind of ['stock', 'ovpn-ts'] as const) {
  console.log(`${kind.padEnd(16)}${results[kind].up.toFixed(0).padStart(14)}  ${results[kind].down.toFixed(0).padStart(14)}`);
}
console.log('\ndata-channel crypto (scripts/bench-crypto.ts, 1 s, 1400-byte packets):');
spawnSync(process.execPath, [fileURLToPath(new URL('./bench-crypto.js', import.meta.url)), '1', '1400'], { stdio: 'inherit', timeout: 60_000 });
