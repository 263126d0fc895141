/**
 * Roaming on the tunnel adapter, with its in-memory twins: the uplink eth0 disappears, wlan0
 * comes up with its own default route; serverPath() finds it (the tunnel's own routes left out)
 * and repointBypass() moves the server's bypass route there, journaled: close() and the
 * hard-kill repair remove it, and persist-tun reconnects keep the device. Then the shell driver
 * (src/shell/roaming.ts) over the same twins and virtual time: order of re-point, source, probe.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parsePushOptions, type ClientOptions } from '../../../src/config/index.ts';
import { MemoryLogger } from '../../../src/log/logger.ts';
import type { Endpoint } from '../../../src/link/link.ts';
import { TunTunnelImpl } from '../../../src/tunnel/tun-tunnel.ts';
import { MemoryTun } from '../../../src/tun/memory-tun.ts';
import type { RouteSpec } from '../../../src/routing/backend.ts';
import { MemoryNetBackend } from '../../../src/routing/memory-backend.ts';
import { FileJournalStore, MemoryJournalStore, type JournalStore } from '../../../src/routing/journal-store.ts';
import { BASE, PKI, memFs } from '../../unit/config/memfs.ts';
import { FakeClock } from '../../../src/base/clock.ts';
import { VirtualTimers } from '../../../src/link/memory-link.ts';
import { MemoryNetWatcher } from '../../../src/routing/watch.ts';
import { Roaming } from '../../../src/shell/roaming.ts';

const SERVER: Endpoint = { address: '198.51.100.7', port: 1194, family: 4 };
const PUSHED = ['ifconfig 10.8.0.2 255.255.255.0', 'topology subnet', 'route-gateway 10.8.0.1', 'redirect-gateway def1', 'cipher AES-256-GCM', 'peer-id 0'];
const WLAN = { dev: 'wlan0', gateway: '172.20.0.1', source: '172.20.0.9' };

function options(extra = ''): ClientOptions {
  return loadConfig(['--config', '/work/client.conf'], memFs({ ...PKI, '/work/client.conf': BASE + extra })).options;
}

function pushed(base: ClientOptions): ClientOptions {
  return parsePushOptions(PUSHED, base).options;
}

function hostNet(): MemoryNetBackend {
  return new MemoryNetBackend({
    links: [{ name: 'lo', mtu: 65536 }, { name: 'eth0' }],
    addresses: [{ dev: 'eth0', family: 4, local: '192.168.1.10', prefixLen: 24 }],
    routes: [
      { family: 4, dst: '192.168.1.0', prefixLen: 24, dev: 'eth0' },
      { family: 4, dst: '0.0.0.0', prefixLen: 0, gateway: '192.168.1.1', dev: 'eth0', metric: 100 },
    ],
  });
}

/** An uplink comes up as DHCP leaves it: its /24 address, the on-link route and a default route. */
async function uplinkUp(net: MemoryNetBackend, dev: string, local: string, gateway: string, metric: number): Promise<void> {
  net.addLink(dev);
  await net.setLink(dev, { up: true, mtu: 1500 });
  await net.addAddress({ dev, family: 4, local, prefixLen: 24 });
  await net.addRoute({ family: 4, dst: local.replace(/\.\d+$/, '.0'), prefixLen: 24, dev });
  await net.addRoute({ family: 4, dst: '0.0.0.0', prefixLen: 0, gateway, dev, metric });
}

/** eth0 goes away (the kernel flushes its routes); wlan0 comes up with DHCP's address and default route. */
async function roam(net: MemoryNetBackend): Promise<void> {
  net.removeLink('eth0');
  await uplinkUp(net, 'wlan0', '172.20.0.9', '172.20.0.1', 600);
}

function tunnelOf(o: ClientOptions, net: MemoryNetBackend, journals: JournalStore = new MemoryJournalStore()): { tunnel: TunTunnelImpl; log: MemoryLogger } {
  const log = new MemoryLogger();
  const openDevice = (): MemoryTun => {
    if (!net.log.includes('tun0 created')) {
      net.addLink('tun0', 1500);
      net.log.push('tun0 created');
    }
    return new MemoryTun({ name: 'tun0', mtu: 1500 });
  };
  return { tunnel: new TunTunnelImpl(o, { openDevice, net, journals, log, sleep: async () => {} }), log };
}

const fmt = (r: RouteSpec): string => `${r.dst}/${r.prefixLen}${r.gateway === undefined ? '' : ` via ${r.gateway}`} dev ${r.dev}`;
const routes = async (net: MemoryNetBackend): Promise<string[]> => (await net.listRoutes()).map(fmt).sort();

describe('TunTunnelImpl roaming (serverPath, repointBypass)', () => {
  it('finds the uplink with its own routes left out, re-points the bypass route, and close() removes it', async () => {
    const o = options();
    const net = hostNet();
    const { tunnel, log } = tunnelOf(o, net);
    await tunnel.init();
    await tunnel.open(pushed(o), SERVER, () => {});
    assert.deepEqual(await tunnel.serverPath(SERVER), { dev: 'eth0', gateway: '192.168.1.1', source: '192.168.1.10' });
    assert.ok((await routes(net)).includes('198.51.100.7/32 via 192.168.1.1 dev eth0'));

    net.removeLink('eth0');
    assert.equal(await tunnel.serverPath(SERVER), undefined, 'no uplink: no path (0/1 via tun0 does not count)');
    assert.deepEqual(await net.bestRoute('198.51.100.7'), { dev: 'tun0', gateway: '10.8.0.1' }, 'the kernel would loop it into the tunnel');

    await roam(net);
    const withoutTunnel = (await routes(net)).filter((r) => !r.includes('tun0'));
    const path = await tunnel.serverPath(SERVER);
    assert.deepEqual(path, WLAN);
    await tunnel.repointBypass(SERVER, WLAN);
    assert.deepEqual(await net.bestRoute('198.51.100.7'), { dev: 'wlan0', gateway: '172.20.0.1' });
    assert.deepEqual(await net.bestRoute('8.8.8.8'), { dev: 'tun0', gateway: '10.8.0.1' }, 'everything else stays in the tunnel');
    assert.match(log.text(), /roaming: bypass route 198\.51\.100\.7\/32 via 172\.20\.0\.1 dev wlan0/);
    assert.deepEqual(log.records.filter((r) => r.kind === 'error' || r.kind === 'warn'), []);

    await tunnel.repointBypass(SERVER, WLAN); // the same path again (a flap): no duplicate, no error
    assert.deepEqual(log.records.filter((r) => r.kind === 'error' || r.kind === 'warn'), []);

    await tunnel.close();
    assert.deepEqual(await routes(net), withoutTunnel, 'the host as the network change left it: the re-pointed route is gone too');
  });

  it('re-points a bypass route the kernel still has (gateway change on a live link): the old one is deleted', async () => {
    const o = options();
    const net = hostNet();
    const { tunnel } = tunnelOf(o, net);
    await tunnel.init();
    await tunnel.open(pushed(o), SERVER, () => {});
    const before = await routes(net);
    await net.delRoute({ family: 4, dst: '0.0.0.0', prefixLen: 0, gateway: '192.168.1.1', dev: 'eth0', metric: 100 });
    await net.addRoute({ family: 4, dst: '0.0.0.0', prefixLen: 0, gateway: '192.168.1.254', dev: 'eth0', metric: 100 });
    const path = await tunnel.serverPath(SERVER);
    assert.deepEqual(path, { dev: 'eth0', gateway: '192.168.1.254', source: '192.168.1.10' });
    await tunnel.repointBypass(SERVER, path!);
    const now = await routes(net);
    assert.ok(now.includes('198.51.100.7/32 via 192.168.1.254 dev eth0'));
    assert.ok(!now.includes('198.51.100.7/32 via 192.168.1.1 dev eth0'));
    assert.equal(now.length, before.length);
    await tunnel.close();
  });

  it('the same uplink down and up between two look-ups: the bypass route the kernel flushed is put back, once', async () => {
    const o = options();
    const net = hostNet();
    const { tunnel, log } = tunnelOf(o, net);
    await tunnel.init();
    await tunnel.open(pushed(o), SERVER, () => {});
    const before = await routes(net);
    net.removeLink('eth0'); // down: the kernel flushes its routes, the bypass route with them
    await uplinkUp(net, 'eth0', '192.168.1.10', '192.168.1.1', 100);
    assert.ok(!(await routes(net)).includes('198.51.100.7/32 via 192.168.1.1 dev eth0'), 'flushed');
    const path = await tunnel.serverPath(SERVER);
    assert.deepEqual(path, { dev: 'eth0', gateway: '192.168.1.1', source: '192.168.1.10' });
    await tunnel.repointBypass(SERVER, path!);
    assert.deepEqual(await routes(net), before, 'the bypass route is back, nothing else changed');
    assert.equal((log.text().match(/roaming: bypass route 198\.51\.100\.7\/32 via 192\.168\.1\.1 dev eth0 restored/g) ?? []).length, 1);
    await tunnel.repointBypass(SERVER, path!); // still there: nothing, quietly
    assert.deepEqual(await routes(net), before);
    assert.equal((log.text().match(/restored/g) ?? []).length, 1);
    assert.deepEqual(log.records.filter((r) => r.kind === 'error' || r.kind === 'warn'), []);
    await tunnel.close();
    assert.ok(!(await routes(net)).some((r) => r.includes('tun0') || r.startsWith('198.51.100.7')));
  });

  it('with persist-tun, a reconnect after roaming keeps the device and the re-pointed route', async () => {
    const o = options('persist-tun\n');
    const net = hostNet();
    const { tunnel, log } = tunnelOf(o, net);
    await tunnel.init();
    await tunnel.open(pushed(o), SERVER, () => {});
    net.removeLink('eth0');
    await roam(net);
    await tunnel.repointBypass(SERVER, WLAN);
    const during = await routes(net);
    await tunnel.detach('network-change');
    const calls = net.log.length;
    await tunnel.open(pushed(o), SERVER, () => {});
    assert.match(log.text(), /Preserving previous TUN\/TAP instance: tun0/);
    assert.equal(net.log.length, calls, 'no network change on reopen');
    assert.deepEqual(await routes(net), during);
    await tunnel.close();
    assert.ok(!(await routes(net)).some((r) => r.includes('tun0') || r.startsWith('198.51.100.7')));
  });

  it('a run killed after roaming: the next start removes the re-pointed route too', async () => {
    const o = options();
    const dir = mkdtempSync(join(tmpdir(), 'ovts-roaming-'));
    try {
      const net = hostNet();
      const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
      const dead = tunnelOf(o, net, new FileJournalStore(dir, 'net:[4026530001]', deadPid));
      await dead.tunnel.init();
      await dead.tunnel.open(pushed(o), SERVER, () => {});
      net.removeLink('eth0');
      await roam(net);
      await dead.tunnel.repointBypass(SERVER, WLAN);
      assert.ok((await routes(net)).includes('198.51.100.7/32 via 172.20.0.1 dev wlan0'));
      // the process dies here; its TUN device goes with it
      const next = tunnelOf(o, net, new FileJournalStore(dir, 'net:[4026530001]', process.pid));
      await next.tunnel.init();
      assert.ok(!(await routes(net)).some((r) => r.startsWith('198.51.100.7') || r.includes('tun0')), (await routes(net)).join('\n'));
      assert.deepEqual(readdirSync(dir), []);
      await next.tunnel.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('TunTunnelImpl: a re-point and a teardown at the same time', () => {
  it('close() while a re-point waits on the kernel: the re-point finishes first, then everything is undone and no journal is left', async () => {
    const o = options();
    const dir = mkdtempSync(join(tmpdir(), 'ovts-roaming-'));
    try {
      const net = hostNet();
      const { tunnel } = tunnelOf(o, net, new FileJournalStore(dir, 'net:[4026530002]', process.pid));
      await tunnel.init();
      await tunnel.open(pushed(o), SERVER, () => {});
      net.removeLink('eth0');
      await roam(net);
      const withoutTunnel = (await routes(net)).filter((r) => !r.includes('tun0'));
      // the kernel answers the bypass route's add only when the test says so
      let release = (): void => undefined;
      const gate = new Promise<void>((r) => (release = r));
      const addRoute = net.addRoute.bind(net);
      net.addRoute = async (r: RouteSpec) => {
        if (r.dst === SERVER.address) await gate;
        return addRoute(r);
      };
      const repointing = tunnel.repointBypass(SERVER, WLAN);
      await settle();
      const closing = tunnel.close();
      await settle();
      release();
      await Promise.all([repointing, closing]);
      assert.deepEqual(await routes(net), withoutTunnel, 'the re-pointed route is undone with the rest');
      assert.deepEqual(readdirSync(dir), [], 'no journal is written after the teardown removed it');
      await tunnel.repointBypass(SERVER, WLAN); // after close: nothing
      assert.deepEqual(await routes(net), withoutTunnel);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Lets promise chains and immediates run (look-ups and re-points are async). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe('shell Roaming over the tunnel, the memory backend and its watcher, on virtual time', () => {
  async function setUp(): Promise<{ net: MemoryNetBackend; timers: VirtualTimers; done: string[]; lastRx: { at: number }; roaming: Roaming; tunnel: TunTunnelImpl }> {
    const o = options();
    const net = hostNet();
    const { tunnel } = tunnelOf(o, net);
    await tunnel.init();
    await tunnel.open(pushed(o), SERVER, () => {});
    const timers = new VirtualTimers(new FakeClock(0));
    const done: string[] = [];
    const lastRx = { at: 0 };
    const roaming = new Roaming({
      tunnel,
      remote: SERVER,
      proto: 'udp',
      clock: timers.clock,
      timers,
      log: new MemoryLogger(),
      lastReceivedAt: () => lastRx.at,
      refreshSource: async () => {
        done.push('refresh-source');
      },
      // where the bypass route was last added when the probe leaves (the backend's call log)
      probe: () => done.push(`probe after ${net.log.filter((l) => l.startsWith('route-add route 198.51.100.7')).at(-1) ?? 'none'}`),
      reconnect: (m) => done.push(`reconnect: ${m}`),
      openWatcher: (l) => new MemoryNetWatcher(net, l),
    });
    await roaming.start();
    return { net, timers, done, lastRx, roaming, tunnel };
  }
  async function step(w: { net: MemoryNetBackend; timers: VirtualTimers }, ms: number): Promise<void> {
    const until = w.timers.clock.now() + ms;
    for (let at = w.timers.nextAt(); at !== undefined && at <= until; at = w.timers.nextAt()) {
      w.timers.runNext();
      await settle();
    }
    w.timers.clock.set(until);
    await settle();
  }

  it('uplink lost: waits; new uplink: re-points first, then re-picks the source, then probes; the server answers: nothing more', async () => {
    const w = await setUp();
    w.net.removeLink('eth0');
    await step(w, 1000);
    assert.deepEqual(w.done, []);
    await roam(w.net);
    await step(w, 300);
    assert.deepEqual(w.done, ['refresh-source', 'probe after route-add route 198.51.100.7/32 via 172.20.0.1 dev wlan0']);
    w.lastRx.at = w.timers.clock.now();
    await step(w, 10_000);
    assert.equal(w.done.length, 2);
    w.roaming.close();
    await w.tunnel.close();
  });

  it('no answer after the probe: one reconnect; after close() nothing acts', async () => {
    const w = await setUp();
    w.net.removeLink('eth0');
    await roam(w.net);
    await step(w, 5000);
    assert.equal(w.done.filter((d) => d.startsWith('reconnect')).length, 1, w.done.join('\n'));
    assert.match(w.done.at(-1) ?? '', /did not answer from the new path/);
    w.roaming.close();
    await w.net.addRoute({ family: 4, dst: '10.1.0.0', prefixLen: 16, dev: 'wlan0' });
    await step(w, 5000);
    assert.equal(w.timers.pending, 0);
    await w.tunnel.close();
  });
});
