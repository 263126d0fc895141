/**
 * Lab process helpers: run a bounded command, spawn a long-running process whose output goes to
 * a log file, wait for a line to appear in that log, and stop a process by its PID.
 *
 * Test tooling only (child_process and fs are fine here). It must never signal a process it did
 * not start, never wait without a bound, and never kill anything by name.
 *
 *   spawnLogged(cmd) --stdout/stderr--> logFile
 *        |                                  ^
 *        +-- stop(): SIGTERM --(bound)--> SIGKILL, then await exit
 *   waitForLog(logFile, /pattern/, bound)  polls the file, fails fast if the process exits
 */

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';

/** Default bound for a short command (ip, ping, openssl). */
export const EXEC_TIMEOUT_MS = 20_000;
/** How long a stopped process gets between SIGTERM and SIGKILL. */
export const STOP_GRACE_MS = 3_000;
const POLL_MS = 100;

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  /** Bound on the command's run time (default EXEC_TIMEOUT_MS); it is killed after that. */
  readonly timeoutMs?: number;
  /** Resolve with a non-zero code instead of rejecting. */
  readonly allowFail?: boolean;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export class LabCommandError extends Error {
  readonly result: ExecResult;
  constructor(cmd: string, args: readonly string[], result: ExecResult) {
    const out = (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n');
    super(`command failed (exit ${result.code}): ${cmd} ${args.join(' ')}\n${out}`);
    this.name = 'LabCommandError';
    this.result = result;
  }
}

/** Runs a command to completion, bounded in time. Rejects on a non-zero exit unless allowFail. */
export function execBounded(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const timeout = opts.timeoutMs ?? EXEC_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      [...args],
      { timeout, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, env: opts.env ?? process.env, cwd: opts.cwd },
      (err, stdout, stderr) => {
        const errCode = (err as { code?: unknown } | null)?.code;
        const code = err === null ? 0 : typeof errCode === 'number' ? errCode : -1;
        const result: ExecResult = { code, stdout: String(stdout), stderr: String(stderr) };
        if (err !== null && typeof errCode !== 'number' && (err as { killed?: boolean }).killed) {
          reject(new Error(`command timed out after ${timeout} ms: ${cmd} ${args.join(' ')}`));
        } else if (code !== 0 && opts.allowFail !== true) {
          reject(new LabCommandError(cmd, args, result));
        } else {
          resolve(result);
        }
      },
    );
  });
}

/** A long-running process started by the lab. */
export interface LabProcess {
  readonly pid: number;
  readonly name: string;
  readonly logFile: string;
  /** Exit code or signal once it has exited, undefined while running. */
  exitStatus(): string | undefined;
  /** Resolves when the process has exited (whatever the reason). */
  readonly exited: Promise<void>;
  /** SIGTERM by PID, SIGKILL after STOP_GRACE_MS, then waits for the exit. Idempotent. */
  stop(): Promise<void>;
  /** Synchronous SIGKILL, for exit handlers. */
  killNow(): void;
}

/** Spawns cmd with stdout and stderr appended to logFile. */
export function spawnLogged(name: string, cmd: string, args: readonly string[], logFile: string): LabProcess {
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, [...args], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not spawn ${cmd}`);
  let status: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = signal !== null ? `signal ${signal}` : `exit ${code ?? '?'}`;
      resolve();
    });
    child.once('error', (e) => {
      status = `spawn error ${e.message}`;
      resolve();
    });
  });
  let stopping: Promise<void> | undefined;
  const signal = (sig: NodeJS.Signals): void => {
    if (status !== undefined) return;
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  return {
    pid,
    name,
    logFile,
    exited,
    exitStatus: () => status,
    stop() {
      stopping ??= (async () => {
        signal('SIGTERM');
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_GRACE_MS).unref());
        if ((await Promise.race([exited, timer])) === 'timeout') {
          signal('SIGKILL');
          await exited;
        }
      })();
      return stopping;
    },
    killNow: () => signal('SIGKILL'),
  };
}

/** The last `lines` lines of a log file ('' if it does not exist). */
export function logTail(file: string, lines = 30): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
}

export interface WaitForLogOptions {
  readonly timeoutMs: number;
  /** Patterns that mean "this will never succeed": fail at once. */
  readonly failOn?: readonly RegExp[];
}

/**
 * Polls proc's log file until `pattern` appears. Rejects (with the log tail) when the process
 * exits first, a failOn pattern appears, or the bound passes.
 */
export async function waitForLog(proc: LabProcess, pattern: RegExp, opts: WaitForLogOptions): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const text = existsSync(proc.logFile) ? readFileSync(proc.logFile, 'utf8') : '';
    if (pattern.test(text)) return;
    const bad = opts.failOn?.find((p) => p.test(text));
    const why =
      bad !== undefined
        ? `log matched ${String(bad)}`
        : proc.exitStatus() !== undefined
          ? `process exited (${proc.exitStatus() ?? ''})`
          : Date.now() > deadline
            ? `no ${String(pattern)} within ${opts.timeoutMs} ms`
            : undefined;
    if (why !== undefined) {
      throw new Error(`${proc.name} (pid ${proc.pid}): ${why}\n--- tail of ${proc.logFile} ---\n${logTail(proc.logFile)}`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
