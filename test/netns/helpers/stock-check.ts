/**
 * stock-check: asks the REAL OpenVPN 2.6 client whether it accepts a config file.
 *
 * The stock client is started on the file inside a throwaway network namespace that has only a
 * loopback interface, so nothing it does can leave the machine. It counts as ACCEPTED once it
 * logs a line that OpenVPN only prints after option parsing and after loading every key,
 * certificate, CRL and static key (at --verb 4, "Control Channel MTU parms" comes right after
 * the TLS context is built; resolving or opening the socket comes later still). It counts as
 * REJECTED if it exits first ("Options error: ...", "Cannot load ...", "Exiting due to fatal
 * error") or stays silent past the time bound.
 *
 * Prompts: the stock client cannot prompt without a tty, and many real configs say a bare
 * `auth-user-pass`, `static-challenge` or use an encrypted key. We add
 * `--management <sock> unix --management-query-passwords` and answer each ">PASSWORD:Need"
 * with throwaway test secrets, so the config file itself is used exactly as written.
 *
 *   ip netns add ovts-corpus-<pid>-<n>   (lo up, nothing else)
 *        │
 *        ├─ ip netns exec <ns> timeout -k 2 <bound> openvpn --config F --verb 4
 *        │      --management S unix --management-query-passwords
 *        │      stdout lines ──► classifyLine() ──► accepted | rejected | (keep reading)
 *        │      socket S     ──► answerPasswordQuery() ──► username/password replies
 *        │
 *        └─ finally: SIGTERM, SIGKILL after KILL_GRACE_MS, wait for exit, ip netns del, rm tmp dir
 *
 * Never: run outside a fresh namespace, print the secrets it answers with, leave a process or
 * namespace behind (tracked here; cleanupAll() is the backstop for an after() hook).
 * Test-only code: it shells out to `ip`, which product code must not do.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';

/** Temp dirs of this process's runs: their paths appear in every openvpn command line we start. */
const createdDirs: string[] = [];
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Namespaces made by this process all start with this; parallel test runs never collide. */
export const NS_PREFIX = `ovts-corpus-${process.pid}-`;
/** Upper bound for one stock-client run (brief: each openvpn run <= 10 s). */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Grace between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2_000;
/** Extra seconds before coreutils `timeout` kills openvpn on its own, should this process die. */
const SELF_KILL_SLACK_S = 5;
/** How often to retry connecting to the management socket while openvpn starts. */
const MGMT_RETRY_MS = 50;
/** Lines kept for the verdict's log excerpt. */
const LOG_KEEP = 40;

/** Lines OpenVPN 2.6 prints only after options and all key material were loaded (init.c order:
 * do_init_crypto, then do_init_frame / link socket setup). */
const ACCEPTED_MARKERS: readonly RegExp[] = [
  /Control Channel MTU parms/,
  /RESOLVE: /,
  /TCP\/UDP: /,
  /link local/,
  /Attempting to establish TCP connection/,
];
/** Lines that mean the config was rejected (the process then exits). */
const REJECTED_MARKERS: readonly RegExp[] = [
  /Options error/,
  /Cannot load/,
  /Verification Failed/,
  /Exiting due to fatal error/,
];
/** Less specific lines that usually explain a rejection better than the final "Exiting ..." line. */
const REASON_HINT = /error|fatal|cannot|failed|can't/i;
const GENERIC_EXIT = /Exiting due to fatal error/;

export type LineClass = 'accepted' | 'rejected' | null;

/** Throwaway secrets used to answer the stock client's password queries. */
export interface Secrets {
  readonly username: string;
  readonly password: string;
  readonly challengeResponse: string;
  readonly privateKeyPassword: string;
}

export const TEST_SECRETS: Secrets = {
  username: 'testuser',
  password: 'testpass',
  challengeResponse: '123456',
  privateKeyPassword: 'correct horse battery staple',
};

export interface StockCheckOptions {
  /** Working directory for openvpn (relative paths in configs resolve against it). */
  readonly cwd: string;
  readonly timeoutMs?: number;
  readonly secrets?: Secrets;
  readonly openvpn?: string;
}

export interface StockVerdict {
  readonly accepted: boolean;
  /** The deciding line, or why none came. */
  readonly reason: string;
  /** Last log lines (parameter dump omitted), for failure messages. */
  readonly log: readonly string[];
}

const liveChildren = new Set<ChildProcess>();
const liveNamespaces = new Set<string>();
let nsCounter = 0;

/** Classifies one stock-client log line. */
export function classifyLine(line: string): LineClass {
  if (ACCEPTED_MARKERS.some((re) => re.test(line))) return 'accepted';
  if (REJECTED_MARKERS.some((re) => re.test(line))) return 'rejected';
  return null;
}

/** Quotes a value for OpenVPN's management line parser. */
function mgmtQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Reply lines for one ">PASSWORD:" management notification, or [] if none is needed. */
export function answerPasswordQuery(line: string, secrets: Secrets): string[] {
  const m = /^>PASSWORD:Need '([^']+)' (username\/password|password)(?: SC:\d+,.*)?$/.exec(line);
  if (!m) return [];
  const type = m[1] ?? '';
  const wantsUser = m[2] === 'username/password';
  const isKey = type === 'Private Key';
  let pass = isKey ? secrets.privateKeyPassword : secrets.password;
  if (/ SC:\d+,/.test(line)) {
    const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');
    pass = `SCRV1:${b64(pass)}:${b64(secrets.challengeResponse)}`;
  }
  const out: string[] = [];
  if (wantsUser) out.push(`username ${mgmtQuote(type)} ${mgmtQuote(secrets.username)}`);
  out.push(`password ${mgmtQuote(type)} ${mgmtQuote(pass)}`);
  return out;
}

async function addNamespace(): Promise<string> {
  const name = `${NS_PREFIX}${nsCounter++}`;
  await run('ip', ['netns', 'add', name]);
  liveNamespaces.add(name);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return name;
}

async function deleteNamespace(name: string): Promise<void> {
  try {
    await run('ip', ['netns', 'del', name]);
  } catch {
    // already gone
  }
  liveNamespaces.delete(name);
}

/** Namespaces whose names start with `prefix` that currently exist. */
export async function listNamespaces(prefix = NS_PREFIX): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

/** Number of stock-client processes started here that have not exited yet. */
export function liveProcessCount(): number {
  return liveChildren.size;
}

/** PIDs of processes (any namespace) whose command line names a temp dir this module created. */
export function strayProcesses(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${name}/cmdline`, 'latin1');
    } catch {
      continue;
    }
    if (createdDirs.some((d) => cmd.includes(d))) out.push(Number(name));
  }
  return out;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * SIGTERM to the child's process group (coreutils timeout and the openvpn under it, both ours),
 * SIGKILL to the group after the grace period, then wait (bounded) for the exit. Signalling
 * the group matters: killing `timeout` alone would orphan an openvpn that waits for a password.
 */
async function stop(child: ChildProcess): Promise<void> {
  const group = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // the group is already gone
    }
  };
  if (child.exitCode === null && child.signalCode === null) {
    group('SIGTERM');
    if (!(await waitExit(child, KILL_GRACE_MS))) {
      group('SIGKILL');
      await waitExit(child, KILL_GRACE_MS);
    }
  }
  group('SIGKILL');
  liveChildren.delete(child);
}

/** Kills every tracked child and deletes every namespace with this process's prefix. */
export async function cleanupAll(): Promise<void> {
  await Promise.all([...liveChildren].map(stop));
  const names = new Set([...liveNamespaces, ...(await listNamespaces())]);
  await Promise.all([...names].map(deleteNamespace));
}

/** Connects to the management socket, retrying while openvpn starts; answers password queries. */
function serveManagement(path: string, secrets: Secrets, isDone: () => boolean): () => void {
  let sock: Socket | null = null;
  let timer: NodeJS.Timeout | null = null;
  const attempt = (): void => {
    if (isDone()) return;
    const s = connect(path);
    s.on('error', () => {
      // before connecting: openvpn not listening yet, retry; after: it went away, nothing to do
      s.destroy();
      if (sock !== s && !isDone()) timer = setTimeout(attempt, MGMT_RETRY_MS);
    });
    s.on('connect', () => {
      sock = s;
      // readline re-emits input errors on the interface; the socket handler above covers them
      const rl = createInterface({ input: s });
      rl.on('error', () => {});
      rl.on('line', (line) => {
        for (const reply of answerPasswordQuery(line.trimEnd(), secrets)) s.write(`${reply}\n`);
      });
    });
  };
  attempt();
  return () => {
    if (timer) clearTimeout(timer);
    sock?.destroy();
  };
}

/** Runs the stock client on `configPath` in a fresh namespace and returns its verdict. */
export async function runStockClient(configPath: string, options: StockCheckOptions): Promise<StockVerdict> {
  const ns = await addNamespace();
  const tmp = mkdtempSync(join(tmpdir(), 'ovts-corpus-'));
  createdDirs.push(tmp);
  const mgmt = join(tmp, 'mgmt.sock');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // `ip netns exec` execs in place, so child.pid is coreutils timeout's PID; it forwards our
  // SIGTERM to openvpn and also kills openvpn by itself if this test process dies first.
  const selfKill = `${Math.ceil(timeoutMs / 1000) + SELF_KILL_SLACK_S}`;
  const args = ['netns', 'exec', ns, 'timeout', '-k', '2', selfKill, options.openvpn ?? 'openvpn',
    '--config', configPath, '--verb', '4', '--management', mgmt, 'unix', '--management-query-passwords'];
  // detached: its own process group, so stop() can signal timeout and openvpn together.
  const child = spawn('ip', args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  liveChildren.add(child);
  let verdict: StockVerdict | null = null;
  let stopMgmt = (): void => {};
  try {
    verdict = await new Promise<StockVerdict>((resolve) => {
      const log: string[] = [];
      let strong = '';
      let hint = '';
      const decide = (accepted: boolean, why: string): void => {
        if (verdict) return;
        verdict = { accepted, reason: why, log: log.slice(-LOG_KEEP) };
        resolve(verdict);
      };
      const onLine = (raw: string): void => {
        const line = raw.replace(/^\S+ \S+ us=\d+ /, '');
        if (line.startsWith('  ')) return; // parameter dump
        log.push(line);
        const cls = classifyLine(line);
        if (cls === 'accepted') decide(true, line);
        else if (cls === 'rejected' && !strong && !GENERIC_EXIT.test(line)) strong = line;
        else if (!hint && REASON_HINT.test(line)) hint = line;
      };
      for (const input of [child.stdout!, child.stderr!]) {
        createInterface({ input }).on('line', onLine).on('error', () => {});
      }
      stopMgmt = serveManagement(mgmt, options.secrets ?? TEST_SECRETS, () => verdict !== null);
      const timer = setTimeout(() => decide(false, `no verdict within ${timeoutMs} ms`), timeoutMs);
      // 'close', not 'exit': only then have stdout and stderr delivered their last lines
      // (deciding on 'exit' raced them and sometimes took a mere note as the reason).
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        setImmediate(() => decide(false, strong || hint || `exited (code ${code}, signal ${signal}) before any marker`));
      });
      child.on('error', (err) => decide(false, `spawn failed: ${err.message}`));
    });
    return verdict;
  } finally {
    stopMgmt();
    await stop(child);
    await deleteNamespace(ns);
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/src/cli/main.js --check --config FILE` (bounded) with cwd = repository root. */
export async function runCliCheck(configPath: string, repoRoot: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CliResult> {
  const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, '--check', '--config', configPath], {
      cwd: repoRoot,
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: unknown; stdout?: string; stderr?: string; message?: string };
    const code = typeof e.code === 'number' ? e.code : null;
    return { code, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message ?? '' };
  }
}
