import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { MemoryNetBackend } from '../../../src/routing/memory-backend.ts';
import { MemoryNetWatcher } from '../../../src/routing/watch.ts';
import { watchScenario, type WatchScenarioResult } from './watch.contract.ts';
import { runInNetns } from '../tun/netns.ts';

function check(r: WatchScenarioResult): void {
  assert.deepEqual(r.steps, {
    'link up': true,
    'address added': true,
    'route added': true,
    'IPv6 route added': true,
    'route deleted': true,
    'IPv6 route deleted': true,
    'address deleted': true,
  });
  assert.equal(r.afterClose, 0, 'no notification after close()');
}

test('NetWatcher contract: memory twin', async () => {
  const net = new MemoryNetBackend({ links: [{ name: 'lo', mtu: 65536 }] });
  net.addLink('tun0', 1500);
  check(await watchScenario(net, 'tun0', (l) => new MemoryNetWatcher(net, l)));
});

test('NetWatcher contract: rtnetlink notifications in a fresh network namespace', async () => {
  const runner = fileURLToPath(new URL('./watch-runner.js', import.meta.url));
  check(JSON.parse(await runInNetns('watch', [runner])) as WatchScenarioResult);
});
