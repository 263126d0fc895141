/**
 * Path resolution the OpenVPN way, and friendly file-access messages. Pure (POSIX path string math).
 *
 * OpenVPN opens relative file names against the process working directory as changed by `cd`,
 * never against the folder of the config file. When a relative name is missing but exists next
 * to the config file, we say so: that is the most common "works in the GUI, fails here" mistake.
 */
import type { ConfigFs } from './entry.ts';

/** POSIX `resolve(cwd, name)`: absolute, with `.`, `..` and repeated slashes folded. */
export function resolvePath(cwd: string, name: string): string {
  const parts: string[] = [];
  for (const p of (name.startsWith('/') ? name : `${cwd}/${name}`).split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return `/${parts.join('/')}`;
}

/** POSIX `dirname`. */
export function dirOf(file: string): string {
  const trimmed = file.replace(/\/+$/, '');
  const i = trimmed.lastIndexOf('/');
  if (i < 0) return '.';
  return i === 0 ? '/' : trimmed.slice(0, i);
}

function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
};

/** Reads a file; on failure returns a message such as `cannot read /a/b.key: no such file`. */
export function tryRead(fs: ConfigFs, file: string): { ok: true; bytes: Uint8Array } | { ok: false; errno: string; message: string } {
  try {
    return { ok: true, bytes: fs.readFile(file) };
  } catch (err) {
    const errno = errnoOf(err);
    return { ok: false, errno, message: `cannot read ${file}: ${ERRNO_TEXT[errno] ?? errno}` };
  }
}

/** The " (hint: …)" suffix when `name` is relative, missing in `cwd`, but present in `configDir`. */
export function nextToConfigHint(fs: ConfigFs, name: string, cwd: string, configDir: string | undefined): string {
  if (configDir === undefined || name.startsWith('/') || resolvePath(configDir, name) === resolvePath(cwd, name)) return '';
  const beside = resolvePath(configDir, name);
  if (!tryRead(fs, beside).ok) return '';
  return ` (hint: ${beside} exists next to the config file; relative paths resolve against the working directory ${cwd}, as in OpenVPN: add "cd ${configDir}" or run from that directory)`;
}

/** Whether `dir` exists and is a directory, probed through readFile (EISDIR means yes). */
export function checkDirectory(fs: ConfigFs, dir: string): string | undefined {
  const r = tryRead(fs, dir);
  if (r.ok) return `${dir} is not a directory`;
  if (r.errno === 'EISDIR') return undefined;
  return `cannot change directory to ${dir}: ${ERRNO_TEXT[r.errno] ?? r.errno}`;
}
