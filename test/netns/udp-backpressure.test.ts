/**
 * Tier 4: ovpn-ts's data path when the uplink is slower than the tunnel. The client namespace's
 * veth is rate limited (tc tbf), a ping flood goes through the tunnel, so ovpn-ts's UDP sends
 * meet a full socket buffer (EAGAIN) and node:dgram queues them. The real OpenVPN 2.6 server
 * must see every datagram it gets intact and once: no "bad packet ID (may be a replay)", no
 * "Authenticate/Decrypt packet error". Afterwards the tunnel still pings. Needs root.
 *
 *   client ns: ping -f ─▶ tun ─▶ ovpn-ts seal (one tx buffer) ─▶ dgram ─▶ tbf 1mbit ─▶ veth-c
 *   server ns: veth-s ─▶ openvpn (the lab's verb 3 logs replay and decrypt errors in server.log)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ping, qdiscStats, rateLimit, startClient, startServer, udpCounters, VETH_CLIENT, withLab } from '../lab/index.ts';

/** Echo requests sent without waiting for replies, then one per reply (ping -l, -f). */
const PRELOAD = 500;
const FLOOD_COUNT = 3000;
const FLOOD_DEADLINE_S = 15;
/** Bound on the queues on the way (dgram, socket, tbf) draining after the flood. */
const RECOVER_TIMEOUT_MS = 20_000;
const SERVER_ERRORS = /may be a replay|Authenticate\/Decrypt packet error|replay-window backtrack/gi;

test('UDP backpressure: a ping flood through a 1 mbit uplink reaches the server with no replays or decrypt errors; the tunnel still pings', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true }));
    await rateLimit(lab.client, VETH_CLIENT, { rate: '1mbit', burst: '32kbit', latency: '400ms' });
    const before = await udpCounters(lab.client);

    const flood = await lab.client.exec(
      'ping',
      ['-n', '-q', '-f', '-l', String(PRELOAD), '-c', String(FLOOD_COUNT), '-w', String(FLOOD_DEADLINE_S), server.tunAddr4],
      { allowFail: true, timeoutMs: (FLOOD_DEADLINE_S + 10) * 1000 },
    );
    const after = await udpCounters(lab.client);
    const qdisc = await qdiscStats(lab.client, VETH_CLIENT);
    const story = `ping: ${flood.stdout.trim().split('\n').slice(-2).join(' / ')}; tbf ${JSON.stringify(qdisc)}; client SndbufErrors +${(after['SndbufErrors'] ?? 0) - (before['SndbufErrors'] ?? 0)}`;
    console.log(story);
    // The test proves something only if ovpn-ts's socket really met a full send buffer.
    assert.ok((after['SndbufErrors'] ?? 0) > (before['SndbufErrors'] ?? 0), `no EAGAIN on the client's UDP socket: ${story}`);

    // Recovery: the backlog drains, then the tunnel answers pings again.
    for (const deadline = Date.now() + RECOVER_TIMEOUT_MS; Date.now() < deadline; ) {
      if ((await ping(lab.client, server.tunAddr4, 1)).received === 1) break;
    }
    const pings = await ping(lab.client, server.tunAddr4, 3);
    assert.equal(pings.received, 3, `the tunnel does not ping after the flood:\n${pings.output}`);

    const errors = server.log().match(SERVER_ERRORS) ?? [];
    assert.deepEqual(errors, [], `the server saw replayed or corrupted data packets (${errors.length} lines): ${story}`);
    assert.match(server.log(), /Initialization Sequence Completed/);
    await client.stop();
  });
});
