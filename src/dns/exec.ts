/**
 * Runs a system tool (resolvectl, busctl, resolvconf) with a bounded time, an optional stdin,
 * and no shell. Failures become OsError('DNS_APPLY') naming the command and its stderr.
 */
import { execFile, execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { OsError } from '../base/errors.ts';

/** A DNS tool that does not answer within this bound is treated as failed. */
export const TOOL_TIMEOUT_MS = 10_000;

export function runTool(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: TOOL_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const detail = (stderr || err.message).trim().split('\n')[0] ?? '';
        reject(new OsError('DNS_APPLY', `${[cmd, ...args].join(' ')} failed: ${detail}`, { cause: err }));
      } else resolve(stdout);
    });
    // Always closed: a tool that reads stdin (resolvconf -a) must not wait for more.
    child.stdin?.end(input ?? '');
  });
}

/** runTool for the start-up probes (detection, --check): blocking, bounded, stdout or undefined on failure. */
export function probeTool(cmd: string, args: readonly string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { timeout: PROBE_TIMEOUT_MS, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** A probe (is resolved on the bus?) that does not answer within this bound counts as "no". */
export const PROBE_TIMEOUT_MS = 3_000;

/** The program's path on PATH (plus the sbin directories root's PATH may lack), or undefined. */
export function findProgram(name: string, path = process.env['PATH'] ?? ''): string | undefined {
  const dirs = [...path.split(delimiter).filter((d) => d !== ''), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}
