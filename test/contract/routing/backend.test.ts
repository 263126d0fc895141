import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { MemoryNetBackend } from '../../../src/routing/memory-backend.ts';
import { backendScenario, type BackendScenarioResult } from './backend.contract.ts';
import { runInNetns } from '../tun/netns.ts';

function check(r: BackendScenarioResult, dev: string): void {
  assert.deepEqual(r.during.link, { up: true, mtu: 1400 });
  const routes = r.during.routes.map((x) => `${x.dst}/${x.prefixLen} ${x.gateway ?? '-'} ${x.dev} ${x.metric ?? '-'}`).sort();
  assert.deepEqual(routes, [
    `0.0.0.0/1 - ${dev} 7`,
    `10.99.0.0/16 10.77.0.1 ${dev} -`,
    `2001:db8:77::/48 - ${dev} 1024`,
  ]);
  assert.deepEqual(
    r.during.addrs.map((a) => `${a.local}/${a.prefixLen}`).sort(),
    ['10.77.0.2/24', 'fd77::2/64'],
  );
  assert.equal(r.during.best4.dev, dev);
  assert.equal(r.during.best4.gateway, '10.77.0.1');
  assert.equal(r.during.best6.dev, dev);
  assert.equal(r.during.best6.gateway, undefined);
  assert.deepEqual(r.duplicate, {
    code: 'ROUTE_APPLY',
    errno: 'EEXIST',
    message: `route 10.99.0.0/16 via 10.77.0.1 dev ${dev} already exists`,
  });
  assert.equal(r.missingDelete.errno, 'ESRCH');
  assert.equal(r.missingDelete.message, `route 10.123.0.0/16 dev ${dev} does not exist`);
  assert.deepEqual(r.concurrentErrors, [], 'look-ups beside the undo');
  assert.deepEqual(r.undo, { undone: 6, failures: [] });
  assert.deepEqual(r.after.routes, r.before.routes);
  assert.deepEqual(r.after.addrs, r.before.addrs);
  assert.deepEqual(r.after.link, r.linkBefore);
}

test('NetBackend contract: memory backend', async () => {
  const net = new MemoryNetBackend({ links: [{ name: 'lo', mtu: 65536 }] });
  net.addLink('tun0', 1500);
  check(await backendScenario(net, 'tun0'), 'tun0');
});

test('NetBackend contract: rtnetlink backend in a fresh network namespace, ip -j state restored', async () => {
  const runner = fileURLToPath(new URL('./backend-runner.js', import.meta.url));
  const out = JSON.parse(await runInNetns('rt', [runner])) as {
    dev: string;
    result: BackendScenarioResult;
    ipBefore: unknown;
    ipAfter: unknown;
  };
  check(out.result, out.dev);
  assert.deepEqual(out.ipAfter, out.ipBefore);
});
