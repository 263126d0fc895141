/**
 * Tier 4: the session limits against the real OpenVPN 2.6 server.
 *   reneg-bytes / reneg-pkts: a stream of large pings crosses the limit several times; each time
 *     a soft reset (key id 1, 2, ...) completes and no ping is lost;
 *   inactive N: with no tunnel traffic the client leaves after N s (exit 0, OpenVPN's message),
 *     although keepalive pings keep flowing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startClient, startServer, withLab } from '../lab/index.ts';
import { describeRun, runUntilExit } from './helpers/run-client.ts';

const PINGS = 40;
const PING_BYTES = 1000;

for (const [directive, value] of [['reneg-bytes', 24_000], ['reneg-pkts', 24]] as const) {
  test(`${directive} ${value}: renegotiations while 1000-byte pings flow, none lost`, { timeout: 90_000 }, async () => {
    await withLab(async (lab) => {
      const server = await startServer(lab, 'udp-gcm-tlscrypt');
      const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: [`${directive} ${value}`, 'verb 3'] }));
      const r = await lab.client.exec('ping', ['-n', '-c', String(PINGS), '-i', '0.2', '-s', String(PING_BYTES), '-W', '2', '-w', String(PINGS), server.tunAddr4], { allowFail: true, timeoutMs: (PINGS + 10) * 1000 });
      const received = Number(/(\d+) received/.exec(r.stdout)?.[1] ?? 0);
      const log = client.log();
      const resets = log.match(/soft reset: reneg-bytes \/ reneg-pkts reached/g)?.length ?? 0;
      const completed = log.match(/renegotiation complete/g)?.length ?? 0;
      await client.stop();
      // 40 pings of ~1060 bytes each way: ~85 kB and 80 packets, so at least 3 limits crossed.
      assert.ok(resets >= 3, `soft resets: ${resets}\n${log}`);
      assert.ok(completed >= resets - 1, `renegotiations completed: ${completed} of ${resets}`);
      assert.equal(received, PINGS, `no ping lost across renegotiations:\n${r.stdout}`);
      assert.doesNotMatch(server.log(), /AUTH: Received control message: AUTH_FAILED|TLS Error/, 'the server saw clean soft resets');
    });
  });
}

test('inactive 3: no tunnel traffic ends the session after 3 s with exit 0, keepalive pings notwithstanding', { timeout: 60_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const r = await runUntilExit(lab, server.clientConfig({ inline: true, extra: ['inactive 3', 'ping 1', 'verb 3'] }), 30_000);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.log, /Initialization Sequence Completed/);
    assert.match(r.log, /Inactivity timeout \(--inactive\), exiting/);
    assert.match(r.log, /SIGTERM\[soft,inactive\] received, process exiting/);
  });
});
