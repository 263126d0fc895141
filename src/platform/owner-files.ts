/**
 * Files that outlive a hard kill so the next start can undo what a dead run changed (the route
 * journal, the DNS journal, the kill switch's owner record). One JSON file per network namespace
 * and key (a device name) in a directory of ours under /run/ovpn-ts, naming the pid that wrote it:
 *
 *   <dir>/<netns inode>-<key>.json   { "pid": 1234, "netns": "net:[4026531840]", "<field>": ... }
 *
 * Written atomically (temp file + rename, never through a symlink), mode 0600 in a 0700
 * directory. A file says what to undo as root, so `stale()` hands one out only when nobody else
 * could have written it: the directory and the file belong to this process's user (root in
 * production), are not group- or other-writable, and the file is a regular file. It never hands
 * out the file of a live process or of another network namespace (/run is shared by all of them,
 * and tun0 in one namespace is not tun0 in another).
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';

export const OWNER_DIR = '/run/ovpn-ts';

/** A file left by a dead run of this namespace: its payload as JSON gave it (checked by the caller). */
export interface OwnerFile {
  readonly file: string;
  readonly pid: number;
  readonly payload: unknown;
}

/** The file name for `key` (a device) in network namespace `netns`. */
export function ownerFileName(netns: string, key: string): string {
  const ns = /\d+/.exec(netns)?.[0] ?? 'ns';
  return `${ns}-${key}.json`;
}

/** Why a path may not be trusted, or undefined: ours, a directory / regular file, not group/other-writable. */
export function untrusted(st: Stats, want: 'directory' | 'regular file'): string | undefined {
  if (want === 'directory' ? !st.isDirectory() : !st.isFile()) return `not a ${want}${st.isSymbolicLink() ? ' but a symlink' : ''}`;
  const uid = process.geteuid?.() ?? 0;
  if (st.uid !== uid) return `owned by uid ${st.uid}, not ${uid}`;
  if ((st.mode & 0o022) !== 0) return `writable by ${(st.mode & 0o002) !== 0 ? 'others' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

function currentNetns(): string {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return 'unknown';
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class OwnerFiles {
  readonly #dir: string;
  readonly #field: string;
  readonly #netns: string;
  readonly #pid: number;

  /** `field`: the name the payload has in the file (kept so that files of earlier versions still read). */
  constructor(dir: string, field: string, netns = currentNetns(), pid = process.pid) {
    this.#dir = dir;
    this.#field = field;
    this.#netns = netns;
    this.#pid = pid;
  }

  save(key: string, payload: unknown): void {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(join(this.#dir, ownerFileName(this.#netns, key)), JSON.stringify({ pid: this.#pid, netns: this.#netns, [this.#field]: payload }), 0o600);
  }

  remove(key: string): void {
    rmSync(join(this.#dir, ownerFileName(this.#netns, key)), { force: true });
  }

  discard(file: string): void {
    rmSync(file, { force: true });
  }

  /** Files of dead runs of this namespace that nobody else could have written; the rest is reported in `errors`. */
  stale(): { readonly found: OwnerFile[]; readonly errors: string[] } {
    const found: OwnerFile[] = [];
    const errors: string[] = [];
    let names: string[];
    let dir: Stats;
    try {
      names = readdirSync(this.#dir).filter((n) => n.endsWith('.json'));
      dir = lstatSync(this.#dir);
    } catch {
      return { found, errors };
    }
    const dirProblem = untrusted(dir, 'directory');
    if (dirProblem !== undefined) {
      if (names.length > 0) errors.push(`${this.#dir}: not trusted (${dirProblem}): its journals are not repaired; fix the directory or remove it`);
      return { found, errors };
    }
    for (const name of names) {
      const file = join(this.#dir, name);
      try {
        const fileProblem = untrusted(lstatSync(file), 'regular file');
        if (fileProblem !== undefined) {
          errors.push(`${file}: not trusted (${fileProblem}): not repaired`);
          continue;
        }
        const body = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
        const pid = body['pid'];
        if (typeof pid !== 'number' || body['netns'] !== this.#netns || body[this.#field] === undefined) continue;
        if (pid === this.#pid || isAlive(pid)) continue;
        found.push({ file, pid, payload: body[this.#field] });
      } catch (e) {
        errors.push(`${file}: ${(e as Error).message}`);
      }
    }
    return { found, errors };
  }
}
