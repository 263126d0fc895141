import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { MemoryTun } from '../../../src/tun/memory-tun.ts';
import { tunRequestName } from '../../../src/tun/device.ts';
import { udpPacket, parsePacket, icmpEchoRequest } from './packets.ts';
import { TUN_LOCAL, TUN_PEER, UDP_PORT, tunScenario, type TunScenarioResult } from './tun.contract.ts';
import { runInNetns } from './netns.ts';

function check(r: TunScenarioResult): void {
  assert.equal(r.emptyRead, 0);
  assert.equal(r.woke, true);
  assert.equal(r.drained.length, 1);
  assert.deepEqual(
    { proto: r.drained[0]?.proto, dst: r.drained[0]?.dst, dport: r.drained[0]?.dport, payload: r.drained[0]?.payload },
    { proto: 17, dst: TUN_PEER, dport: UDP_PORT, payload: 'hello from the OS' },
  );
  assert.equal(r.readAfterDrain, 0);
  assert.equal(r.written, r.echoRequestLength);
  assert.equal(r.firedAfterClose, false);
  assert.equal(r.readAfterClose, 0);
}

test('TunDevice contract: MemoryTun', async () => {
  const tun = new MemoryTun({ mtu: 1400 });
  const r = await tunScenario(
    {
      tun,
      emitUdp: async (payload) => tun.inject(udpPacket(TUN_LOCAL, TUN_PEER, 40000, UDP_PORT, new TextEncoder().encode(payload))),
    },
    false,
  );
  check(r);
  assert.deepEqual(tun.written, [icmpEchoRequest(TUN_PEER, TUN_LOCAL, 0x4242, 7, new TextEncoder().encode('ovpn-ts ping'))]);
});

for (const vnet of [false, true]) {
test(`TunDevice contract: LinuxTun${vnet ? ' with IFF_VNET_HDR' : ''} in a network namespace (kernel routes UDP in, answers our ping)`, async () => {
  const runner = fileURLToPath(new URL('./tun-runner.js', import.meta.url));
  const t0 = performance.now();
  const r = JSON.parse(await runInNetns('tun', vnet ? [runner, 'vnet'] : [runner])) as TunScenarioResult;
  check(r);
  assert.match(r.name, /^tun\d+$/);
  assert.equal(r.replies.length, 1);
  assert.deepEqual(r.replies[0], {
    ...parsePacket(icmpEchoRequest(TUN_LOCAL, TUN_PEER, 0x4242, 7, new TextEncoder().encode('ovpn-ts ping'))),
    icmpType: 0,
  });
  assert.ok(performance.now() - t0 < 10_000, 'the runner process exits promptly after close()');
});
}

test('tunRequestName: dev / dev-type resolution', () => {
  assert.deepEqual(tunRequestName('tun'), { name: '' });
  assert.deepEqual(tunRequestName('tun7'), { name: 'tun7' });
  assert.deepEqual(tunRequestName('vpn-office', 'tun'), { name: 'vpn-office' });
  assert.match(JSON.stringify(tunRequestName('tap0')), /dev-type tap is not supported/);
  assert.match(JSON.stringify(tunRequestName('vpn0')), /add 'dev-type tun'/);
  assert.match(JSON.stringify(tunRequestName('a-name-that-is-too-long', 'tun')), /not a valid interface name/);
});
