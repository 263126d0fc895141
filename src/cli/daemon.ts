/**
 * `daemon [name]`: run in the background, for SysV-style init scripts. Node cannot fork(), so
 * the command runs itself again as a detached child (its own session, no terminal, output to
 * `log FILE` or to syslog under NAME) and waits until the child says the tunnel is up; then it
 * exits 0 and the child goes on. The child writes `writepid` with its own pid.
 *
 *   parent: config checked ─▶ spawn child (setsid, IPC) ─┬─ "ready" (tunnel up) ─▶ exit 0
 *                                                        ├─ child exited ─▶ exit with its code
 *                                                        └─ 120 s ─▶ exit 0, still connecting
 *
 * Differs from OpenVPN 2.6, which forks before connecting: an init script learns here whether
 * the tunnel came up. Under systemd (NOTIFY_SOCKET set) it stays in the foreground, as 2.6.
 */
import { spawn } from 'node:child_process';
import type { ClientOptions } from '../config/index.ts';
import { UsageError } from '../base/errors.ts';

/** Marks the background child (it must not daemonize again). */
export const DAEMON_CHILD_ENV = 'OVPN_TS_DAEMON_CHILD';
const READY_WAIT_MS = 120_000;

export function shouldDaemonize(o: ClientOptions, env: NodeJS.ProcessEnv): boolean {
  return o.daemon !== undefined && env[DAEMON_CHILD_ENV] !== '1' && (env['NOTIFY_SOCKET'] ?? '') === '';
}

export async function daemonize(argv: readonly string[], o: ClientOptions, err: NodeJS.WritableStream): Promise<number> {
  if (o.authUserPass?.source === 'stdin' && !o.managementFlags.includes('management-query-passwords')) {
    throw new UsageError('daemon: a background process cannot prompt for auth-user-pass: name a credentials file (or use management-query-passwords)');
  }
  const entry = process.argv[1];
  if (entry === undefined) throw new UsageError('daemon: cannot find the ovpn-ts entry point to start in the background');
  const child = spawn(process.execPath, [entry, ...argv], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    env: { ...process.env, [DAEMON_CHILD_ENV]: '1' },
  });
  const outcome = await new Promise<{ kind: 'ready' } | { kind: 'exit'; code: number } | { kind: 'waiting' }>((resolve) => {
    const timer = setTimeout(() => resolve({ kind: 'waiting' }), READY_WAIT_MS);
    child.on('message', (m: unknown) => {
      if ((m as { ready?: boolean } | null)?.ready === true) {
        clearTimeout(timer);
        resolve({ kind: 'ready' });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ kind: 'exit', code: code ?? (signal === null ? 1 : 128) });
    });
    child.once('error', () => {
      clearTimeout(timer);
      resolve({ kind: 'exit', code: 1 });
    });
  });
  if (outcome.kind === 'exit') {
    err.write(`ovpn-ts: the background process ended with code ${outcome.code} before the tunnel was up (see ${o.log?.path ?? 'the system log'})\n`);
    return outcome.code;
  }
  if (outcome.kind === 'waiting') err.write(`ovpn-ts: still connecting in the background (pid ${child.pid ?? '?'})\n`);
  if (child.connected) child.disconnect();
  child.unref();
  return 0;
}
