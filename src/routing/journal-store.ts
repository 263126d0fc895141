/**
 * Where the route journal survives a hard kill: /run/ovpn-ts/<netns>-<dev>.json, rewritten after every
 * network change (write-ahead: a change is recorded before it is made) and deleted after a clean
 * undo. The next start repairs journals whose owner process is dead, in the same network
 * namespace only (a journal written in another namespace names routes that are not ours here).
 *
 *   { "pid": 1234, "netns": "net:[4026531840]", "journal": { version, dev, entries } }
 *
 * A journal says which routes and addresses to delete, as root: it is trusted only when the
 * directory and the file are ours (owned by this process's user, root in production), not
 * writable by group or others, and the file is a regular file (not a symlink).
 *
 * Never: log, repair a journal of a live process or of another network namespace, or one that
 * someone else could have written.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, type Stats } from 'node:fs';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { join } from 'node:path';
import { NetJournal, type JournalJson } from './apply.ts';

export const JOURNAL_DIR = '/run/ovpn-ts';

export interface StaleJournal {
  readonly file: string;
  readonly pid: number;
  readonly journal: NetJournal;
}

export interface JournalStore {
  save(journal: NetJournal): void;
  remove(dev: string): void;
  /** Journals left by dead processes of this network namespace (unreadable files are reported as errors). */
  stale(): { readonly journals: readonly StaleJournal[]; readonly errors: readonly string[] };
  discard(file: string): void;
}

interface FileShape {
  readonly pid: number;
  readonly netns: string;
  readonly journal: JournalJson;
}

function currentNetns(): string {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return 'unknown';
  }
}

/** Why a journal path may not be trusted, or undefined: ours, a directory / regular file, not group/other-writable. */
function untrusted(st: Stats, want: 'directory' | 'regular file'): string | undefined {
  if (want === 'directory' ? !st.isDirectory() : !st.isFile()) return `not a ${want}${st.isSymbolicLink() ? ' but a symlink' : ''}`;
  const uid = process.geteuid?.() ?? 0;
  if (st.uid !== uid) return `owned by uid ${st.uid}, not ${uid}`;
  if ((st.mode & 0o022) !== 0) return `writable by ${(st.mode & 0o002) !== 0 ? 'others' : 'its group'} (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class FileJournalStore implements JournalStore {
  readonly #dir: string;
  readonly #netns: string;
  readonly #pid: number;

  constructor(dir = JOURNAL_DIR, netns = currentNetns(), pid = process.pid) {
    this.#dir = dir;
    this.#netns = netns;
    this.#pid = pid;
  }

  /**
   * One file per namespace and device: /run is shared by every network namespace, and tun0 in
   * one namespace is not tun0 in another (two clients would otherwise overwrite each other's
   * journal, and a killed one could not be repaired).
   */
  #file(dev: string): string {
    return join(this.#dir, journalFileName(this.#netns, dev));
  }

  save(journal: NetJournal): void {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    const body: FileShape = { pid: this.#pid, netns: this.#netns, journal: journal.toJSON() };
    const file = this.#file(journal.dev);
    writeFileAtomic(file, JSON.stringify(body), 0o600);
  }

  remove(dev: string): void {
    rmSync(this.#file(dev), { force: true });
  }

  discard(file: string): void {
    rmSync(file, { force: true });
  }

  stale(): { journals: StaleJournal[]; errors: string[] } {
    const journals: StaleJournal[] = [];
    const errors: string[] = [];
    let names: string[];
    try {
      names = readdirSync(this.#dir).filter((n) => n.endsWith('.json'));
    } catch {
      return { journals, errors };
    }
    const dirProblem = untrusted(lstatSync(this.#dir), 'directory');
    if (dirProblem !== undefined) {
      if (names.length > 0) errors.push(`${this.#dir}: not trusted (${dirProblem}): its journals are not repaired; fix the directory or remove it`);
      return { journals, errors };
    }
    for (const name of names) {
      const file = join(this.#dir, name);
      try {
        const fileProblem = untrusted(lstatSync(file), 'regular file');
        if (fileProblem !== undefined) {
          errors.push(`${file}: not trusted (${fileProblem}): not repaired`);
          continue;
        }
        const body = JSON.parse(readFileSync(file, 'utf8')) as Partial<FileShape>;
        if (typeof body.pid !== 'number' || body.netns !== this.#netns) continue;
        if (body.pid === this.#pid || isAlive(body.pid)) continue;
        journals.push({ file, pid: body.pid, journal: NetJournal.fromJSON(body.journal) });
      } catch (e) {
        errors.push(`${file}: ${(e as Error).message}`);
      }
    }
    return { journals, errors };
  }
}

/** The file name of a journal: per network namespace (its inode number) and device. */
export function journalFileName(netns: string, dev: string): string {
  const ns = /\d+/.exec(netns)?.[0] ?? 'ns';
  return `${ns}-${dev}.json`;
}

/**
 * The in-memory twin's "disk": journal files shared by every store made on it, and which pids
 * are alive. A test "kills" a run by making its store with a pid not in `alive`.
 */
export class MemoryJournalDisk {
  readonly files = new Map<string, string>();
  readonly alive: Set<number>;

  constructor(alive: Iterable<number> = []) {
    this.alive = new Set(alive);
  }
}

/** In-memory twin (tests): the same files, namespaces and liveness rules as FileJournalStore. */
export class MemoryJournalStore implements JournalStore {
  readonly disk: MemoryJournalDisk;
  readonly #netns: string;
  readonly #pid: number;

  constructor(disk = new MemoryJournalDisk(), netns = 'net:[1]', pid = 1) {
    this.disk = disk;
    this.#netns = netns;
    this.#pid = pid;
  }

  /** This run's journals (by device), as saved. */
  get saved(): ReadonlyMap<string, JournalJson> {
    const out = new Map<string, JournalJson>();
    for (const text of this.disk.files.values()) {
      const body = JSON.parse(text) as FileShape;
      if (body.pid === this.#pid && body.netns === this.#netns) out.set(body.journal.dev, body.journal);
    }
    return out;
  }

  save(journal: NetJournal): void {
    const body: FileShape = { pid: this.#pid, netns: this.#netns, journal: journal.toJSON() };
    this.disk.files.set(journalFileName(this.#netns, journal.dev), JSON.stringify(body));
  }

  remove(dev: string): void {
    this.disk.files.delete(journalFileName(this.#netns, dev));
  }

  discard(file: string): void {
    this.disk.files.delete(file);
  }

  stale(): { journals: StaleJournal[]; errors: string[] } {
    const journals: StaleJournal[] = [];
    const errors: string[] = [];
    for (const [file, text] of this.disk.files) {
      try {
        const body = JSON.parse(text) as Partial<FileShape>;
        if (typeof body.pid !== 'number' || body.netns !== this.#netns) continue;
        if (body.pid === this.#pid || this.disk.alive.has(body.pid)) continue;
        journals.push({ file, pid: body.pid, journal: NetJournal.fromJSON(body.journal) });
      } catch (e) {
        errors.push(`${file}: ${(e as Error).message}`);
      }
    }
    return { journals, errors };
  }
}
