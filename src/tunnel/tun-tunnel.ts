/**
 * The Tunnel port over a real TUN device and rtnetlink routing (OpenVPN's do_open_tun, do_ifconfig,
 * add_routes, undo_ifconfig/delete_routes, persist-tun).
 *
 *   create:  repair journals of dead runs -> open /dev/net/tun (fails early, naming the fix)
 *   open:    bestRoute(server) -> planNetwork -> apply op by op (journal saved write-ahead)
 *            -> DNS (src/dns, where 2.7 runs dns-updown) -> up script -> [route-delay] routes
 *            -> route-up script -> start the pump
 *   pump:    waitReadable -> drain readInto(one buffer) -> mssfix -> send(buf, n)
 *   write:   mssfix -> device.write
 *   detach:  stop the pump; without persist-tun undo DNS and the journal and close the device
 *   close:   stop, undo DNS, route-pre-down script, undo everything newest first, close the device,
 *            down script (before the close with down-pre), delete the journal
 *
 * Route failures are logged and skipped as OpenVPN does ("ERROR: Linux route add command
 * failed"); a route that exists already is named, never replaced. Device, link and address
 * failures are fatal. Never: shell out, allocate or throw per packet, log packet contents.
 */
import type { ClientOptions, ConnectionEntry } from '../config/index.ts';
import { OsError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Endpoint } from '../link/link.ts';
import type { SendFromTunnel, Tunnel, TunPacketSource } from './tunnel.ts';
import type { TunDevice } from '../tun/device.ts';
import type { LinuxTunOptions } from '../tun/linux-tun.ts';
import type { NetBackend } from '../routing/backend.ts';
import { applyOps, describeOp, NetJournal, repair, type JournalEntry } from '../routing/apply.ts';
import { planNetwork, type NetGateway, type NetOp, type PlanInput } from '../routing/plan.ts';
import { describeRoute, errnoOf, type RouteSpec } from '../routing/backend.ts';
import { canonicalAddr } from '../base/ip.ts';
import type { ServerPath } from '../core/path-monitor.ts';
import { GatewayLookup, type Gateways } from './gateways.ts';
import { frameOf, keepOp, planInputOf, redirected, sameOps } from './plan-input.ts';
import type { JournalStore } from '../routing/journal-store.ts';
import { clampMss, mssForFrame } from '../dataplane/mss.ts';
import { ICMP6_FALLBACK_SOURCE, ICMP6_REPLY_MAX, icmp6NoRoute, isIpv6 } from '../dataplane/icmp6.ts';
import { parseIPv6 } from '../base/ip.ts';
import type { OpenInfo } from './tunnel.ts';
import { peerChain, ScriptHooks } from '../scripts/hooks.ts';
import type { TunnelFacts } from '../scripts/env.ts';
import type { DnsApplier } from '../dns/native.ts';

/** Packets drained per wake-up before yielding to the event loop (socket reads, timers). */
const DRAIN_BATCH = 64;
/** One read buffer, large enough for any packet the kernel hands a tun fd. */
const READ_BUF_SIZE = 65536;
/** mtu.h TUN_MTU_DEFAULT. */
const TUN_MTU_DEFAULT = 1500;

export interface TunTunnelDeps {
  readonly openDevice: (o: LinuxTunOptions) => TunDevice;
  readonly net: NetBackend;
  readonly journals: JournalStore;
  readonly log: Logger;
  readonly sleep?: (ms: number) => Promise<void>;
  /** The user's up/route-up/route-pre-down/down scripts; none when undefined. */
  readonly hooks?: ScriptHooks | undefined;
  /** Applies the tunnel's DNS (src/dns); none when undefined. */
  readonly dns?: DnsApplier | undefined;
  /** Told the device's name each time it is opened (the kill switch allows it). */
  readonly onDevice?: ((name: string) => void) | undefined;
}

export class TunTunnelImpl implements Tunnel {
  readonly #o: ClientOptions;
  readonly #d: TunTunnelDeps;
  readonly #log: Logger;
  readonly #lookup: GatewayLookup;
  readonly #buf = new Uint8Array(READ_BUF_SIZE);
  #dev: TunDevice | undefined;
  #journal: NetJournal | undefined;
  #ops: readonly NetOp[] = [];
  #send: SendFromTunnel | undefined;
  #mss = 0;
  /** block-ipv6: the ICMPv6 source (ifconfig-ipv6 remote or fe80::7) while it is on, else undefined. */
  #block6: Uint8Array | undefined;
  #tunMtu = TUN_MTU_DEFAULT;
  readonly #reply6 = new Uint8Array(ICMP6_REPLY_MAX);
  /** The original gateways, read before the changes in #journal were made. */
  #gateways: Gateways | undefined;
  /** Bumped on detach/close so a pump armed by an earlier open stops. */
  #gen = 0;
  #closed = false;
  /** The open in progress, if any (settled, never rejects). */
  #opening: Promise<void> | undefined;
  /** The bypass re-point in progress, if any (settled, never rejects): a teardown waits for it. */
  #repointing: Promise<void> | undefined;
  /** Detaches and closes so far: a re-point asked for before one does nothing. */
  #detaches = 0;
  /** What the scripts of the current device configuration see; set once `up` ran (or would have). */
  #facts: TunnelFacts | undefined;
  /** Counters (status output, tests). */
  packetsIn = 0;
  packetsOut = 0;
  writeDrops = 0;
  /** IPv6 packets answered with ICMPv6 no-route instead of being sent (block-ipv6). */
  blockedIpv6 = 0;

  constructor(o: ClientOptions, deps: TunTunnelDeps) {
    this.#o = o;
    this.#d = deps;
    this.#log = deps.log;
    this.#lookup = new GatewayLookup(deps.net, deps.log);
  }

  get device(): TunDevice | undefined {
    return this.#dev;
  }

  /** Undoes what dead runs left behind, then opens the device (so a missing /dev/net/tun fails at start). */
  async init(): Promise<void> {
    const { journals, errors } = this.#d.journals.stale();
    for (const e of errors) this.#log.warn(`route journal ${e}: ignored`);
    for (const s of journals) {
      const report = await repair(s.journal, this.#d.net);
      this.#log.info(`repaired ${report.undone} leftover network change(s) on ${s.journal.dev} from a previous run (pid ${s.pid}, killed before cleaning up)`);
      for (const f of report.failures) this.#log.warn(`repair: ${describeOp(f.op)}: ${f.error.message}`);
      this.#d.journals.discard(s.file);
    }
    await this.#d.dns?.init();
    this.#openDevice(this.#o.connections[0]?.tunMtu ?? TUN_MTU_DEFAULT);
  }

  #openDevice(mtu: number): TunDevice {
    if (this.#dev !== undefined) return this.#dev;
    const dev = this.#d.openDevice({ dev: this.#o.dev, ...(this.#o.devType === undefined ? {} : { devType: this.#o.devType }), mtu, txqueuelen: this.#o.txqueuelen });
    this.#dev = dev;
    this.#log.info(`TUN/TAP device ${dev.name} opened`);
    this.#d.onDevice?.(dev.name);
    return dev;
  }

  /**
   * Configures the device for this connection. A detach or close that arrives meanwhile (a
   * signal during the up script or route-delay) waits for it, so every change it makes is
   * journaled before the undo runs.
   */
  open(pushed: ClientOptions, remote: Endpoint, send: SendFromTunnel | undefined, info?: OpenInfo): Promise<void> {
    const p = this.#open(pushed, remote, send, info);
    this.#opening = p.catch(() => undefined);
    return p;
  }

  async #open(pushed: ClientOptions, remote: Endpoint, send: SendFromTunnel | undefined, info?: OpenInfo): Promise<void> {
    if (this.#closed) throw new OsError('TUN_OPEN', 'the tunnel is closed');
    const ce = pushed.connections[info?.connectionIndex ?? 0] ?? pushed.connections[0];
    if (ce === undefined) throw new OsError('OS', 'no connection profile');
    const dev = this.#openDevice(ce.tunMtu);
    // With our changes still in place (persist-tun) the kernel's default route may be our own:
    // compare against a plan made with the gateways read before them, re-plan after undoing.
    let plan = planNetwork(await this.#planInput(pushed, remote, dev.name, ce, this.#journal === undefined ? undefined : this.#gateways));
    let ops = plan.ops.filter((op) => keepOp(op, pushed));
    if (this.#journal !== undefined && sameOps(ops, this.#ops)) {
      for (const w of plan.warnings) this.#log.warn(w);
      this.#log.info('Preserving previous TUN/TAP instance: ' + dev.name);
      await this.#d.dns?.up(pushed, dev.name);
      const f = await this.#factsFor(pushed, remote, dev.name, ce.tunMtu, info);
      if (this.#o.upRestart) await this.#d.hooks?.up(f, 'restart');
      this.#facts = f;
    } else {
      if (this.#journal !== undefined) {
        await this.#teardown('sigusr1', false);
        plan = planNetwork(await this.#planInput(pushed, remote, dev.name, ce, undefined));
        ops = plan.ops.filter((op) => keepOp(op, pushed));
      }
      for (const w of plan.warnings) this.#log.warn(w);
      await this.#apply(dev.name, ops, pushed, await this.#factsFor(pushed, remote, dev.name, ce.tunMtu, info));
    }
    this.#mss = mssForFrame(frameOf(pushed, ce, remote, info?.dataChannel));
    this.#log.verb(3, `mssfix: TCP MSS clamped to ${this.#mss} (IPv6 ${Math.max(0, this.#mss - 20)})`);
    this.#block6 = pushed.blockIpv6 ? (parseIPv6(pushed.ifconfigIpv6?.remote ?? '') ?? ICMP6_FALLBACK_SOURCE) : undefined;
    this.#tunMtu = ce.tunMtu;
    this.#send = send;
    if (send !== undefined) this.#startPump(dev);
  }

  packetSource(): TunPacketSource | undefined {
    const fd = this.#dev?.fd;
    return fd === undefined ? undefined : { fd, mss: this.#mss, tunMtu: this.#tunMtu, block6: this.#block6, vnetHdr: this.#dev?.vnetHdr === true };
  }

  write(packet: Uint8Array, len: number): void {
    const dev = this.#dev;
    if (dev === undefined || this.#send === undefined) {
      this.writeDrops++;
      return;
    }
    clampMss(packet, len, this.#mss);
    if (dev.write(packet, len) === 0) this.writeDrops++;
    else this.packetsOut++;
  }

  /** Roaming: the uplink toward the server now, our device left out (gateways.ts underlay). */
  async serverPath(remote: Endpoint): Promise<ServerPath | undefined> {
    const dev = this.#dev;
    return dev === undefined ? undefined : this.#lookup.underlay(remote.family, dev.name);
  }

  /**
   * Roaming: points the bypass host route to the server (redirect-gateway's /32 or /128 via the
   * original gateway) at `path`. Journaled write-ahead like every change, so teardown and a
   * hard-kill repair remove it; the old route is deleted if the kernel has not flushed it yet.
   * The gateways kept for persist-tun follow, so a reconnect keeps the device.
   */
  repointBypass(remote: Endpoint, path: ServerPath): Promise<void> {
    const detaches = this.#detaches;
    const p = (this.#repointing ?? Promise.resolve()).then(async () => {
      await this.#opening;
      // a detach or close since the call: its undo owns the journal now
      if (detaches === this.#detaches) await this.#repoint(remote, path);
    });
    this.#repointing = p.catch(() => undefined);
    return p;
  }

  async #repoint(remote: Endpoint, path: ServerPath): Promise<void> {
    const j = this.#journal;
    const tun = this.#dev?.name;
    const host = canonicalAddr(remote.address) ?? remote.address;
    const isBypass = (op: NetOp): op is Extract<NetOp, { op: 'route-add' }> =>
      op.op === 'route-add' && op.route.dst === host && op.route.prefixLen === (remote.family === 4 ? 32 : 128) && op.route.dev !== tun;
    const i = j?.entries.findIndex((e) => isBypass(e.done)) ?? -1;
    const old = j?.entries[i]?.done;
    if (j === undefined || old === undefined || !isBypass(old)) return;
    const { gateway: _g, ...rest } = old.route;
    const route: RouteSpec = { ...rest, dev: path.dev, ...(path.gateway === undefined ? {} : { gateway: path.gateway }) };
    if (old.route.dev === route.dev && old.route.gateway === route.gateway) {
      // the journal has it already: put it back only if the kernel flushed it (a link down and up)
      try {
        await this.#d.net.addRoute(route);
        this.#log.info(`roaming: bypass ${describeRoute(route)} restored`);
      } catch (e) {
        if (errnoOf(e) !== 'EEXIST') this.#log.error(`roaming: cannot restore the bypass route: ${(e as Error).message}`);
      }
      return;
    }
    const entry: JournalEntry = { done: { op: 'route-add', route }, undo: { op: 'route-del', route } };
    this.#d.journals.save(new NetJournal(j.dev, [...j.entries, entry]));
    await this.#d.net.delRoute(old.route).catch((e: unknown) => this.#log.verb(3, `roaming: old ${describeRoute(old.route)}: ${(e as Error).message}`));
    try {
      await this.#d.net.addRoute(route);
    } catch (e) {
      if (errnoOf(e) !== 'EEXIST') this.#log.error(`roaming: cannot re-point the bypass route: ${(e as Error).message}`);
    }
    j.replace(i, entry);
    this.#ops = this.#ops.map((op) => (isBypass(op) ? entry.done : op));
    const gw = this.#gateways;
    const moved = (g: NetGateway | undefined): NetGateway => ({ ...(g?.metric === undefined ? {} : { metric: g.metric }), dev: path.dev, ...(path.gateway === undefined ? {} : { gateway: path.gateway }) });
    if (gw !== undefined) this.#gateways = remote.family === 4 ? { ...gw, netGateway: moved(gw.netGateway) } : { ...gw, netGateway6: moved(gw.netGateway6) };
    this.#d.journals.save(j);
    this.#log.info(`roaming: bypass ${describeRoute(route)}`);
  }

  async detach(signal = 'sigusr1'): Promise<void> {
    await this.#opening;
    this.#gen++;
    this.#detaches++;
    await this.#repointing;
    this.#send = undefined;
    if (this.#o.persistTun) {
      const f = this.#facts;
      if (this.#o.upRestart && f !== undefined) await this.#d.hooks?.down(f, 'restart', signal, redirected(f.options));
      return;
    }
    await this.#teardown(signal, true);
  }

  async close(signal = 'sigterm'): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#opening;
    this.#gen++;
    this.#detaches++;
    await this.#repointing;
    this.#send = undefined;
    await this.#teardown(signal, true);
    this.#d.net.close();
  }

  /** init.c do_close_tun: route-pre-down, routes and addresses undone, [down-pre: down], close, down. */
  async #teardown(signal: string, closeDevice: boolean): Promise<void> {
    const f = this.#facts;
    const hooks = this.#d.hooks;
    this.#facts = undefined;
    const redir = f !== undefined && redirected(f.options);
    await this.#d.dns?.down();
    if (f !== undefined) await hooks?.routePreDown(f, signal, redir);
    await this.#undoJournal();
    if (f !== undefined && this.#o.downPre) await hooks?.down(f, 'init', signal, redir);
    if (closeDevice) this.#closeDevice();
    if (f !== undefined && !this.#o.downPre) await hooks?.down(f, 'init', signal, redir);
  }

  /** What the scripts see; the IPv4 default gateway is read for route_net_gateway only when a script is set. */
  async #factsFor(p: ClientOptions, remote: Endpoint, dev: string, tunMtu: number, info: OpenInfo | undefined): Promise<TunnelFacts> {
    const hooks = this.#d.hooks;
    const known = this.#gateways?.netGateway;
    const gw = hooks === undefined || !hooks.any ? undefined : (known ?? (await this.#lookup.defaultGateway4(false)));
    const gw6 = hooks === undefined || !hooks.any ? undefined : (this.#gateways?.netGateway6 ?? (await this.#d.net.bestRoute(remote.family === 6 ? remote.address : '::').catch(() => undefined)));
    return { options: p, remote, peerChain: peerChain(info?.peerCert), dev, devType: 'tun', tunMtu, netGateway: gw?.gateway, netGateway6: gw6?.gateway };
  }

  #closeDevice(): void {
    const dev = this.#dev;
    if (dev === undefined) return;
    this.#dev = undefined;
    dev.close();
    this.#log.info(`Closing TUN/TAP interface ${dev.name}`);
  }

  /** The pump: one closure per open, none per packet. */
  #startPump(dev: TunDevice): void {
    const gen = ++this.#gen;
    const buf = this.#buf;
    const drain = (): void => {
      const send = this.#send;
      if (gen !== this.#gen || send === undefined) return;
      for (let i = 0; i < DRAIN_BATCH; i++) {
        const n = dev.readInto(buf);
        if (n <= 0) {
          dev.waitReadable(drain);
          return;
        }
        this.packetsIn++;
        if (this.#block6 !== undefined && isIpv6(buf, n)) {
          this.#answerIpv6(dev, buf, n, this.#block6);
          continue;
        }
        clampMss(buf, n, this.#mss);
        send(buf, n);
      }
      setImmediate(drain);
    };
    dev.waitReadable(drain);
  }

  /** block-ipv6 (forward.c process_ip_header): the packet goes back to the tun as ICMPv6 no-route, never to the server. */
  #answerIpv6(dev: TunDevice, buf: Uint8Array, n: number, source: Uint8Array): void {
    this.blockedIpv6++;
    const len = icmp6NoRoute(buf, n, source, this.#tunMtu, this.#reply6);
    if (len > 0 && dev.write(this.#reply6, len) === 0) this.writeDrops++;
  }

  /** `known`: the gateways read before our changes (they may hide the real ones now). */
  async #planInput(p: ClientOptions, remote: Endpoint, dev: string, ce: ConnectionEntry, known: Gateways | undefined): Promise<PlanInput> {
    const gw = known ?? (await this.#lookup.forOptions(p, remote));
    if (known === undefined) this.#gateways = gw;
    return planInputOf(p, remote, dev, ce, gw);
  }

  /**
   * Applies op by op; the journal is saved before each change (write-ahead) and after. The up
   * script runs before the first route (a failed up undoes everything and is fatal), route-up
   * after the last.
   */
  async #apply(dev: string, ops: readonly NetOp[], p: ClientOptions, facts: TunnelFacts): Promise<void> {
    const journal = new NetJournal(dev);
    this.#journal = journal;
    this.#ops = ops;
    const store = this.#d.journals;
    const delayMs = (p.routeDelay?.seconds ?? 0) * 1000;
    let upDone = false;
    const up = async (): Promise<void> => {
      upDone = true;
      await this.#d.dns?.up(p, dev);
      try {
        await this.#d.hooks?.up(facts, 'init');
      } catch (e) {
        await this.#d.dns?.down();
        await this.#undoJournal();
        throw e;
      }
      this.#facts = facts;
      if (delayMs > 0) await (this.#d.sleep ?? sleep)(delayMs);
    };
    for (const op of ops) {
      const isRoute = op.op === 'route-add' || op.op === 'route-del';
      if (isRoute && !upDone) await up();
      const provisional = inverseForJournal(op);
      if (provisional !== undefined) store.save(new NetJournal(dev, [...journal.entries, provisional]));
      try {
        const one = await applyOps(this.#d.net, dev, [op]);
        for (const e of one.entries) journal.record(e);
        this.#log.verb(3, describeOp(op));
      } catch (e) {
        store.save(journal);
        if (isRoute) {
          this.#log.error(`ERROR: ${(e as Error).message}; skipped`);
          continue;
        }
        await this.#undoJournal();
        throw e;
      }
      store.save(journal);
    }
    if (!upDone) await up();
    await this.#d.hooks?.routeUp(facts, redirected(p));
  }

  async #undoJournal(): Promise<void> {
    const j = this.#journal;
    if (j === undefined) return;
    this.#journal = undefined;
    this.#ops = [];
    const report = await j.undo(this.#d.net, true);
    for (const f of report.failures) this.#log.warn(`cannot undo: ${describeOp(f.op)}: ${f.error.message}`);
    this.#log.verb(3, `${report.undone} network change(s) on ${j.dev} undone`);
    if (report.failures.length === 0) this.#d.journals.remove(j.dev);
    else this.#d.journals.save(j);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The write-ahead journal entry of an op that has a plain inverse (links are journaled after). */
function inverseForJournal(op: NetOp): JournalEntry | undefined {
  switch (op.op) {
    case 'addr-add':
      return { done: op, undo: { op: 'addr-del', addr: op.addr } };
    case 'route-add':
      return { done: op, undo: { op: 'route-del', route: op.route } };
    case 'route-del':
      return { done: op, undo: { op: 'route-add', route: op.route } };
    case 'addr-del':
      return { done: op, undo: { op: 'addr-add', addr: op.addr } };
    case 'link':
      return undefined;
  }
}
