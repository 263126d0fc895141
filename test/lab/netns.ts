/**
 * Two network namespaces joined by a veth pair: the lab's "server" and "client" hosts.
 *
 * Test tooling (runs as root). It must never touch the root namespace: the veth pair is created
 * inside the server namespace with its peer moved straight into the client namespace, and every
 * address, route and TUN device lives inside those two. Processes are stopped by PID only.
 *
 *   ovts-s-<id>                              ovts-c-<id>
 *   +------------------------+   veth pair   +------------------------+
 *   | veth-s 198.18.X.1/30   |===============| veth-c 198.18.X.2/30   |
 *   |   fd00:6f76:7473:X::1  |               |   fd00:6f76:7473:X::2  |
 *   +------------------------+               +------------------------+
 *
 * <id> is the creating PID in base 36 plus 3 random base-36 characters, so a later run can tell
 * which namespaces were leaked by a dead process (cleanupStaleNamespaces) and remove only those.
 * A marker file /run/ovts-lab/<id> is written before the namespaces exist; a namespace without
 * its marker is never deleted by the stale sweep.
 */

import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execBounded, logTail, spawnLogged, type ExecOptions, type ExecResult, type LabProcess } from './proc.ts';

/** Where lab markers live (tmpfs, cleared at boot like /run/netns itself). */
export const MARKER_DIR = '/run/ovts-lab';
const NAME_RE = /^ovts-([sc])-([0-9a-z]{4,8})$/;
const RAND_CHARS = 3;
/** Interface names inside the namespaces (kernel limit 15 characters). */
export const VETH_SERVER = 'veth-s';
export const VETH_CLIENT = 'veth-c';

export interface Netns {
  readonly name: string;
  /** Runs cmd inside the namespace to completion, bounded in time. */
  exec(cmd: string, args: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Starts cmd inside the namespace; output goes to a log file in the lab dir. Tracked for destroy(). */
  spawn(cmd: string, args: readonly string[], opts?: { readonly name?: string; readonly logFile?: string }): LabProcess;
}

export interface NetnsPair {
  readonly id: string;
  /** Private temp dir for configs and logs; removed by destroy() unless keepDir/OVTS_LAB_KEEP=1. */
  readonly dir: string;
  readonly server: Netns;
  readonly client: Netns;
  readonly serverAddr4: string;
  readonly clientAddr4: string;
  readonly serverAddr6: string;
  readonly clientAddr6: string;
  /** Every process spawned in either namespace, in start order. */
  readonly processes: readonly LabProcess[];
  /** Stops every process the lab started (by PID), deletes both namespaces and the marker. Idempotent. */
  destroy(): Promise<void>;
}

export interface NetnsPairOptions {
  readonly keepDir?: boolean;
}

/** Shell convention for "terminated by SIGINT / SIGTERM": 128 + signal number. */
const EXIT_SIGINT = 130;
const EXIT_SIGTERM = 143;

const live = new Set<{ ids: string[]; procs: LabProcess[]; marker: string; dir: string | undefined }>();
let handlersInstalled = false;
let staleSwept = false;

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', destroyAllSync);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    // process.exit (not re-raising the signal) so other 'exit' handlers, e.g. the PKI dir's, run too.
    const onSignal = (): void => {
      destroyAllSync();
      process.exit(sig === 'SIGINT' ? EXIT_SIGINT : EXIT_SIGTERM);
    };
    process.on(sig, onSignal);
  }
}

/** Last-resort synchronous cleanup for 'exit' and signals: SIGKILL by PID, then `ip netns del`. */
function destroyAllSync(): void {
  for (const entry of live) {
    for (const p of entry.procs) p.killNow();
    for (const ns of entry.ids) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5_000 });
      } catch {
        // already gone
      }
    }
    rmSync(entry.marker, { force: true });
    if (entry.dir !== undefined) rmSync(entry.dir, { recursive: true, force: true });
  }
  live.clear();
}

function makeId(): string {
  let rand = '';
  for (let i = 0; i < RAND_CHARS; i++) rand += randomInt(36).toString(36);
  return process.pid.toString(36) + rand;
}

function makeNetns(name: string, dir: string, procs: LabProcess[]): Netns {
  let counter = 0;
  return {
    name,
    exec: (cmd, args, opts) => execBounded('ip', ['netns', 'exec', name, cmd, ...args], opts),
    spawn(cmd, args, opts = {}) {
      counter += 1;
      const label = opts.name ?? `${cmd.split('/').pop() ?? cmd}-${counter}`;
      const logFile = opts.logFile ?? join(dir, `${name}-${label}.log`);
      const p = spawnLogged(`${label}@${name}`, 'ip', ['netns', 'exec', name, cmd, ...args], logFile);
      procs.push(p);
      return p;
    },
  };
}

/** Creates the two namespaces, the veth pair and its IPv4/IPv6 addresses. */
export async function createNetnsPair(opts: NetnsPairOptions = {}): Promise<NetnsPair> {
  installExitHandlers();
  if (!staleSwept) {
    staleSwept = true;
    await cleanupStaleNamespaces();
  }
  const id = makeId();
  const x = randomInt(256);
  const sName = `ovts-s-${id}`;
  const cName = `ovts-c-${id}`;
  const dir = mkdtempSync(join(tmpdir(), `ovts-lab-${id}-`));
  const marker = join(MARKER_DIR, id);
  mkdirSync(MARKER_DIR, { recursive: true });
  writeFileSync(marker, `${process.pid}\n`);
  const procs: LabProcess[] = [];
  const keepDir = opts.keepDir === true || process.env['OVTS_LAB_KEEP'] === '1';
  const entry = { ids: [sName, cName], procs, marker, dir: keepDir ? undefined : dir };
  live.add(entry);

  const addr4 = (h: number): string => `198.18.${x}.${h}`;
  const addr6 = (h: number): string => `fd00:6f76:7473:${x.toString(16)}::${h}`;
  let destroyed: Promise<void> | undefined;
  const destroy = (): Promise<void> => {
    destroyed ??= (async () => {
      await Promise.all(procs.map((p) => p.stop()));
      for (const ns of entry.ids) await execBounded('ip', ['netns', 'del', ns], { allowFail: true });
      rmSync(marker, { force: true });
      live.delete(entry);
      if (!keepDir) rmSync(dir, { recursive: true, force: true });
    })();
    return destroyed;
  };

  try {
    const ip = (...args: string[]): Promise<ExecResult> => execBounded('ip', args);
    await ip('netns', 'add', sName);
    await ip('netns', 'add', cName);
    await ip('-n', sName, 'link', 'set', 'lo', 'up');
    await ip('-n', cName, 'link', 'set', 'lo', 'up');
    await ip('-n', sName, 'link', 'add', VETH_SERVER, 'type', 'veth', 'peer', 'name', VETH_CLIENT, 'netns', cName);
    await ip('-n', sName, 'addr', 'add', `${addr4(1)}/30`, 'dev', VETH_SERVER);
    await ip('-n', cName, 'addr', 'add', `${addr4(2)}/30`, 'dev', VETH_CLIENT);
    await ip('-n', sName, 'addr', 'add', `${addr6(1)}/64`, 'dev', VETH_SERVER, 'nodad');
    await ip('-n', cName, 'addr', 'add', `${addr6(2)}/64`, 'dev', VETH_CLIENT, 'nodad');
    await ip('-n', sName, 'link', 'set', VETH_SERVER, 'up');
    await ip('-n', cName, 'link', 'set', VETH_CLIENT, 'up');
  } catch (e) {
    await destroy();
    throw e;
  }
  return {
    id,
    dir,
    server: makeNetns(sName, dir, procs),
    client: makeNetns(cName, dir, procs),
    serverAddr4: addr4(1),
    clientAddr4: addr4(2),
    serverAddr6: addr6(1),
    clientAddr6: addr6(2),
    processes: procs,
    destroy,
  };
}

/** Names of the network namespaces that currently exist. */
export async function listNamespaces(): Promise<string[]> {
  const r = await execBounded('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

/** Whether a process with this pid exists (signal 0; EPERM means it does). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes lab namespaces leaked by a process that no longer exists: only names of the form
 * ovts-[sc]-<pid36><rand3> that have a lab marker and whose creator PID is dead. Returns them.
 */
export async function cleanupStaleNamespaces(): Promise<string[]> {
  const removed: string[] = [];
  const staleIds = new Set<string>();
  for (const name of await listNamespaces()) {
    const m = NAME_RE.exec(name);
    const id = m?.[2];
    if (id === undefined) continue;
    const pid = Number.parseInt(id.slice(0, -RAND_CHARS), 36);
    if (pid === process.pid || isAlive(pid) || !existsSync(join(MARKER_DIR, id))) continue;
    await execBounded('ip', ['netns', 'del', name], { allowFail: true });
    removed.push(name);
    staleIds.add(id);
  }
  for (const id of staleIds) rmSync(join(MARKER_DIR, id), { force: true });
  return removed;
}

/** Prints the tail of every lab process log to stderr (used when a lab callback fails). */
export function printLogTails(pair: Pick<NetnsPair, 'processes'>, lines = 25): void {
  for (const p of pair.processes) {
    const tail = logTail(p.logFile, lines);
    if (tail !== '') process.stderr.write(`--- ${p.name} (${p.exitStatus() ?? 'running'}): ${p.logFile} ---\n${tail}\n`);
  }
}

export interface WithLabOptions extends NetnsPairOptions {
  /** Do not print the process log tails when fn fails (for tests that fail on purpose). */
  readonly quiet?: boolean;
}

/** Creates a pair, runs fn, and always destroys the pair (printing log tails if fn failed). */
export async function withLab<T>(fn: (lab: NetnsPair) => Promise<T>, opts: WithLabOptions = {}): Promise<T> {
  const lab = await createNetnsPair(opts);
  try {
    return await fn(lab);
  } catch (e) {
    if (opts.quiet !== true) printLogTails(lab);
    throw e;
  } finally {
    await lab.destroy();
  }
}
