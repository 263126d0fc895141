/**
 * TunTunnelImpl (the Tunnel port over a TUN device + routing) driven with its in-memory twins:
 * MemoryTun for the device, MemoryNetBackend for the kernel's links/addresses/routes,
 * MemoryJournalStore / FileJournalStore (in a temp dir) for the crash journal. Tier 2: no root.
 *
 *   loadConfig + parsePushOptions --ClientOptions--> TunTunnelImpl --ops--> MemoryNetBackend
 *                                                       |  ^
 *                                           MemoryTun <-'  '-- send(buf, n) / write(buf, n)
 *
 * Checks the network state the tunnel leaves behind (during, after close/detach, after a
 * failure, after a hard kill), the packet paths with MSS clamping, and the logs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parsePushOptions, type ClientOptions } from '../../../src/config/index.ts';
import { OsError } from '../../../src/base/errors.ts';
import { MemoryLogger } from '../../../src/log/logger.ts';
import type { Endpoint } from '../../../src/link/link.ts';
import { TunTunnelImpl } from '../../../src/tunnel/tun-tunnel.ts';
import type { LinuxTunOptions } from '../../../src/tun/linux-tun.ts';
import { MemoryTun } from '../../../src/tun/memory-tun.ts';
import type { AddrSpec, LinkInfo, NetBackend, RouteSpec } from '../../../src/routing/backend.ts';
import { MemoryNetBackend, type MemoryBackendOptions } from '../../../src/routing/memory-backend.ts';
import { FileJournalStore, MemoryJournalDisk, MemoryJournalStore, type JournalStore } from '../../../src/routing/journal-store.ts';
import { BASE, PKI, memFs } from '../../unit/config/memfs.ts';

const SERVER: Endpoint = { address: '198.51.100.7', port: 1194, family: 4 };
const PUSHED = [
  'ifconfig 10.8.0.2 255.255.255.0',
  'topology subnet',
  'route-gateway 10.8.0.1',
  'route 10.99.0.0 255.255.0.0',
  'ifconfig-ipv6 fd00:8::1000/64 fd00:8::1',
  'route-ipv6 fd00:99::/64',
  'redirect-gateway def1',
  'cipher AES-256-GCM',
  'peer-id 0',
];
const LINKS = ['lo', 'eth0', 'tun0'] as const;

/** Routes the pushed options add, as `dst/len via gw dev metric` (metric 1024: the kernel's IPv6 default). */
const PUSHED_ROUTES = [
  '198.51.100.7/32 via 192.168.1.1 dev eth0',
  '0.0.0.0/1 via 10.8.0.1 dev tun0',
  '128.0.0.0/1 via 10.8.0.1 dev tun0',
  '10.99.0.0/16 via 10.8.0.1 dev tun0',
  'fd00:99::/64 dev tun0 metric 1024',
];

function options(extra = ''): ClientOptions {
  const fs = memFs({ ...PKI, '/work/client.conf': BASE + extra });
  return loadConfig(['--config', '/work/client.conf'], fs).options;
}

function pushed(base: ClientOptions, lines: readonly string[] = PUSHED): ClientOptions {
  const r = parsePushOptions(lines, base);
  assert.deepEqual(r.ignored, [], 'every pushed option applies');
  return r.options;
}

/** A host with eth0 192.168.1.10/24, default route via 192.168.1.1 (metric 100), and lo. */
function host(extraRoutes: readonly RouteSpec[] = []): MemoryBackendOptions {
  return {
    links: [{ name: 'lo', mtu: 65536 }, { name: 'eth0', mtu: 1500 }],
    addresses: [
      { dev: 'lo', family: 4, local: '127.0.0.1', prefixLen: 8 },
      { dev: 'eth0', family: 4, local: '192.168.1.10', prefixLen: 24 },
    ],
    routes: [
      { family: 4, dst: '192.168.1.0', prefixLen: 24, dev: 'eth0' },
      { family: 4, dst: '0.0.0.0', prefixLen: 0, gateway: '192.168.1.1', dev: 'eth0', metric: 100 },
      ...extraRoutes,
    ],
  };
}

function hostBackend(extraRoutes: readonly RouteSpec[] = []): MemoryNetBackend {
  return new MemoryNetBackend(host(extraRoutes));
}

interface World {
  readonly net: MemoryNetBackend;
  readonly journals: JournalStore;
  readonly log: MemoryLogger;
  readonly tunnel: TunTunnelImpl;
  /** Every device the tunnel opened, and what it asked for. */
  readonly tuns: MemoryTun[];
  readonly requests: LinuxTunOptions[];
}

/** The kernel creates the link when the device is opened: the fake does the same in the backend. */
function world(o: ClientOptions, net: MemoryNetBackend = hostBackend(), journals: JournalStore = new MemoryJournalStore()): World {
  const log = new MemoryLogger();
  const tuns: MemoryTun[] = [];
  const requests: LinuxTunOptions[] = [];
  const openDevice = (req: LinuxTunOptions): MemoryTun => {
    requests.push(req);
    const name = req.dev === 'tun' ? 'tun0' : req.dev;
    if (!linkExists(net, name)) net.addLink(name, 1500);
    const t = new MemoryTun({ name, mtu: req.mtu });
    tuns.push(t);
    return t;
  };
  const tunnel = new TunTunnelImpl(o, { openDevice, net, journals, log, sleep: async () => {} });
  return { net, journals, log, tunnel, tuns, requests };
}

/** Links the fake kernel created per backend (the memory backend cannot list its links). */
const created = new WeakMap<MemoryNetBackend, Set<string>>();
function linkExists(net: MemoryNetBackend, name: string): boolean {
  const known = created.get(net) ?? new Set<string>();
  created.set(net, known);
  const had = known.has(name);
  known.add(name);
  return had;
}

interface NetState {
  readonly links: Record<string, LinkInfo | null>;
  readonly addrs: AddrSpec[];
  readonly routes: RouteSpec[];
}

async function snapshot(net: NetBackend): Promise<NetState> {
  const links: Record<string, LinkInfo | null> = {};
  const addrs: AddrSpec[] = [];
  for (const l of LINKS) {
    links[l] = await net.getLink(l).catch(() => null);
    addrs.push(...(await net.listAddresses(l)));
  }
  return { links, addrs, routes: await net.listRoutes() };
}

function fmt(r: RouteSpec): string {
  return `${r.dst}/${r.prefixLen}${r.gateway === undefined ? '' : ` via ${r.gateway}`} dev ${r.dev}${r.metric === undefined ? '' : ` metric ${r.metric}`}`;
}

/** Routes present in `after` and not in `before`, formatted. */
function added(before: NetState, after: NetState): string[] {
  const old = new Set(before.routes.map(fmt));
  return after.routes.map(fmt).filter((r) => !old.has(r));
}

function savedCount(s: JournalStore): number {
  return s instanceof MemoryJournalStore ? s.saved.size : -1;
}

/** Lets microtasks and immediates run (the pump wakes on a microtask, re-arms on setImmediate). */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
}

// ---- packets ----------------------------------------------------------------------------------

function sum16(b: Uint8Array, start: number, end: number, init = 0): number {
  let s = init;
  for (let i = start; i < end; i += 2) s += ((b[i] ?? 0) << 8) | (i + 1 < end ? (b[i + 1] ?? 0) : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The TCP checksum of an IPv4 packet computed from scratch (pseudo-header + segment). */
function tcpChecksum4(p: Uint8Array): number {
  const seg = p.slice(20);
  seg[16] = 0;
  seg[17] = 0;
  const s = sum16(seg, 0, seg.length, sum16(p, 12, 20) + 6 + seg.length);
  return ~s & 0xffff;
}

/** An IPv4 TCP SYN 10.8.0.2:41297 -> 10.99.0.5:443 with MSS option `mss`. */
function syn4(mss: number, src = [10, 8, 0, 2], dst = [10, 99, 0, 5]): Uint8Array {
  const p = new Uint8Array(20 + 24);
  p.set([0x45, 0, 0, p.length, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, ...src, ...dst]);
  const ipc = ~sum16(p, 0, 20) & 0xffff;
  p[10] = ipc >> 8;
  p[11] = ipc & 0xff;
  p.set([0xa1, 0x51, 0x01, 0xbb, 1, 2, 3, 4, 0, 0, 0, 0, 6 << 4, 0x02, 0xfa, 0xf0, 0, 0, 0, 0], 20);
  p.set([2, 4, mss >> 8, mss & 0xff], 40);
  const c = tcpChecksum4(p);
  p[36] = c >> 8;
  p[37] = c & 0xff;
  return p;
}

const mssOf = (p: Uint8Array): number => (p[42]! << 8) | p[43]!;

/**
 * OpenVPN 2.6 frame_calculate_mssfix for mssfix 1492 (default), AES-256-GCM, peer-id, UDP over
 * IPv4: 1492 - (4 opcode/peer-id + 4 packet id + 16 tag + 8 UDP + 20 IPv4) - 40 (IPv4 + TCP) = 1400.
 */
const EXPECTED_MSS = 1400;

// ---- tests ------------------------------------------------------------------------------------

describe('TunTunnelImpl over MemoryTun + MemoryNetBackend', () => {
  it('open applies link, addresses, pushed routes and def1 with the server bypass; close restores the table exactly', async () => {
    const o = options();
    const w = world(o);
    await w.tunnel.init();
    const before = await snapshot(w.net);
    assert.equal(before.links.tun0?.up, false);

    await w.tunnel.open(pushed(o), SERVER, () => {});
    const during = await snapshot(w.net);
    assert.deepEqual(during.links.tun0, { ...before.links.tun0, up: true, mtu: 1500 });
    assert.equal(w.requests[0]?.mtu, 1500);
    assert.deepEqual(
      during.addrs.filter((a) => a.dev === 'tun0').map((a) => `${a.family} ${a.local}/${a.prefixLen}`),
      ['4 10.8.0.2/24', '6 fd00:8::1000/64'],
    );
    assert.deepEqual(added(before, during), PUSHED_ROUTES);
    // Every route that existed is still there (def1 never touches the default route).
    for (const r of before.routes) assert.ok(during.routes.map(fmt).includes(fmt(r)), `kept ${fmt(r)}`);
    // The kernel's view: traffic goes into the tunnel, the server itself around it.
    assert.deepEqual(await w.net.bestRoute('8.8.8.8'), { dev: 'tun0', gateway: '10.8.0.1' });
    assert.deepEqual(await w.net.bestRoute('200.1.2.3'), { dev: 'tun0', gateway: '10.8.0.1' });
    assert.deepEqual(await w.net.bestRoute('198.51.100.7'), { dev: 'eth0', gateway: '192.168.1.1' });
    assert.deepEqual(await w.net.bestRoute('fd00:99::5'), { dev: 'tun0' });
    assert.equal(savedCount(w.journals), 1, 'a journal exists while changes are applied');
    assert.deepEqual(w.log.records.filter((r) => r.kind === 'error' || r.kind === 'warn'), []);

    await w.tunnel.close();
    assert.deepEqual(await snapshot(w.net), before);
    assert.equal(savedCount(w.journals), 0, 'journal deleted after a clean undo');
    assert.equal(w.tuns[0]?.closed, true);
    await assert.rejects(w.tunnel.open(pushed(o), SERVER, () => {}), (e: unknown) => e instanceof OsError && e.code === 'TUN_OPEN');
  });

  it('moves packets both ways (right length) and clamps the MSS of TCP SYNs in both directions', async () => {
    const o = options();
    const w = world(o);
    await w.tunnel.init();
    const sent: Uint8Array[] = [];
    await w.tunnel.open(pushed(o), SERVER, (buf, n) => sent.push(buf.slice(0, n)));
    const tun = w.tuns[0]!;
    assert.ok(w.log.text().includes(`mssfix: TCP MSS clamped to ${EXPECTED_MSS}`));

    // OS -> tunnel: a 77-byte non-TCP packet goes out unchanged, at its length.
    const plain = new Uint8Array(77);
    plain.set([0x45, 0, 0, 77, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 8, 0, 2, 10, 99, 0, 5]);
    plain.fill(0xab, 20);
    tun.inject(plain);
    const synOut = syn4(1460);
    tun.inject(synOut);
    await settle();
    assert.equal(sent.length, 2);
    assert.equal(sent[0]!.length, 77);
    assert.deepEqual(sent[0], plain);
    assert.equal(sent[1]!.length, synOut.length);
    assert.equal(mssOf(sent[1]!), EXPECTED_MSS);
    assert.equal((sent[1]![36]! << 8) | sent[1]![37]!, tcpChecksum4(sent[1]!), 'TCP checksum still valid');
    assert.equal(w.tunnel.packetsIn, 2);

    // tunnel -> OS: write() hands the device exactly len bytes; a SYN is clamped too.
    const big = new Uint8Array(200);
    big.set(plain);
    w.tunnel.write(big, 77);
    const synIn = syn4(1460, [10, 99, 0, 5], [10, 8, 0, 2]);
    w.tunnel.write(synIn, synIn.length);
    assert.equal(tun.written.length, 2);
    assert.deepEqual(tun.written[0], plain);
    assert.equal(mssOf(tun.written[1]!), EXPECTED_MSS);
    assert.equal((tun.written[1]![36]! << 8) | tun.written[1]![37]!, tcpChecksum4(tun.written[1]!));
    // A SYN already below the limit is left alone.
    const small = syn4(1200);
    w.tunnel.write(small, small.length);
    assert.equal(mssOf(tun.written[2]!), 1200);
    assert.equal(w.tunnel.packetsOut, 3);
    assert.equal(w.tunnel.writeDrops, 0);
    await w.tunnel.close();
    w.tunnel.write(plain, plain.length);
    assert.equal(w.tunnel.writeDrops, 1, 'a write after close is dropped, not thrown');
  });

  it('a failure on a link or address op rejects naming the change and reverts everything done so far', async () => {
    const o = options();
    // Mutating calls during open: 1 link, 2 IPv4 address, 3 IPv6 address (then routes).
    const expected = [
      { n: 1, code: 'OS', names: 'tun0 up=true mtu 1500' },
      { n: 2, code: 'ADDR_APPLY', names: 'address 10.8.0.2/24 on tun0' },
      { n: 3, code: 'ADDR_APPLY', names: 'address fd00:8::1000/64 on tun0' },
    ];
    for (const { n, code, names } of expected) {
      const w = world(o);
      await w.tunnel.init();
      const before = await snapshot(w.net);
      w.net.failOn(n, 'EPERM');
      await assert.rejects(w.tunnel.open(pushed(o), SERVER, () => {}), (e: unknown) => {
        assert.ok(e instanceof OsError, `op ${n}: OsError`);
        assert.equal(e.code, code);
        assert.ok(e.message.includes(names), `op ${n}: message names the change: ${e.message}`);
        assert.ok(e.message.includes('permission denied'), e.message);
        return true;
      });
      assert.deepEqual(await snapshot(w.net), before, `op ${n}: state reverted`);
      assert.equal(savedCount(w.journals), 0, `op ${n}: no journal left`);
      await w.tunnel.close();
      assert.deepEqual(await snapshot(w.net), before);
    }
  });

  it('a failing route is logged as an ERROR and skipped (as OpenVPN), the rest applied, close restores', async () => {
    const o = options();
    const w = world(o);
    await w.tunnel.init();
    const before = await snapshot(w.net);
    w.net.failOn(5, 'ENETUNREACH'); // 4 is the bypass route, 5 is 0.0.0.0/1
    await w.tunnel.open(pushed(o), SERVER, () => {});
    const during = await snapshot(w.net);
    assert.deepEqual(added(before, during), PUSHED_ROUTES.filter((r) => !r.startsWith('0.0.0.0/1')));
    const errors = w.log.records.filter((r) => r.kind === 'error').map((r) => r.msg);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /^ERROR: route 0\.0\.0\.0\/1 via 10\.8\.0\.1 dev tun0 failed: network is unreachable/);
    assert.match(errors[0]!, /skipped$/);
    await w.tunnel.close();
    assert.deepEqual(await snapshot(w.net), before);
    assert.equal(savedCount(w.journals), 0);
  });

  it('a pushed route that already exists is reported by name and left untouched, never replaced', async () => {
    const o = options();
    const existing: RouteSpec = { family: 4, dst: '10.99.0.0', prefixLen: 16, gateway: '192.168.1.254', dev: 'eth0' };
    const w = world(o, hostBackend([existing]));
    await w.tunnel.init();
    const before = await snapshot(w.net);
    await w.tunnel.open(pushed(o), SERVER, () => {});
    const during = await snapshot(w.net);
    const to1099 = during.routes.filter((r) => r.dst === '10.99.0.0').map(fmt);
    assert.deepEqual(to1099, ['10.99.0.0/16 via 192.168.1.254 dev eth0'], 'the existing route is the only one, unchanged');
    assert.deepEqual(added(before, during), PUSHED_ROUTES.filter((r) => !r.startsWith('10.99.')));
    const errors = w.log.records.filter((r) => r.kind === 'error').map((r) => r.msg);
    assert.equal(errors.length, 1);
    assert.ok(errors[0]!.includes('route 10.99.0.0/16 via 10.8.0.1 dev tun0 already exists'), errors[0]);
    assert.deepEqual(await w.net.bestRoute('10.99.1.1'), { dev: 'eth0', gateway: '192.168.1.254' });
    await w.tunnel.close();
    assert.deepEqual(await snapshot(w.net), before, 'close does not delete the route it did not add');
  });

  it('detach without persist-tun removes everything and closes the device; the next open starts afresh', async () => {
    const o = options();
    const w = world(o);
    await w.tunnel.init();
    const before = await snapshot(w.net);
    const p = pushed(o);
    await w.tunnel.open(p, SERVER, () => {});
    const during = await snapshot(w.net);
    await w.tunnel.detach();
    assert.deepEqual(await snapshot(w.net), before);
    assert.equal(savedCount(w.journals), 0);
    assert.equal(w.tuns[0]?.closed, true);
    assert.equal(w.tunnel.device, undefined);
    w.tunnel.write(syn4(1460), 44);
    assert.equal(w.tunnel.writeDrops, 1);

    const sent: number[] = [];
    await w.tunnel.open(p, SERVER, (_b, n) => sent.push(n));
    assert.equal(w.tuns.length, 2, 'a new device is opened');
    assert.deepEqual(await snapshot(w.net), during);
    assert.deepEqual(w.log.records.filter((r) => r.kind === 'error'), []);
    w.tuns[1]!.inject(syn4(1460));
    await settle();
    assert.deepEqual(sent, [44]);
    await w.tunnel.close();
    assert.deepEqual(await snapshot(w.net), before);
    assert.equal(savedCount(w.journals), 0);
  });

  it('with persist-tun, detach keeps device and routes; reopening with the same push changes nothing and reports no duplicates', async () => {
    const o = options('persist-tun\n');
    assert.equal(o.persistTun, true);
    const w = world(o);
    await w.tunnel.init();
    const before = await snapshot(w.net);
    const first: number[] = [];
    await w.tunnel.open(pushed(o), SERVER, (_b, n) => first.push(n));
    const during = await snapshot(w.net);
    const callsAfterOpen = w.net.log.length;

    await w.tunnel.detach();
    assert.deepEqual(await snapshot(w.net), during, 'persist-tun keeps addresses and routes');
    assert.equal(w.tuns[0]?.closed, false);
    assert.equal(savedCount(w.journals), 1, 'the journal stays while the changes stay');
    w.tuns[0]!.inject(syn4(1460));
    await settle();
    assert.deepEqual(first, [], 'nothing is sent for a detached connection');

    const second: number[] = [];
    await w.tunnel.open(pushed(o), SERVER, (_b, n) => second.push(n));
    assert.equal(w.tuns.length, 1, 'the same device');
    assert.equal(w.net.log.length, callsAfterOpen, 'no network change on reopen');
    assert.deepEqual(await snapshot(w.net), during);
    assert.deepEqual(w.log.records.filter((r) => r.kind === 'error' || r.kind === 'warn'), []);
    assert.ok(w.log.text().includes('Preserving previous TUN/TAP instance: tun0'));
    await settle();
    assert.deepEqual(second, [44], 'the packet queued while detached goes out on the new connection');
    assert.deepEqual(first, []);

    await w.tunnel.close();
    assert.deepEqual(await snapshot(w.net), before);
    assert.equal(savedCount(w.journals), 0);
    assert.equal(w.tuns[0]?.closed, true);
  });

  it('with persist-tun and a plain redirect-gateway, reopening reads the original default gateway, not its own', async () => {
    const o = options('persist-tun\n');
    const net = new MemoryNetBackend({ ...host(), routes: [
      { family: 4, dst: '192.168.1.0', prefixLen: 24, dev: 'eth0' },
      { family: 4, dst: '0.0.0.0', prefixLen: 0, gateway: '192.168.1.1', dev: 'eth0' },
    ] });
    const w = world(o, net);
    await w.tunnel.init();
    const before = await snapshot(w.net);
    const lines = PUSHED.map((l) => (l === 'redirect-gateway def1' ? 'redirect-gateway' : l));
    await w.tunnel.open(pushed(o, lines), SERVER, () => {});
    const during = await snapshot(w.net);
    assert.deepEqual(during.routes.filter((r) => r.prefixLen === 0).map(fmt), ['0.0.0.0/0 via 10.8.0.1 dev tun0']);
    assert.ok(during.routes.map(fmt).includes('198.51.100.7/32 via 192.168.1.1 dev eth0'));
    const calls = w.net.log.length;
    await w.tunnel.detach();
    await w.tunnel.open(pushed(o, lines), SERVER, () => {});
    assert.deepEqual(await snapshot(w.net), during);
    assert.equal(w.net.log.length, calls, 'the same push is recognised as the same plan: nothing redone');
    assert.ok(w.log.text().includes('Preserving previous TUN/TAP instance: tun0'));
    assert.deepEqual(w.log.records.filter((r) => r.kind === 'error' || r.kind === 'warn'), []);
    // A different push: undone, then planned again from the restored table.
    await w.tunnel.detach();
    const changed = lines.map((l) => (l === 'route 10.99.0.0 255.255.0.0' ? 'route 10.77.0.0 255.255.0.0' : l));
    await w.tunnel.open(pushed(o, changed), SERVER, () => {});
    const again = (await snapshot(w.net)).routes.map(fmt);
    assert.ok(again.includes('198.51.100.7/32 via 192.168.1.1 dev eth0'), again.join('; '));
    assert.ok(again.includes('10.77.0.0/16 via 10.8.0.1 dev tun0'));
    assert.ok(!again.some((r) => r.startsWith('10.99.')));
    assert.deepEqual(again.filter((r) => r.startsWith('0.0.0.0/0')), ['0.0.0.0/0 via 10.8.0.1 dev tun0']);
    assert.deepEqual(w.log.records.filter((r) => r.kind === 'error' || r.kind === 'warn'), []);
    await w.tunnel.close();
    assert.deepEqual({ ...(await snapshot(w.net)), routes: [] }, { ...before, routes: [] });
    assert.deepEqual((await snapshot(w.net)).routes.map(fmt).sort(), before.routes.map(fmt).sort());
  });

  it('with persist-tun, a reconnect that pushes different routes swaps them without duplicate errors', async () => {
    const o = options('persist-tun\n');
    const w = world(o);
    await w.tunnel.init();
    const before = await snapshot(w.net);
    await w.tunnel.open(pushed(o), SERVER, () => {});
    await w.tunnel.detach();
    const changed = PUSHED.map((l) => (l === 'route 10.99.0.0 255.255.0.0' ? 'route 10.77.0.0 255.255.0.0' : l));
    await w.tunnel.open(pushed(o, changed), SERVER, () => {});
    const during = await snapshot(w.net);
    assert.deepEqual(added(before, during), PUSHED_ROUTES.map((r) => r.replace('10.99.0.0', '10.77.0.0')));
    assert.deepEqual(w.log.records.filter((r) => r.kind === 'error' || r.kind === 'warn'), []);
    await w.tunnel.close();
    assert.deepEqual(await snapshot(w.net), before);
  });
});

// ---- hard kill ----------------------------------------------------------------------------------

/** A backend whose `n`th mutating call never returns (the process "dies" there), before or after the change. */
class DyingBackend extends MemoryNetBackend {
  #calls = 0;
  dieAt = 0;
  /** Mutating calls started, including the one the run died in. */
  get calls(): number {
    return this.#calls;
  }
  dieAfterChange = false;
  async #step<T>(run: () => Promise<T>): Promise<T> {
    this.#calls++;
    if (this.#calls !== this.dieAt) return run();
    if (this.dieAfterChange) await run();
    return new Promise<T>(() => {});
  }
  override setLink(dev: string, s: { readonly up: boolean; readonly mtu: number }): Promise<void> {
    return this.#step(() => super.setLink(dev, s));
  }
  override addAddress(a: AddrSpec): Promise<void> {
    return this.#step(() => super.addAddress(a));
  }
  override addRoute(r: RouteSpec): Promise<void> {
    return this.#step(() => super.addRoute(r));
  }
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  assert.equal(typeof r.pid, 'number');
  return r.pid!;
}

/** A journal store of each kind over one shared "disk", so that a run and the next see the same journals. */
interface Stores {
  make(netns: string, pid: number): JournalStore;
  files(): string[];
  dispose(): void;
}

const STORES: Record<string, () => Stores> = {
  FileJournalStore: () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovts-tuntunnel-'));
    return { make: (ns, pid) => new FileJournalStore(dir, ns, pid), files: () => readdirSync(dir), dispose: () => rmSync(dir, { recursive: true, force: true }) };
  },
  MemoryJournalStore: () => {
    const disk = new MemoryJournalDisk([process.pid, process.ppid]);
    return { make: (ns, pid) => new MemoryJournalStore(disk, ns, pid), files: () => [...disk.files.keys()], dispose: () => {} };
  },
};

for (const [kind, makeStores] of Object.entries(STORES)) describe(`TunTunnelImpl + ${kind}: journals of hard-killed runs are repaired at the next start`, () => {
  const NETNS = 'net:[4026530000]';
  // 8 mutating calls: link, 2 addresses, 4 IPv4 routes (bypass, 0/1, 128/1, 10.99/16), 1 IPv6 route.
  const CALLS = 8;

  for (const after of [false, true]) {
    it(`killed at each network change (${after ? 'after it took effect, before the journal was rewritten' : 'before it took effect'}): init() of the next run undoes all of it`, async () => {
      const o = options();
      for (let n = 1; n <= CALLS; n++) {
        const stores = makeStores();
        try {
          const net = new DyingBackend(host());
          const dead = world(o, net, stores.make(NETNS, deadPid()));
          await dead.tunnel.init();
          const before = await snapshot(net);
          net.dieAt = n;
          net.dieAfterChange = after;
          void dead.tunnel.open(pushed(o), SERVER, () => {});
          await settle();
          assert.equal(net.calls, n, `run died at call ${n}`);
          assert.equal(net.log.length, after ? n : n - 1);
          const left = await snapshot(net);
          if (n > 1 || after) assert.notDeepEqual(left, before, `call ${n}: the dead run left changes`);
          else assert.deepEqual(stores.files(), [], 'died before any change: no journal');

          const next = world(o, net, stores.make(NETNS, process.pid));
          await next.tunnel.init();
          const repaired = await snapshot(net);
          if (n === 1 && after) {
            // The link is journaled after it is set; a killed process's TUN device disappears with
            // it (the kernel deletes it), so only the link itself may remain in this model.
            assert.deepEqual({ ...repaired, links: {} }, { ...before, links: {} }, `call ${n}: addresses and routes restored`);
          } else {
            assert.deepEqual(repaired, before, `call ${n}: state restored`);
          }
          assert.deepEqual(stores.files(), [], `call ${n}: journal file removed after repair`);
          if (n > 1) assert.match(next.log.text(), /repaired \d+ leftover network change\(s\) on tun0 from a previous run \(pid \d+/);
          assert.deepEqual(next.log.records.filter((r) => r.kind === 'warn' || r.kind === 'error'), []);
          await next.tunnel.close();
        } finally {
          stores.dispose();
        }
      }
    });
  }

  it('journals of a live process or another network namespace are left alone', async () => {
    const o = options();
    const stores = makeStores();
    try {
      for (const store of [stores.make(NETNS, process.ppid), stores.make('net:[4026539999]', deadPid())]) {
        const net = hostBackend();
        const run = world(o, net, store);
        await run.tunnel.init();
        await run.tunnel.open(pushed(o), SERVER, () => {});
        const during = await snapshot(net);
        const next = world(o, net, stores.make(NETNS, process.pid));
        await next.tunnel.init();
        assert.deepEqual(await snapshot(net), during, 'nothing undone');
        const files = stores.files();
        assert.equal(files.length, 1, 'one journal, the live (or foreign) run\'s');
        assert.match(files[0] ?? '', /^\d+-tun0\.json$/, 'named by namespace and device');
        assert.doesNotMatch(next.log.text(), /repaired/);
        await run.tunnel.close();
        assert.deepEqual(stores.files(), []);
      }
    } finally {
      stores.dispose();
    }
  });
});

describe('TunTunnelImpl: what the connection tells it, and signals that arrive mid-open', () => {
  it('sizes the MSS clamp for the negotiated data channel: a CBC+HMAC fallback has more overhead than the configured GCM', async () => {
    const clampFor = async (dataChannel?: { cipher: string; auth: string | undefined }): Promise<number> => {
      const o = options();
      const w = world(o);
      await w.tunnel.init();
      const sent: Uint8Array[] = [];
      await w.tunnel.open(pushed(o), SERVER, (buf, n) => sent.push(buf.slice(0, n)), dataChannel === undefined ? {} : { dataChannel });
      w.tuns[0]!.inject(syn4(1460));
      await settle();
      await w.tunnel.close();
      return mssOf(sent[0]!);
    };
    assert.equal(await clampFor({ cipher: 'AES-256-GCM', auth: undefined }), EXPECTED_MSS);
    const cbc = await clampFor({ cipher: 'AES-256-CBC', auth: 'SHA256' });
    assert.ok(cbc < EXPECTED_MSS - 32, `CBC + HMAC-SHA256 adds an IV, a 32-byte HMAC and padding: ${cbc}`);
  });

  it('uses the <connection> profile it is told (tun-mtu of the second profile), not the first one', async () => {
    const o = options('<connection>\nremote a.example.invalid 1194\ntun-mtu 1500\n</connection>\n<connection>\nremote b.example.invalid 1195\ntun-mtu 1400\n</connection>\n');
    const w = world(o);
    await w.tunnel.init();
    await w.tunnel.open(pushed(o), { address: '198.51.100.8', port: 1195, family: 4 }, () => {}, { connectionIndex: 1 });
    assert.equal((await snapshot(w.net)).links.tun0?.mtu, 1400);
    await w.tunnel.close();
  });

  it('a detach during route-delay waits for the open, then undoes every change it made (nothing leaks)', async () => {
    const o = options('route-delay 5\n');
    const net = hostBackend();
    const log = new MemoryLogger();
    let release: (() => void) | undefined;
    const delayed = new Promise<void>((r) => {
      release = r;
    });
    let sleeping = false;
    const openDevice = (req: LinuxTunOptions): MemoryTun => {
      if (!linkExists(net, 'tun0')) net.addLink('tun0', 1500);
      return new MemoryTun({ name: 'tun0', mtu: req.mtu });
    };
    const tunnel = new TunTunnelImpl(o, {
      openDevice,
      net,
      journals: new MemoryJournalStore(),
      log,
      sleep: async () => {
        sleeping = true;
        await delayed;
      },
    });
    await tunnel.init();
    const before = await snapshot(net);
    const opening = tunnel.open(pushed(o), SERVER, () => {});
    for (let i = 0; i < 100 && !sleeping; i++) await settle();
    assert.ok(sleeping, 'the open reached route-delay');
    const detached = tunnel.detach('sigterm');
    release?.();
    await opening;
    await detached;
    assert.deepEqual(await snapshot(net), before, 'routes added after the detach was asked for are undone too');
    await tunnel.close();
  });
});
