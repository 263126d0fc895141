/**
 * The process around the client: runs Client until a signal or a fatal error, with the parts that
 * outlive a SIGHUP reload (counters, the management interface, systemd, the daemon parent), the
 * signal handlers, the status and pid files, the kill switch, and the TUN tunnel's adapters.
 *
 *   runClient ─▶ runOnce(options) ─┬─ exit ─▶ exit code
 *                                  └─ SIGHUP with a configuration that loads ─▶ runOnce(new options)
 */
import { rmSync } from 'node:fs';
import { setPriority } from 'node:os';
import type { ClientOptions } from '../config/index.ts';
import { ConfigErrors, ExitCode, NotImplementedError, OsError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { startStatusFile } from './status-file.ts';
import { NullTunnel, type Tunnel } from '../tunnel/tunnel.ts';
import { ScriptHooks } from '../scripts/hooks.ts';
import { packageVersion } from '../cli/version.ts';
import { formatStatus, TrafficStats } from './status.ts';
import { unsupportedProxy } from './proxy-setup.ts';
import { setUpKillSwitch, type LeakGuard } from './kill-switch-setup.ts';
import { ManagementLink } from './management-link.ts';
import { SystemdNotifier } from './systemd-notify.ts';
import type { ProcessObserver } from './process-observer.ts';
import { daemonReady } from './daemon-ready.ts';
import { Client } from './client.ts';
import { workerWanted } from './data-plane.ts';
import { limitMallocArenas } from '../platform/libc.ts';
import type { LinuxTunOptions } from '../tun/linux-tun.ts';
import type { TunDevice } from '../tun/device.ts';
import { dropObserver, helperOf, openAfterDrop, privilegeTarget, type PrivState } from './privilege-drop.ts';

function banner(log: Logger): void {
  log.info(`ovpn-ts ${packageVersion()} (OpenVPN 2.6 compatible) [Node ${process.versions.node}] [OpenSSL ${process.versions.openssl}]`);
}

/**
 * What the configuration asks for that ovpn-ts does not do yet and must not silently skip:
 * a proxy authentication method other than Basic, a verification script (we would accept servers it
 * refuses), other trust anchors. `--check` accepts these configs with a warning.
 */
export function refusedAtConnect(o: ClientOptions): string[] {
  const out: string[] = [];
  for (const c of o.connections) {
    const why = unsupportedProxy(c);
    if (why !== undefined && !out.includes(why)) out.push(why);
  }
  if (o.scripts['tls-verify'] !== undefined) out.push('tls-verify is not implemented yet: the script would not run, and servers it refuses would be accepted');
  if (o.capath !== undefined && o.ca === undefined) out.push('capath is not implemented yet: put the CA certificates in a ca file');
  if (o.peerFingerprints.length > 0 && o.ca === undefined) out.push('peer-fingerprint is not implemented yet: use ca with the CA certificate of the server');
  return out;
}

/** What the composition root lends the shell: re-reading the configuration for SIGHUP. */
export interface ClientHooks {
  /** The configuration as it is now on disk (throws ConfigErrors when it no longer loads). */
  readonly reload?: () => ClientOptions;
}

/** Runs the client until a signal or a fatal error; returns the process exit code. */
/** What stays across SIGHUP reloads: counters, the management interface, systemd, the daemon parent. */
interface ProcessParts {
  readonly stats: TrafficStats;
  readonly mgmt: ManagementLink | undefined;
  readonly observers: readonly ProcessObserver[];
  /** user/group: the helper and whether the drop happened (once per process). */
  readonly priv: PrivState | undefined;
}

export async function runClient(first: ClientOptions, shellLog: Logger, hooks: ClientHooks = {}): Promise<number> {
  limitMallocArenas(1); // before the data-plane worker and the TUN open start threads
  const stats = new TrafficStats();
  const target = privilegeTarget(first);
  const priv: PrivState | undefined = target === undefined ? undefined : { target, helper: undefined, dropped: false };
  // opened once, before the first attempt, and kept across SIGHUP reloads (as 2.6's management)
  const mgmt = await ManagementLink.open(first, shellLog, stats);
  const log = mgmt?.logger ?? shellLog;
  const systemd = SystemdNotifier.fromEnv(process.env, log);
  const daemonChild = process.send !== undefined && process.env['OVPN_TS_DAEMON_CHILD'] === '1';
  const parts: ProcessParts = { stats, mgmt, observers: [...(mgmt === undefined ? [] : [mgmt]), ...(systemd === undefined ? [] : [systemd]), ...(daemonChild ? [daemonReady()] : [])], priv };
  try {
    let o = first;
    for (;;) {
      const r = await runOnce(o, log, hooks, parts);
      if (r.kind === 'exit') return r.code;
      o = r.options;
      mgmt?.restarted();
    }
  } finally {
    systemd?.close();
    await mgmt?.close();
    priv?.helper?.close();
  }
}

/** SIGHUP: the new options, or undefined (logged) when the configuration no longer loads. */
function reloadOptions(log: Logger, reload: () => ClientOptions): ClientOptions | undefined {
  try {
    return reload();
  } catch (e) {
    const errors = e instanceof ConfigErrors ? e.errors.map((x) => x.message) : [(e as Error).message];
    for (const m of errors) log.error(`SIGHUP: ${m}`);
    log.error(`SIGHUP: the configuration no longer loads (${errors.length} error${errors.length === 1 ? '' : 's'}); the current session continues with the configuration it started with`);
    return undefined;
  }
}

async function runOnce(o: ClientOptions, log: Logger, hooks: ClientHooks, parts: ProcessParts): Promise<{ kind: 'exit'; code: number } | { kind: 'reload'; options: ClientOptions }> {
  banner(log);
  const refused = refusedAtConnect(o);
  if (refused.length > 0) {
    for (const r of refused) log.error(r);
    throw new NotImplementedError(refused.join('; '));
  }
  for (const words of o.echo) log.verb(3, `echo ${words.join(' ')}`);
  if (o.nice !== 0) setPriority(o.nice);
  // The kill switch learns the tun device's name whenever it is (re)opened.
  const dev: { name?: string; guard?: LeakGuard | undefined } = {};
  const onDevice = (name: string): void => {
    dev.name = name;
    dev.guard?.setTunDev(name).catch((e: unknown) => log.error(`kill switch: ${(e as Error).message}`));
  };
  const tunnel: Tunnel = o.dev === 'null' ? new NullTunnel(Object.keys(o.scripts).length === 0 ? undefined : new ScriptHooks(o, { log })) : await openTunTunnel(o, log, onDevice, parts.priv);
  if (o.writepid !== undefined) writePid(o.writepid);
  const drop = parts.priv === undefined ? [] : [dropObserver(parts.priv, log, (e) => onFatal(e))];
  const client = new Client(o, log, tunnel, parts.mgmt, parts.stats, [...parts.observers, ...drop]);
  let reloaded: ClientOptions | undefined;
  const onTerm = (): void => client.requestStop('SIGTERM');
  const onInt = (): void => client.requestStop('SIGINT');
  const onHup = (): void => {
    if (hooks.reload === undefined) return client.requestRestart('SIGHUP');
    if (parts.priv?.dropped === true) {
      // The files a reload reads and the changes a new start makes need the privileges dropped.
      log.warn('SIGHUP: the configuration is not re-read after the privilege drop (user/group); restarting the connection instead');
      return client.requestRestart('SIGHUP');
    }
    const next = reloadOptions(log, hooks.reload);
    if (next === undefined) return;
    reloaded = next;
    client.requestStop('SIGHUP');
  };
  // remap-usr1: SIGUSR1 acts as SIGHUP or SIGTERM (for SIGUSR1 sent by tools that mean otherwise).
  const onUsr1 = (): void => (o.remapUsr1 === 'SIGTERM' ? client.requestStop('SIGTERM') : o.remapUsr1 === 'SIGHUP' ? onHup() : client.requestRestart('SIGUSR1'));
  const onUsr2 = (): void => {
    client.stats.refresh?.();
    for (const line of formatStatus(client.stats, new Date()).trimEnd().split('\n')) log.info(line);
  };
  const status = o.status === undefined ? undefined : startStatusFile(o.status.path, o.status.seconds, client.stats, log);
  const onFatal = (err: unknown): void => {
    if (err instanceof OsError) log.error(err.message);
    else log.error(`internal error: ${err instanceof Error ? err.message : String(err)} (this is a bug; tearing down)`);
    process.exitCode = ExitCode.ERROR;
    client.requestStop('SIGTERM');
  };
  // `signal X` from the management interface does what the process signal does
  parts.mgmt?.handlers(
    (sig, reason) => {
      if (sig === 'SIGTERM' || sig === 'SIGINT') client.requestStop(sig);
      else if (sig === 'SIGUSR2') onUsr2();
      else if (sig === 'SIGHUP') onHup();
      else if (reason === undefined) client.requestRestart(sig);
      else client.requestRestart(sig, reason);
    },
    () => client.forgetPasswords(),
  );
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGUSR1', onUsr1);
  process.on('SIGHUP', onHup);
  process.on('SIGUSR2', onUsr2);
  process.on('uncaughtException', onFatal);
  process.on('unhandledRejection', onFatal);
  let guard: LeakGuard | undefined;
  let reloading = false;
  try {
    // Before the first packet to a server; removed below on every exit path (docs/leak-protection.md).
    try {
      const helper = parts.priv === undefined ? undefined : await helperOf(parts.priv, undefined, log);
      guard = await setUpKillSwitch(o, log.scope('route'), dev.name, helper);
    } catch (e) {
      await tunnel.close('error');
      throw e;
    }
    dev.guard = guard;
    client.useGuard(guard);
    const code = await client.run();
    if (reloaded !== undefined && (process.exitCode ?? 0) === 0) {
      reloading = true; // the kill switch stays for the next run to take over: no gap between the two
      return { kind: 'reload', options: reloaded };
    }
    return { kind: 'exit', code: typeof process.exitCode === 'number' && process.exitCode !== 0 ? process.exitCode : code };
  } finally {
    if (o.writepid !== undefined) removePid(o.writepid, log);
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGUSR1', onUsr1);
    process.off('SIGHUP', onHup);
    process.off('SIGUSR2', onUsr2);
    status?.stop();
    process.off('uncaughtException', onFatal);
    process.off('unhandledRejection', onFatal);
    if (!reloading) await guard?.remove().catch((e: unknown) => log.error(`kill switch: cannot remove the rules: ${(e as Error).message} (nft delete table inet ovpn_ts removes them)`));
  }
}

/** After the privilege drop the pid file may be out of reach (as in 2.6, which leaves it). */
function removePid(path: string, log: Logger): void {
  try {
    rmSync(path, { force: true });
  } catch (e) {
    log.warn(`cannot remove the pid file ${path}: ${(e as Error).message}`);
  }
}

function writePid(path: string): void {
  try {
    writeFileAtomic(path, `${process.pid}\n`);
  } catch (e) {
    throw new OsError('OS', `cannot write the pid file ${path} (writepid): ${(e as Error).message}`, { cause: e });
  }
}

/**
 * The TUN tunnel with its adapters (koffi TUN, rtnetlink, the journal files, DNS), chosen here in
 * the shell; loaded on demand so that `dev null` and --check never load them.
 */
async function openTunTunnel(o: ClientOptions, shellLog: Logger, onDevice: (name: string) => void, priv: PrivState | undefined): Promise<Tunnel> {
  const log = shellLog.scope('tun');
  const [{ TunTunnelImpl }, { openLinuxTun }, { NetlinkBackend }, { FileJournalStore }, { createDnsApplier }] = await Promise.all([
    import('../tunnel/tun-tunnel.ts'),
    import('../tun/linux-tun.ts'),
    import('../routing/netlink-backend.ts'),
    import('../routing/journal-store.ts'),
    import('../dns/create.ts'),
  ]);
  // With user/group the helper writes the journals and applies DNS (it stays root after the drop).
  let helper = priv?.helper;
  const dns = await createDnsApplier(o, log, undefined, priv === undefined ? undefined : async (choice, local) => (helper = await helperOf(priv, choice, log)).dnsBackend(local));
  if (priv !== undefined && helper === undefined) helper = await helperOf(priv, undefined, log);
  const net = new NetlinkBackend();
  const hooks = Object.keys(o.scripts).length === 0 ? undefined : new ScriptHooks(o, { log });
  const journals = helper === undefined ? new FileJournalStore() : helper.journalStore(new FileJournalStore());
  // IFF_VNET_HDR for the worker's TCP coalescing (OVPN_TS_GRO=off: plain packets, for comparison)
  const vnetHdr = workerWanted(o, process.env) && process.env['OVPN_TS_GRO'] !== 'off';
  const open = (d: LinuxTunOptions): TunDevice => openLinuxTun({ ...d, vnetHdr });
  const openDevice = priv === undefined ? open : openAfterDrop(priv, open);
  const t = new TunTunnelImpl(o, { openDevice, net, journals, log, hooks, dns, onDevice });
  try {
    await t.init();
  } catch (e) {
    net.close();
    throw e;
  }
  return t;
}
