/**
 * The Link send contract under real backpressure: the UDP adapter in one lab namespace floods a
 * receiver in the other through a veth whose sending side is rate limited (tc tbf), so the
 * kernel answers EAGAIN and node:dgram queues sends. The flood comes from ONE reused buffer
 * (flood.ts). Every datagram that arrives must be intact and distinct; the rest must be
 * accounted for as whole drops (the adapter's bounded queue, the qdisc). Needs root.
 *
 *   ovts-c-<id>: udp-flood-runner send ─▶ dgram ─▶ sndbuf ─▶ tbf 1mbit ─▶ veth-c
 *                                                                          │
 *   ovts-s-<id>: udp-flood-runner recv ◀───────────────────────────────── veth-s
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { qdiscStats, rateLimit, udpCounters, VETH_CLIENT, waitForLog, withLab } from '../../lab/index.ts';
import type { FloodCounts } from './flood.ts';

const COUNT = 3000;
const RECV_PORT = 41194;
const SEND_PORT = 41195;
const READY_TIMEOUT_MS = 10_000;
/** Bound on the whole flood: about 0.3 MB at 1 Mbit/s takes under 3 s; the runners stop at 60 s. */
const RUN_TIMEOUT_MS = 70_000;

interface SenderReport {
  readonly sent: number;
  readonly queueDrops: number;
  readonly sendErrors: number;
  /** Codes of the errors the link reported during the flood. */
  readonly reported: readonly string[];
  readonly acked: boolean;
}

test(`Link contract (UDP adapter through tbf 1mbit): ${COUNT} datagrams from one reused buffer arrive intact and distinct, or are dropped whole`, async () => {
  await withLab(async (lab) => {
    const runner = fileURLToPath(new URL('./udp-flood-runner.js', import.meta.url));
    await rateLimit(lab.client, VETH_CLIENT, { rate: '1mbit', burst: '32kbit', latency: '400ms' });
    const recv = lab.server.spawn(process.execPath, [runner, 'recv', lab.serverAddr4, String(RECV_PORT), lab.clientAddr4, String(SEND_PORT), String(COUNT)], { name: 'flood-recv' });
    await waitForLog(recv, /^listening$/m, { timeoutMs: READY_TIMEOUT_MS });
    const send = await lab.client.exec(process.execPath, [runner, 'send', lab.clientAddr4, String(SEND_PORT), lab.serverAddr4, String(RECV_PORT), String(COUNT)], { timeoutMs: RUN_TIMEOUT_MS });
    const sender = JSON.parse(send.stdout) as SenderReport;
    await waitForLog(recv, /^result /m, { timeoutMs: READY_TIMEOUT_MS });
    const got = JSON.parse(/^result (.*)$/m.exec(readFileSync(recv.logFile, 'utf8'))?.[1] ?? '{}') as FloodCounts;
    const qdisc = await qdiscStats(lab.client, VETH_CLIENT);
    const udp = await udpCounters(lab.client);
    const story = `sender ${JSON.stringify(sender)}, receiver ${JSON.stringify(got)}, tbf ${JSON.stringify(qdisc)}, SndbufErrors ${udp['SndbufErrors']}`;
    console.log(story);

    // The scenario is only worth something if the kernel really pushed back.
    assert.equal(qdisc.kind, 'tbf');
    assert.ok((udp['SndbufErrors'] ?? 0) > 0, `the sender never met a full socket buffer: ${story}`);
    assert.equal(sender.acked, true);
    assert.equal(sender.sendErrors, 0, story);
    // A full queue is reported once (the shell logs it), however many datagrams it drops.
    assert.deepEqual(sender.reported, sender.queueDrops > 0 ? ['SOCKET'] : [], story);
    assert.equal(got.corrupt, 0, `datagrams altered on the way (a reused buffer sent after it was overwritten?): ${story}`);
    assert.equal(got.duplicate, 0, `datagrams that arrived twice: ${story}`);
    assert.ok(got.intact > 0, story);
    // Every datagram arrived or was dropped whole where it is counted. The qdisc's drops may
    // include END markers, so they bound the flood's share from above.
    assert.ok(got.intact + sender.queueDrops <= COUNT, story);
    assert.ok(got.intact + sender.queueDrops + qdisc.drops >= COUNT, `datagrams lost without a count: ${story}`);
  });
});
