/**
 * The demo (README's first command, via scripts/demo.sh): builds a throwaway lab (two network
 * namespaces, the real OpenVPN 2.6 server, a PKI generated on the spot), shows what ovpn-ts
 * knows about the client config (`--check`), brings a tunnel up, pings through it and measures
 * it with iperf3, then removes everything.
 *
 * Never touches the root namespace's interfaces, routes or resolv.conf; every step is bounded;
 * the lab is removed on success, failure and Ctrl-C. Exit 0 on success.
 *
 *   usage: node dist/scripts/demo.js [--client stock|ovpn-ts] [--profile NAME]
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CLIENT_KINDS,
  cleanupStaleNamespaces,
  getPki,
  iperf3,
  isProfileName,
  ovpnTsCliPath,
  ping,
  PROFILE_NAMES,
  startClient,
  startServer,
  withLab,
  type ClientKind,
  type LabServer,
  type NetnsPair,
} from '../test/lab/index.ts';

/** Which client carries the demo tunnel (--client stock shows the stock client alone). */
const CLIENT: ClientKind = 'ovpn-ts';
const DEFAULT_PROFILE = 'udp-gcm-tlscrypt';
const IPERF_SECONDS = 3;
const CHECK_TIMEOUT_MS = 20_000;

const say = (msg: string): void => void process.stdout.write(`${msg}\n`);
const indent = (text: string): string =>
  text
    .trimEnd()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function parseOptions(): { client: ClientKind; profile: (typeof PROFILE_NAMES)[number] } {
  const { values } = parseArgs({
    options: { client: { type: 'string', default: CLIENT }, profile: { type: 'string', default: DEFAULT_PROFILE } },
  });
  const client = values.client;
  const profile = values.profile;
  if (!(CLIENT_KINDS as readonly string[]).includes(client)) throw new Error(`--client must be one of ${CLIENT_KINDS.join(', ')}`);
  if (!isProfileName(profile)) throw new Error(`--profile must be one of ${PROFILE_NAMES.join(', ')}`);
  return { client: client as ClientKind, profile };
}

async function showCheck(lab: NetnsPair, configFile: string): Promise<void> {
  const cli = ovpnTsCliPath();
  say(`[4/7] What ovpn-ts knows before connecting: ovpn-ts --check --config ${configFile}`);
  if (!existsSync(cli)) {
    say(`    (${cli} is missing: run \`npm run build\` first)`);
    return;
  }
  const r = await lab.client.exec(process.execPath, [cli, '--check', '--config', configFile], {
    allowFail: true,
    timeoutMs: CHECK_TIMEOUT_MS,
  });
  say(indent(r.stdout + r.stderr));
  if (r.code !== 0) say(`    (--check exited with code ${r.code})`);
}

/** The control channel alone: ovpn-ts with `dev null` (no TUN device, no root needed for it). */
async function showHandshake(lab: NetnsPair, configText: string): Promise<void> {
  say('[5/7] ovpn-ts handshake with the real server (--dev null: TLS, key exchange, PUSH_REPLY, data keys)');
  const t0 = Date.now();
  const client = await startClient(lab, 'ovpn-ts', `${configText}\ndev null\n`);
  say(`    "Initialization Sequence Completed" after ${seconds(Date.now() - t0)} (from process start)`);
  const milestones = /Peer Connection Initiated|Data Channel:|Control Channel:|Initialization Sequence Completed/;
  say(indent(readFileSync(client.logFile, 'utf8').split('\n').filter((l) => milestones.test(l)).join('\n')));
  await client.stop();
}

async function showTunnel(lab: NetnsPair, server: LabServer, kind: ClientKind, configText: string, step: string): Promise<number> {
  const label = kind === 'stock' ? 'the stock OpenVPN 2.6 client, for comparison' : 'ovpn-ts (TUN device, addresses and routes over rtnetlink)';
  say(`${step} Tunnel with ${label}`);
  const t0 = Date.now();
  const client = await startClient(lab, kind, configText);
  say(`    tunnel up in ${seconds(Date.now() - t0)} (log: ${client.logFile})`);
  for (const addr of [server.tunAddr4, server.tunAddr6]) {
    const r = await ping(lab.client, addr, 3);
    const rtt = /rtt [^\n]*/.exec(r.output)?.[0] ?? '';
    say(`    ping ${addr} through the ${kind} tunnel: ${r.received}/${r.transmitted} replies ${rtt}`);
    if (r.received === 0) throw new Error(`no ping reply from ${addr} through the tunnel`);
  }
  const perf = await iperf3(lab, server.tunAddr4, { seconds: IPERF_SECONDS });
  say(`    iperf3 ${IPERF_SECONDS} s TCP client -> server: ${perf.mbps.toFixed(0)} Mbit/s`);
  await client.stop();
  return perf.mbps;
}

async function main(): Promise<number> {
  const opts = parseOptions();
  if (process.getuid?.() !== 0) {
    say('the demo creates network namespaces: run it as root (sudo bash scripts/demo.sh)');
    return 2;
  }
  say('ovpn-ts demo: a throwaway lab with a real OpenVPN 2.6 server; nothing outside it is touched.');
  const stale = await cleanupStaleNamespaces();
  if (stale.length > 0) say(`(removed namespaces left by an earlier, interrupted run: ${stale.join(' ')})`);
  let t = Date.now();
  say('[1/7] Generating a throwaway PKI (RSA and EC CAs, server and client certs, tls-auth/tls-crypt/tls-crypt-v2 keys)');
  const pki = await getPki();
  say(`    done in ${seconds(Date.now() - t)} in ${pki.dir}`);
  await withLab(async (lab) => {
    say(`[2/7] Network namespaces ${lab.server.name} (server) and ${lab.client.name} (client), joined by a veth pair`);
    say(`    server ${lab.serverAddr4} ${lab.serverAddr6}   client ${lab.clientAddr4} ${lab.clientAddr6}`);
    t = Date.now();
    const server = await startServer(lab, opts.profile, { pki });
    say(`[3/7] OpenVPN server up in ${seconds(Date.now() - t)}: profile ${opts.profile}, ${server.proto} ${server.remoteAddr} port ${server.port}`);
    say(`    config ${server.configFile}; tunnel addresses ${server.tunAddr4} ${server.tunAddr6}`);
    const configText = server.clientConfig();
    const configFile = join(lab.dir, 'client.ovpn');
    writeFileSync(configFile, configText, { mode: 0o600 });
    await showCheck(lab, configFile);
    await showHandshake(lab, configText);
    const ours = await showTunnel(lab, server, opts.client, configText, '[6/7]');
    if (opts.client === 'ovpn-ts') {
      const stock = await showTunnel(lab, server, 'stock', configText, '[7/7]');
      say(`    throughput, same lab, same run: ovpn-ts ${ours.toFixed(0)} Mbit/s, stock openvpn ${stock.toFixed(0)} Mbit/s`);
    }
    say('Removing the lab (processes by PID, then both namespaces and the temp dir)');
  });
  say('Done: the lab is gone.');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
