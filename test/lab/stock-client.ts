/**
 * Runs a VPN client in the lab's client namespace: the stock `openvpn` 2.6 client, or ovpn-ts
 * (bin/ovpn-ts, the launcher of the bundle dist/bin/ovpn-ts.js), from a config text. Both are expected to print OpenVPN's
 * "Initialization Sequence Completed" once the tunnel is up.
 *
 * Test tooling. It must never run a client outside the lab namespace; it stops clients by PID.
 *
 *   configText -> <lab.dir>/client-<n>.ovpn
 *     -> ip netns exec ovts-c-<id> openvpn --config client-<n>.ovpn     (kind 'stock')
 *     -> ip netns exec ovts-c-<id> unshare -m (bind <lab>/resolv.conf over /etc/resolv.conf)
 *          bin/ovpn-ts --config ...                                           (kind 'ovpn-ts')
 *     -> waits (bounded) for "Initialization Sequence Completed"
 *
 * ovpn-ts applies pushed DNS by default (src/dns): every ovpn-ts client therefore runs in a
 * private mount namespace in which /etc/resolv.conf is a lab file, never the host's, with
 * `--dns-backend file` (a later `--dns-backend` in opts.args wins): on a host with resolvconf
 * installed, detection would otherwise pick it, and its records live in the host's /run.
 * A test that brings its own DNS service (opts.wrapper, test/lab/dns-sandbox.ts) gets detection.
 */

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetnsPair } from './netns.ts';
import { waitForLog, type LabProcess } from './proc.ts';
import { INIT_COMPLETE } from './server.ts';

export const CLIENT_KINDS = ['stock', 'ovpn-ts'] as const;
export type ClientKind = (typeof CLIENT_KINDS)[number];

/** Bound on reaching "Initialization Sequence Completed" (a lab handshake takes about a second). */
export const CLIENT_CONNECT_TIMEOUT_MS = 20_000;
/** Log lines after which the client will never connect. */
export const CLIENT_FATAL = [/AUTH_FAILED/, /Exiting due to fatal error/, /Options error:/, /process exiting/];

/**
 * The ovpn-ts CLI as shipped: the bundle `npm run build` makes (dist/bin/ovpn-ts.js, what
 * bin/ovpn-ts runs). OVTS_CLI overrides it (e.g. dist/src/cli/main.js, the unbundled modules).
 */
export function ovpnTsCliPath(): string {
  return process.env['OVTS_CLI'] ?? fileURLToPath(new URL('../../bin/ovpn-ts.js', import.meta.url));
}

/**
 * How a lab client runs ovpn-ts: the launcher as installed (bin/ovpn-ts, with the Node flags its
 * first line gives), or `node $OVTS_CLI` when OVTS_CLI names another entry.
 */
export function ovpnTsCommand(): string[] {
  const cli = process.env['OVTS_CLI'];
  return cli === undefined ? [fileURLToPath(new URL('../../../bin/ovpn-ts', import.meta.url))] : [process.execPath, cli];
}

export interface LabClient {
  readonly kind: ClientKind;
  readonly pid: number;
  readonly configFile: string;
  readonly logFile: string;
  readonly process: LabProcess;
  log(): string;
  stop(): Promise<void>;
}

export interface StartClientOptions {
  /** What to wait for before resolving; null resolves as soon as the process is started. */
  readonly waitFor?: RegExp | null;
  readonly timeoutMs?: number;
  /** Replaces CLIENT_FATAL (e.g. [] for a test that expects AUTH_FAILED and waits for it). */
  readonly failOn?: readonly RegExp[];
  /** Extra command-line arguments after --config. */
  readonly args?: readonly string[];
  /**
   * ovpn-ts only: the file bound over /etc/resolv.conf in the client's private mount namespace
   * (default: <lab.dir>/resolv.conf, created by labResolvConf).
   */
  readonly resolvConf?: string;
  /**
   * ovpn-ts only: replaces the private-mount wrapper; a command that sets up its own mount
   * namespace and then execs its arguments (e.g. with systemd-resolved and a private bus).
   */
  readonly wrapper?: readonly string[];
}

/** What the lab's private /etc/resolv.conf holds before a client changes it. */
export const LAB_RESOLV_CONF = '# ovts lab: private resolv.conf\nnameserver 127.0.0.1\noptions timeout:1 attempts:1\n';

/** The lab's private resolv.conf (created once per lab with LAB_RESOLV_CONF). */
export function labResolvConf(lab: NetnsPair): string {
  const file = join(lab.dir, 'resolv.conf');
  if (!existsSync(file)) writeFileSync(file, LAB_RESOLV_CONF, { mode: 0o644 });
  return file;
}

/** `unshare -m` with /etc/resolv.conf bound to `file`, then exec of the command (same PID). */
export function privateResolvConfWrapper(file: string): string[] {
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', file];
}

let clientCounter = 0;

export async function startClient(
  lab: NetnsPair,
  kind: ClientKind,
  configText: string,
  opts: StartClientOptions = {},
): Promise<LabClient> {
  clientCounter += 1;
  const base = join(lab.dir, `client-${clientCounter}-${kind}`);
  const configFile = `${base}.ovpn`;
  const logFile = `${base}.log`;
  writeFileSync(configFile, configText, { mode: 0o600 });
  const command = kind === 'stock' ? ['openvpn'] : ovpnTsCommand();
  const pinned = kind === 'ovpn-ts' && opts.wrapper === undefined ? ['--dns-backend', 'file'] : [];
  const argv = [...command, '--config', configFile, ...pinned, ...(opts.args ?? [])];
  const wrapped = kind === 'stock' ? argv : [...(opts.wrapper ?? privateResolvConfWrapper(opts.resolvConf ?? labResolvConf(lab))), ...argv];
  const proc = lab.client.spawn(wrapped[0] as string, wrapped.slice(1), { name: `${kind}-client-${clientCounter}`, logFile });
  const waitFor = opts.waitFor === undefined ? INIT_COMPLETE : opts.waitFor;
  if (waitFor !== null) {
    await waitForLog(proc, waitFor, {
      timeoutMs: opts.timeoutMs ?? CLIENT_CONNECT_TIMEOUT_MS,
      failOn: opts.failOn ?? CLIENT_FATAL,
    });
  }
  return {
    kind,
    pid: proc.pid,
    configFile,
    logFile,
    process: proc,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    stop: () => proc.stop(),
  };
}

/** The stock OpenVPN 2.6 client. */
export const startStockClient = (lab: NetnsPair, configText: string, opts?: StartClientOptions): Promise<LabClient> =>
  startClient(lab, 'stock', configText, opts);
