/**
 * Where the route journal survives a hard kill: /run/ovpn-ts/<netns>-<dev>.json, rewritten after every
 * network change (write-ahead: a change is recorded before it is made) and deleted after a clean
 * undo. The next start repairs journals whose owner process is dead, in the same network
 * namespace only, and only those nobody else could have written (platform/owner-files.ts).
 *
 *   { "pid": 1234, "netns": "net:[4026531840]", "journal": { version, dev, entries } }
 *
 * Never: log, repair a journal of a live process or of another network namespace, or one that
 * someone else could have written.
 */
import { NetJournal, type JournalJson } from './apply.ts';
import { OWNER_DIR, ownerFileName, OwnerFiles } from '../platform/owner-files.ts';

export const JOURNAL_DIR = OWNER_DIR;

export interface StaleJournal {
  readonly file: string;
  readonly pid: number;
  readonly journal: NetJournal;
}

export interface JournalStore {
  save(journal: NetJournal): void;
  remove(dev: string): void;
  /** Journals left by dead processes of this network namespace (unreadable or untrusted files are reported as errors). */
  stale(): { readonly journals: readonly StaleJournal[]; readonly errors: readonly string[] };
  discard(file: string): void;
}

interface FileShape {
  readonly pid: number;
  readonly netns: string;
  readonly journal: JournalJson;
}

export class FileJournalStore implements JournalStore {
  readonly #files: OwnerFiles;

  constructor(dir = JOURNAL_DIR, netns?: string, pid?: number) {
    this.#files = new OwnerFiles(dir, 'journal', netns, pid);
  }

  save(journal: NetJournal): void {
    this.#files.save(journal.dev, journal.toJSON());
  }

  remove(dev: string): void {
    this.#files.remove(dev);
  }

  discard(file: string): void {
    this.#files.discard(file);
  }

  stale(): { journals: StaleJournal[]; errors: string[] } {
    const { found, errors } = this.#files.stale();
    const journals: StaleJournal[] = [];
    for (const f of found) {
      try {
        journals.push({ file: f.file, pid: f.pid, journal: NetJournal.fromJSON(f.payload as JournalJson) });
      } catch (e) {
        errors.push(`${f.file}: ${(e as Error).message}`);
      }
    }
    return { journals, errors };
  }
}

/** The file name of a journal: per network namespace (its inode number) and device. */
export const journalFileName = ownerFileName;

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
