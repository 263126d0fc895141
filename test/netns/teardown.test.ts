/**
 * Tier 4: everything ovpn-ts adds to the client namespace (tun device, addresses, pushed routes,
 * redirect-gateway def1 with its bypass route) is gone after it exits: `ip -j addr`, `ip -j link`
 * and `ip -j route` (v4, v6) equal what they were before connecting. Exits by SIGTERM, SIGINT, a
 * fatal error (ping-exit while the server is silent), and SIGKILL followed by a second run that must
 * repair what the killed one left (its journal in /run/ovpn-ts). Needs root; lab namespaces only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientExited, networkSettled, networkSnapshot, startClient, startServer, withLab, type LabClient, type NetnsPair } from '../lab/index.ts';

/** Bound on a client's exit after a signal or the server's death (ping-exit 3 + slack). */
const EXIT_TIMEOUT_MS = 15_000;





async function setUp(lab: NetnsPair, extra: readonly string[] = []): Promise<{ before: Record<string, unknown>; start: () => Promise<LabClient>; freezeServer: () => void }> {
  // A default route as on a real host, so redirect-gateway adds a bypass route outside the tun.
  await lab.client.exec('ip', ['route', 'add', 'default', 'via', lab.serverAddr4]);
  const server = await startServer(lab, 'udp-gcm-tlscrypt', { extraServerLines: ['push "redirect-gateway def1"'] });
  await networkSettled(lab);
  const before = await networkSnapshot(lab);
  const config = server.clientConfig({ inline: true, extra });
  return { before, start: () => startClient(lab, 'ovpn-ts', config), freezeServer: () => process.kill(server.pid, 'SIGSTOP') };
}

async function assertChanged(lab: NetnsPair, before: Record<string, unknown>): Promise<void> {
  const during = await networkSnapshot(lab);
  assert.notDeepEqual(during.route4, before.route4, 'the client added routes');
  assert.notDeepEqual(during.link, before.link, 'the client added a tun device');
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  test(`teardown: ${sig} restores addresses, links and routes`, async () => {
    await withLab(async (lab) => {
      const { before, start } = await setUp(lab);
      const client = await start();
      await assertChanged(lab, before);
      process.kill(client.pid, sig);
      await clientExited(client, EXIT_TIMEOUT_MS);
      assert.match(client.log(), new RegExp(`${sig}\\[hard,\\] received, process exiting`));
      assert.deepEqual(await networkSnapshot(lab), before);
    });
  });
}

test('teardown: a fatal error (ping-exit, the server silent) restores everything and exits non-zero', async () => {
  await withLab(async (lab) => {
    const { before, start, freezeServer } = await setUp(lab, ['ping-exit 3']);
    const client = await start();
    await assertChanged(lab, before);
    // SIGSTOP, not a kill: a dead server's port answers ICMP unreachable (a restart, not an exit).
    // The lab's cleanup SIGKILLs it, which works on a stopped process.
    freezeServer();
    await clientExited(client, EXIT_TIMEOUT_MS);
    assert.match(client.log(), /ping-exit/);
    assert.notEqual(client.process.exitStatus(), '0', 'exit status');
    assert.deepEqual(await networkSnapshot(lab), before);
  });
});

test('teardown: after SIGKILL the next start repairs what the killed run left', async () => {
  await withLab(async (lab) => {
    const { before, start } = await setUp(lab);
    const first = await start();
    await assertChanged(lab, before);
    first.process.killNow();
    await clientExited(first, EXIT_TIMEOUT_MS);
    // The kernel removed the tun device with its routes; the bypass route via veth-c is left over.
    const left = await networkSnapshot(lab);
    assert.notDeepEqual(left.route4, before.route4, 'the killed client left its bypass route');
    const second = await start();
    assert.match(second.log(), /repaired \d+ leftover network change\(s\) on tun\d+ from a previous run \(pid \d+/);
    await second.stop();
    await clientExited(second, EXIT_TIMEOUT_MS);
    assert.deepEqual(await networkSnapshot(lab), before);
  });
});
