import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OsError } from '../../../src/base/errors.ts';
import { errnoOf } from '../../../src/routing/backend.ts';
import { MemoryNetBackend } from '../../../src/routing/memory-backend.ts';
import { NetJournal, applyOps, repair } from '../../../src/routing/apply.ts';
import { planNetwork } from '../../../src/routing/plan.ts';

function world(): MemoryNetBackend {
  const net = new MemoryNetBackend({
    links: [{ name: 'eth0' }],
    addresses: [{ dev: 'eth0', family: 4, local: '192.168.1.10', prefixLen: 24 }],
    routes: [
      { family: 4, dst: '192.168.1.0', prefixLen: 24, dev: 'eth0' },
      { family: 4, dst: '0.0.0.0', prefixLen: 0, gateway: '192.168.1.1', dev: 'eth0' },
    ],
  });
  net.addLink('tun0');
  return net;
}

const plan = planNetwork({
  dev: 'tun0',
  mtu: 1400,
  topology: 'subnet',
  ifconfig: { local: '10.8.0.2', remoteNetmask: '255.255.255.0' },
  routeGateway: '10.8.0.1',
  redirectGateway: { def1: true, bypassDhcp: false, local: false, autolocal: false, blockLocal: false, ipv4: true, reroute: true, ipv6: false },
  remoteHosts: ['203.0.113.5'],
  netGateway: { gateway: '192.168.1.1', dev: 'eth0' },
  routes: [{ network: '10.99.0.0', netmask: '255.255.0.0' }],
});

async function snapshot(net: MemoryNetBackend): Promise<unknown> {
  return {
    routes: await net.listRoutes(),
    addrs: [...(await net.listAddresses('eth0')), ...(await net.listAddresses('tun0'))],
    tun: await net.getLink('tun0'),
  };
}

test('apply: every op lands, undo restores the exact state before', async () => {
  const net = world();
  const before = await snapshot(net);
  const journal = await applyOps(net, 'tun0', plan.ops);
  assert.equal(journal.entries.length, plan.ops.length);
  assert.deepEqual(await net.getLink('tun0'), { name: 'tun0', index: 2, up: true, mtu: 1400 });
  assert.equal((await net.bestRoute('8.8.8.8')).dev, 'tun0');
  assert.equal((await net.bestRoute('203.0.113.5')).gateway, '192.168.1.1');
  const report = await journal.undo(net);
  assert.deepEqual(report, { undone: plan.ops.length, failures: [] });
  assert.deepEqual(await snapshot(net), before);
});

for (let n = 1; n <= plan.ops.length; n++) {
  test(`apply: failure on op ${n} reverts exactly the ${n - 1} done ops and throws`, async () => {
    const net = world();
    const before = await snapshot(net);
    net.failOn(n, 'EPERM');
    await assert.rejects(applyOps(net, 'tun0', plan.ops), (err: unknown) => {
      assert.ok(err instanceof OsError);
      assert.equal(errnoOf(err), 'EPERM');
      assert.match(err.message, new RegExp(`permission denied .*\\(${n - 1} earlier change\\(s\\) reverted\\)`));
      return true;
    });
    // n ops attempted, then n-1 reverts, nothing else.
    assert.equal(net.log.length, n + (n - 1));
    assert.deepEqual(await snapshot(net), before);
  });
}

test('apply: an existing route is reported by name, never replaced', async () => {
  const net = world();
  await net.addRoute({ family: 4, dst: '10.99.0.0', prefixLen: 16, gateway: '192.168.1.1' });
  await assert.rejects(applyOps(net, 'tun0', plan.ops), (err: unknown) => {
    assert.ok(err instanceof OsError);
    assert.equal(err.code, 'ROUTE_APPLY');
    assert.equal(errnoOf(err), 'EEXIST');
    assert.match(err.message, /^route 10\.99\.0\.0\/16 via 10\.8\.0\.1 dev tun0 already exists \(5 earlier/);
    return true;
  });
  const routes = await net.listRoutes();
  assert.deepEqual(
    routes.filter((r) => r.dst === '10.99.0.0').map((r) => r.gateway),
    ['192.168.1.1'],
  );
});

test('journal: JSON round trip, then repair undoes a killed run and skips what is already gone', async () => {
  const net = world();
  const before = await snapshot(net);
  const journal = await applyOps(net, 'tun0', plan.ops);
  const saved = JSON.parse(JSON.stringify(journal));
  // Something else already removed one of our routes before the repair.
  await net.delRoute({ family: 4, dst: '0.0.0.0', prefixLen: 1, dev: 'tun0' });
  const revived = NetJournal.fromJSON(saved);
  assert.equal(revived.dev, 'tun0');
  assert.deepEqual(revived.entries, journal.entries);
  const report = await repair(revived, net);
  assert.deepEqual(report.failures, []);
  assert.equal(report.undone, plan.ops.length - 1);
  assert.deepEqual(await snapshot(net), before);
});

test('journal: fromJSON rejects garbage and other versions', () => {
  assert.throws(() => NetJournal.fromJSON({ version: 2, dev: 'tun0', entries: [] }), /another version/);
  assert.throws(() => NetJournal.fromJSON({ version: 1, dev: 'tun0', entries: [{ done: { op: 'x' } }] }), /malformed/);
  assert.throws(() => NetJournal.fromJSON(null), OsError);
});

test('undo: failures are reported, the rest still reverted', async () => {
  const net = world();
  const journal = await applyOps(net, 'tun0', plan.ops);
  net.failOn(2, 'EBUSY');
  const report = await journal.undo(net);
  assert.equal(report.undone, plan.ops.length - 1);
  assert.equal(report.failures.length, 1);
  assert.match(report.failures[0]?.error.message ?? '', /failed \(EBUSY\)/);
  // what failed stays in the journal: saved, the next start retries exactly that
  const left = NetJournal.fromJSON(JSON.parse(JSON.stringify(journal.toJSON())));
  assert.deepEqual(left.entries.map((e) => e.undo), [report.failures[0]?.op]);
  const retry = await left.undo(net);
  assert.deepEqual(retry, { undone: 1, failures: [] });
  assert.deepEqual(left.entries, []);
});
