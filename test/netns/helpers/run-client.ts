/**
 * Runs ovpn-ts in the lab's client namespace until it exits by itself, and reports how it ended:
 * exit status, log text and the time from spawn to exit. For the failure cases of the netns
 * control-channel tests (wrong CA, revoked certificate, silent server, ...), which must end on
 * their own (connect-retry-max 1, short hand-window) with a clear message and exit code.
 *
 * Test tooling. It never waits without a bound: past `boundMs` the client is stopped by PID and
 * the result says so (`timedOut`), so a hanging client fails the test instead of the run.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { NetnsPair } from '../../lab/index.ts';
import { startClient, type LabClient } from '../../lab/index.ts';

/** Lines that make every failure case end in seconds (OpenVPN's own options). */
export const FAIL_FAST_LINES: readonly string[] = ['connect-retry-max 1', 'hand-window 5', 'server-poll-timeout 5'];

export interface ExitResult {
  readonly client: LabClient;
  /** `exit N` or `signal S`, as LabProcess.exitStatus() reports it. */
  readonly status: string;
  /** The numeric exit code, or null when killed by a signal. */
  readonly code: number | null;
  readonly log: string;
  readonly elapsedMs: number;
  readonly timedOut: boolean;
}

/** Starts ovpn-ts on `configText` and waits (bounded) for it to exit. */
export async function runUntilExit(lab: NetnsPair, configText: string, boundMs: number): Promise<ExitResult> {
  const started = Date.now();
  const client = await startClient(lab, 'ovpn-ts', configText, { waitFor: null });
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<'timeout'>((r) => {
    timer = setTimeout(() => r('timeout'), boundMs);
  });
  const first = await Promise.race([client.process.exited.then(() => 'exited' as const), bound]);
  clearTimeout(timer);
  const elapsedMs = Date.now() - started;
  if (first === 'timeout') await client.stop();
  const status = client.process.exitStatus() ?? 'running';
  const m = /^exit (\d+)$/.exec(status);
  const log = existsSync(client.logFile) ? readFileSync(client.logFile, 'utf8') : '';
  return { client, status, code: m ? Number(m[1]) : null, log, elapsedMs, timedOut: first === 'timeout' };
}

/** A short description of a run for assertion messages. */
export function describeRun(r: ExitResult): string {
  const tail = r.log.split('\n').slice(-25).join('\n');
  return `status=${r.status} after ${r.elapsedMs} ms${r.timedOut ? ' (TIMED OUT, stopped)' : ''}\n--- ${r.client.logFile} ---\n${tail}`;
}
