/**
 * Where the tunnel applies and undoes DNS (the DnsApplier hook in tun-tunnel.ts), with the
 * in-memory twins: NativeDns over MemoryDnsBackend, MemoryTun, MemoryNetBackend. Tier 2.
 *
 *   open:   addresses -> DNS -> [up] -> routes        (2.7 runs dns-updown after ifconfig, before up)
 *   detach: DNS undone first; kept with persist-tun, and not re-applied when the push is the same
 *   close:  DNS undone first (before route-pre-down and the routes)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, parsePushOptions, type ClientOptions } from '../../../src/config/index.ts';
import { MemoryLogger } from '../../../src/log/logger.ts';
import type { Endpoint } from '../../../src/link/link.ts';
import { TunTunnelImpl } from '../../../src/tunnel/tun-tunnel.ts';
import { MemoryTun } from '../../../src/tun/memory-tun.ts';
import { MemoryNetBackend } from '../../../src/routing/memory-backend.ts';
import { MemoryJournalStore } from '../../../src/routing/journal-store.ts';
import { MemoryDnsBackend } from '../../../src/dns/backend.ts';
import { NativeDns } from '../../../src/dns/native.ts';
import type { DnsPlan } from '../../../src/dns/plan.ts';
import { BASE, PKI, memFs } from '../../unit/config/memfs.ts';

const SERVER: Endpoint = { address: '198.51.100.7', port: 1194, family: 4 };
const PUSHED = ['ifconfig 10.8.0.2 255.255.255.0', 'topology subnet', 'route-gateway 10.8.0.1', 'route 10.99.0.0 255.255.0.0', 'redirect-gateway def1',
  'dhcp-option DNS 10.8.0.1', 'dhcp-option DOMAIN vpn.example'];

function options(extra = ''): ClientOptions {
  return loadConfig(['--config', '/work/client.conf'], memFs({ ...PKI, '/work/client.conf': BASE + extra })).options;
}

/** Records, at each DNS call, how many tun0 routes exist (order checks). */
class Recording extends MemoryDnsBackend {
  readonly routesAt: number[] = [];
  readonly addrsAt: number[] = [];
  readonly net: MemoryNetBackend;
  constructor(net: MemoryNetBackend) {
    super();
    this.net = net;
  }
  override async apply(dev: string, plan: DnsPlan): Promise<void> {
    this.addrsAt.push((await this.net.listAddresses('tun0')).length);
    this.routesAt.push((await this.net.listRoutes()).filter((r) => r.dev === 'tun0').length);
    return super.apply(dev, plan);
  }
  override async revert(dev: string): Promise<void> {
    this.routesAt.push((await this.net.listRoutes()).filter((r) => r.dev === 'tun0').length);
    return super.revert(dev);
  }
}

function world(o: ClientOptions) {
  const net = new MemoryNetBackend({
    links: [{ name: 'lo', mtu: 65536 }, { name: 'eth0', mtu: 1500 }],
    addresses: [{ dev: 'eth0', family: 4, local: '192.168.1.10', prefixLen: 24 }],
    routes: [{ family: 4, dst: '192.168.1.0', prefixLen: 24, dev: 'eth0' }, { family: 4, dst: '0.0.0.0', prefixLen: 0, gateway: '192.168.1.1', dev: 'eth0', metric: 100 }],
  });
  let made = false;
  const openDevice = () => {
    if (!made) net.addLink('tun0', 1500);
    made = true;
    return new MemoryTun({ name: 'tun0', mtu: 1500 });
  };
  const log = new MemoryLogger();
  const backend = new Recording(net);
  const dns = new NativeDns(o, { log, backend, why: 'test' });
  const tunnel = new TunTunnelImpl(o, { openDevice, net, journals: new MemoryJournalStore(), log, sleep: async () => {}, dns });
  return { net, backend, tunnel, log };
}

const push = (o: ClientOptions, lines = PUSHED) => parsePushOptions(lines, o).options;

describe('TunTunnelImpl + NativeDns (MemoryDnsBackend)', () => {
  it('applies DNS after the addresses and before the routes; close undoes it before the routes', async () => {
    const o = options();
    const w = world(o);
    await w.tunnel.init();
    await w.tunnel.open(push(o), SERVER, () => {});
    assert.deepEqual([...w.backend.applied.keys()], ['tun0']);
    assert.deepEqual(w.backend.applied.get('tun0')?.servers.map((s) => s.ip), ['10.8.0.1']);
    assert.deepEqual([w.backend.addrsAt[0], w.backend.routesAt[0]], [1, 0], 'the address is there, no route yet, when DNS is applied');
    await w.tunnel.close();
    assert.equal(w.backend.applied.size, 0);
    assert.ok((w.backend.routesAt[1] ?? 0) > 1, 'DNS is undone while the routes are still there');
    assert.match(w.log.records.map((r) => r.msg).join('\n'), /DNS on tun0 set via memory: servers 10\.8\.0\.1, search vpn\.example, default DNS route/);
  });

  it('detach without persist-tun undoes DNS; with persist-tun it stays, and the same push is not applied twice', async () => {
    const o = options();
    const w = world(o);
    await w.tunnel.init();
    await w.tunnel.open(push(o), SERVER, () => {});
    await w.tunnel.detach('ping-restart');
    assert.equal(w.backend.applied.size, 0);

    const p = options('persist-tun\n');
    const v = world(p);
    await v.tunnel.init();
    await v.tunnel.open(push(p), SERVER, () => {});
    await v.tunnel.detach('ping-restart');
    assert.equal(v.backend.applied.size, 1, 'kept during the reconnect (no leak while reconnecting)');
    await v.tunnel.open(push(p), SERVER, () => {});
    assert.deepEqual(v.backend.calls, ['apply tun0']);
    await v.tunnel.open(push(p, [...PUSHED.slice(0, -2), 'dhcp-option DNS 10.8.0.53']), SERVER, () => {});
    assert.deepEqual(v.backend.applied.get('tun0')?.servers.map((s) => s.ip), ['10.8.0.53']);
    await v.tunnel.close();
    assert.equal(v.backend.applied.size, 0);
  });

  it('an up script in the config turns native DNS off (dns-updown default); dns-updown force turns it back on', async () => {
    for (const [extra, applied] of [['script-security 2\nup /bin/true\n', 0], ['script-security 2\nup /bin/true\ndns-updown force\n', 1]] as const) {
      const o = options(extra);
      const w = world(o);
      await w.tunnel.init();
      await w.tunnel.open(push(o), SERVER, () => {});
      assert.equal(w.backend.applied.size, applied, extra);
      await w.tunnel.close();
    }
  });

  it('a push without DNS changes nothing', async () => {
    const o = options();
    const w = world(o);
    await w.tunnel.init();
    await w.tunnel.open(push(o, PUSHED.slice(0, -2)), SERVER, () => {});
    assert.deepEqual(w.backend.calls, []);
    await w.tunnel.close();
  });
});
