/**
 * Captures control-channel byte vectors from a real OpenVPN 2.6 exchange (stock client, stock
 * server) into test/vectors/captured/*.json, for test/unit/captured.test.ts.
 *
 * No tcpdump on the lab machines, so the capture point is a tiny UDP relay (node:dgram) inside
 * the lab's client namespace: the stock client talks to the relay on 127.0.0.1, the relay
 * forwards to the server's veth address and logs every datagram (direction + hex) in order.
 *
 *   ovts-c-<id>: openvpn client ──▶ 127.0.0.1:<relay> ──relay (logs)──▶ ovts-s-<id>: openvpn server
 *
 * Test tooling, run by hand (root):  node dist/test/netns/helpers/capture-vectors.js [outDir]
 * Keys and certificates are the lab's throwaway ones, generated for the run; the static keys are
 * saved in the vectors so the unit test can unwrap the packets (they protect nothing).
 * Never: run outside the lab namespaces, or keep a process running (the lab stops them by PID).
 */
import { execFileSync } from 'node:child_process';
import { Opcode } from '../../../src/tls/packet.ts';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  getPki,
  startServer,
  startStockClient,
  waitForLog,
  withLab,
  type NetnsPair,
  type ProfileName,
} from '../../lab/index.ts';

const RELAY_PORT = 11940;
/** Datagrams kept per direction (the handshake; data packets are skipped). */
const KEEP_PER_DIRECTION = 6;

const RELAY_JS = `
const fs = require('fs'), dgram = require('dgram');
const [lp, host, port, out] = process.argv.slice(1);
const local = dgram.createSocket('udp4');
const up = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
let peer;
const log = (dir, m) => fs.appendFileSync(out, JSON.stringify({ dir, t: Date.now(), hex: m.toString('hex') }) + '\\n');
local.on('message', (m, r) => { peer = r; log('c2s', m); up.send(m, Number(port), host); });
up.on('message', (m) => { log('s2c', m); if (peer) local.send(m, peer.port, peer.address); });
local.bind(Number(lp), '127.0.0.1', () => console.log('listening'));
setTimeout(() => process.exit(0), 60000);
`;

interface Logged {
  readonly dir: 'c2s' | 's2c';
  readonly t: number;
  readonly hex: string;
}

function stockVersion(): string {
  const out = execFileSync('openvpn', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ?? '';
  return out.replace(/\s+\[.*$/, '').trim();
}

async function captureOne(lab: NetnsPair, profile: ProfileName, relayPort: number): Promise<Record<string, unknown>> {
  const pki = await getPki();
  const server = await startServer(lab, profile);
  const logFile = join(lab.dir, `relay-${profile}.jsonl`);
  writeFileSync(logFile, '');
  const relay = lab.client.spawn(process.execPath, ['-e', RELAY_JS, String(relayPort), server.remoteAddr, String(server.port), logFile], { name: `relay-${profile}` });
  await waitForLog(relay, /^listening$/m, { timeoutMs: 10_000 });
  const config = server
    .clientConfig({ inline: true })
    .replace(`remote ${server.remoteAddr} ${server.port}`, `remote 127.0.0.1 ${relayPort}`)
    .replace('verb 3', 'verb 4');
  const client = await startStockClient(lab, config);
  await client.stop();
  await relay.stop();
  const all = readFileSync(logFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Logged);
  const isControl = (p: Logged): boolean => {
    const op = parseInt(p.hex.slice(0, 2), 16) >> 3;
    return op !== Opcode.DATA_V1 && op !== Opcode.DATA_V2;
  };
  const pick = (dir: Logged['dir']): string[] => all.filter((p) => p.dir === dir && isControl(p)).slice(0, KEEP_PER_DIRECTION).map((p) => p.hex);
  const push = /PUSH: Received control message: '(PUSH_REPLY[^']*)'/.exec(client.log());
  const wrap = server.profile.wrap;
  const keyFile = wrap === 'tls-crypt-v2' ? pki.tlsCryptV2Client : pki.taKey;
  const first = all[0];
  return {
    description:
      `Control-channel datagrams of a real OpenVPN exchange (stock client and stock server), profile ${profile} of the ` +
      'ovpn-ts lab, captured by a UDP relay in the client namespace; plus the PUSH_REPLY the client logged. ' +
      'THROWAWAY LAB KEYS: the key below was generated for this capture and protects nothing.',
    command: 'node dist/test/netns/helpers/capture-vectors.js  (lab: startServer(profile); stock `openvpn --config client.ovpn` with remote 127.0.0.1 via the relay)',
    openvpnVersion: stockVersion(),
    profile,
    wrap,
    auth: profile === 'udp-cbc-tlsauth' ? 'SHA256' : 'SHA1',
    keyDirectionClient: wrap === 'tls-auth' ? 1 : null,
    key: readFileSync(keyFile, 'utf8'),
    capturedAtUnix: Math.floor((first?.t ?? Date.now()) / 1000),
    clientToServer: pick('c2s'),
    serverToClient: pick('s2c'),
    pushReply: push?.[1] ?? null,
  };
}

async function main(): Promise<void> {
  const outDir = resolve(process.argv[2] ?? 'test/vectors/captured');
  mkdirSync(outDir, { recursive: true });
  const profiles: [ProfileName, string][] = [
    ['udp-cbc-tlsauth', 'tls-auth.json'],
    ['udp-gcm-tlscrypt', 'tls-crypt.json'],
    ['tls-crypt-v2', 'tls-crypt-v2.json'],
  ];
  await withLab(async (lab) => {
    let port = RELAY_PORT;
    for (const [profile, file] of profiles) {
      const v = await captureOne(lab, profile, port++);
      writeFileSync(join(outDir, file), `${JSON.stringify(v, null, 2)}\n`);
      process.stdout.write(`${file}: ${(v['clientToServer'] as string[]).length} + ${(v['serverToClient'] as string[]).length} packets\n`);
    }
  });
}

await main();
