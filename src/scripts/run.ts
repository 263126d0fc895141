/**
 * Runs one user script as OpenVPN's openvpn_execve does (run_command.c): argv[0] is executed
 * directly (no shell, no PATH search: a bare name is looked up in the working directory), the
 * environment is exactly the env set it is given (nothing inherited), and the caller waits for
 * the exit. The script's stdout and stderr lines go to the log (OpenVPN lets them through to its
 * own stdout). Never: log the environment (setenv values, and with script-security 3 passwords,
 * live there).
 *
 *   spawn(argv[0], argv[1..], { env, shell: false }) --lines--> log.info
 *        `--exit--> { status } | { error: 'could not execute external program' }
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../log/logger.ts';

/** run_command.h OPENVPN_EXECVE_FAILURE: the exit status of a child whose execve() failed. */
export const OPENVPN_EXECVE_FAILURE = 127;
/** A script that never ends would hang the tunnel (OpenVPN waits forever); we give up and kill it. */
export const SCRIPT_TIMEOUT_MS = 120_000;

export type ScriptResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly why: string };

/** The port hooks.ts uses; tests pass a recorder. */
export type ScriptRunner = (argv: readonly string[], env: Readonly<Record<string, string>>) => Promise<ScriptResult>;

/** run_command.c system_error_message. */
export function describeExit(code: number | null, signal: string | null): ScriptResult {
  if (code === 0) return { ok: true };
  if (code === null) return { ok: false, why: `external program did not exit normally${signal === null ? '' : ` (${signal})`}` };
  if (code === OPENVPN_EXECVE_FAILURE) return { ok: false, why: 'could not execute external program' };
  return { ok: false, why: `external program exited with error status: ${code}` };
}

function pipeLines(stream: NodeJS.ReadableStream | null, log: Logger): void {
  if (stream === null) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) log.info(l);
  });
  stream.on('end', () => {
    if (rest !== '') log.info(rest);
  });
}

/** The real runner over child_process.spawn. */
export function spawnRunner(log: Logger, timeoutMs = SCRIPT_TIMEOUT_MS): ScriptRunner {
  return (argv, env) =>
    new Promise<ScriptResult>((resolve) => {
      const [cmd, ...args] = argv;
      if (cmd === undefined) {
        resolve({ ok: false, why: 'empty command' });
        return;
      }
      let settled = false;
      const done = (r: ScriptResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(r);
      };
      // execve(), not execvp(): a bare name is a file in the working directory.
      const file = cmd.includes('/') ? cmd : `./${cmd}`;
      const child = spawn(file, args, { argv0: cmd, env: { ...env }, shell: false, stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done({ ok: false, why: `external program did not exit within ${timeoutMs / 1000} s (killed)` });
      }, timeoutMs);
      pipeLines(child.stdout, log);
      pipeLines(child.stderr, log);
      child.on('error', () => done({ ok: false, why: 'could not execute external program' }));
      child.on('close', (code, signal) => done(describeExit(code, signal)));
    });
}
