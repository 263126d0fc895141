/**
 * Tier 4: forged and replayed data-channel packets injected from the server namespace toward
 * ovpn-ts's UDP port are dropped and counted, and the tunnel keeps working.
 *
 *   server ns: AF_PACKET (ETH_P_ALL) on veth-s captures one real P_DATA_V2 packet server -> client (during a ping)
 *              raw IPv4 socket resends it 3x (replay) and sends 20 forged packets (its header,
 *              then random bytes), source 198.18.X.1:<server port> so the client accepts the source
 *   client:    drops them (REPLAY / AUTH counters, logged at exit at --verb 3); ping still passes
 *
 * The helper is a short python3 script (test tooling only; raw sockets need root, in the lab ns).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { ping, startClient, startServer, VETH_SERVER, waitForLog, withLab } from '../lab/index.ts';

const REPLAYS = 3;
/** The injector's start (python3 and its capture socket). */
const READY_TIMEOUT_MS = 10_000;
/** It gives up after 10 s without a server-to-client data packet. */
const INJECT_TIMEOUT_MS = 15_000;
const FORGED = 20;

const INJECTOR = `
import json, os, socket, struct, sys, time
iface, server_ip, port, replays, forged = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
# ETH_P_ALL: a socket bound to ETH_P_IP sees only incoming frames, not what the server sends.
cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
cap.bind((iface, 0))
cap.settimeout(8)
srv = socket.inet_aton(server_ip)
print('capturing', flush=True)
deadline = time.time() + 10
while True:
    if time.time() > deadline:
        sys.exit('no server-to-client data packet seen')
    frame = cap.recv(65535)
    ip = frame[14:]
    if frame[12:14] != bytes([8, 0]) or len(ip) < 28 or ip[9] != 17 or ip[12:16] != srv:
        continue
    ihl = (ip[0] & 15) * 4
    sport, dport = struct.unpack('!HH', ip[ihl:ihl + 4])
    payload = ip[ihl + 8:]
    if sport == port and len(payload) > 8 and payload[0] >> 3 == 9:
        client_ip = ip[16:20]
        break
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
def send(data):
    udp = struct.pack('!HHHH', port, dport, 8 + len(data), 0) + data
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, srv, client_ip)
    raw.sendto(hdr + udp, (socket.inet_ntoa(client_ip), 0))
for _ in range(replays):
    send(payload)
for _ in range(forged):
    send(payload[:4] + os.urandom(len(payload) - 4))
print(json.dumps({'client': socket.inet_ntoa(client_ip), 'port': dport, 'len': len(payload)}), flush=True)
`;

test('data injection: replayed and forged P_DATA_V2 packets are dropped, counted, and the tunnel keeps working', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true }));
    const injector = lab.server.spawn('/usr/bin/python3', ['-c', INJECTOR, VETH_SERVER, lab.serverAddr4, String(server.port), String(REPLAYS), String(FORGED)], { name: 'injector' });
    await waitForLog(injector, /^capturing$/m, { timeoutMs: READY_TIMEOUT_MS });
    const during = await ping(lab.client, server.tunAddr4, 3);
    await waitForLog(injector, /^\{.*\}$/m, { timeoutMs: INJECT_TIMEOUT_MS });
    const injected = JSON.parse(/^\{.*\}$/m.exec(readFileSync(injector.logFile, 'utf8'))?.[0] ?? '{}') as { client: string; port: number; len: number };
    assert.equal(injected.client, lab.clientAddr4);
    assert.equal(during.received, 3, during.output);
    const after = await ping(lab.client, server.tunAddr4, 3);
    assert.equal(after.received, 3, `tunnel works after injection:\n${after.output}`);
    await client.stop();
    const m = /data channel drops: (.*)/.exec(client.log());
    assert.ok(m !== null, `drop counters logged at exit:\n${client.log()}`);
    const counts = Object.fromEntries((m[1] ?? '').split(' ').map((kv) => kv.split('=')).map(([k, v]) => [k, Number(v)]));
    const replayed = (counts['REPLAY'] ?? 0) + (counts['REPLAY_OLD'] ?? 0);
    assert.equal(replayed, REPLAYS, `replays counted: ${m[1]}`);
    assert.equal(counts['AUTH'] ?? 0, FORGED, `forged packets counted as AUTH failures: ${m[1]}`);
  });
});
