/**
 * Test helper: runs a compiled node script inside a throwaway network namespace
 * (`ovts-t-<pid>-<tag>-<n>`) and returns its stdout. The namespace is always deleted.
 */
import { execFile, execFileSync } from 'node:child_process';

let counter = 0;
const RUN_TIMEOUT_MS = 20_000;

export async function runInNetns(tag: string, args: readonly string[]): Promise<string> {
  const ns = `ovts-t-${process.pid}-${tag}-${counter++}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return await new Promise<string>((resolve, reject) => {
      execFile(
        'ip',
        ['netns', 'exec', ns, process.execPath, ...args],
        { timeout: RUN_TIMEOUT_MS, encoding: 'utf8' },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      );
    });
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
}
