/**
 * The DNS journal: what a running ovpn-ts changed in the resolver configuration, so that the next
 * start can undo it after a hard kill. One file per network namespace and device under
 * /run/ovpn-ts/dns/ (a sub-directory: the route journals live beside it), written before the
 * change (write-ahead, atomically) and deleted after a clean revert.
 *
 *   { "pid": 1234, "netns": "net:[4026531840]", "entry": { "kind": "file", ... } }
 *
 * A journal says what to write as root: it is trusted only as the route journals are (owned by
 * this user, not group/other-writable, a regular file in a directory of ours), and create.ts
 * checks what it names (only /etc/resolv.conf, the installed resolvconf).
 * Never: hand out a journal of a live process, of another network namespace, or not trusted.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { JOURNAL_DIR, untrusted } from '../routing/journal-store.ts';

export const DNS_JOURNAL_DIR = join(JOURNAL_DIR, 'dns');

/** What to undo: a rewritten file (original bytes or symlink, and what we wrote), or a resolvconf record. */
export type DnsJournalEntry =
  | {
      readonly kind: 'file';
      readonly dev: string;
      readonly path: string;
      /** base64 of the original bytes; undefined when the file did not exist. */
      readonly original: string | undefined;
      /** The original was a symlink to this target. */
      readonly symlink: string | undefined;
      readonly mode: number;
      /** base64 of what ovpn-ts wrote. */
      readonly written: string;
    }
  | { readonly kind: 'resolvconf'; readonly dev: string; readonly program: string; readonly record: string };

export interface StaleDnsJournal {
  readonly file: string;
  readonly pid: number;
  readonly entry: DnsJournalEntry;
}

export interface DnsJournalStore {
  save(entry: DnsJournalEntry): void;
  remove(dev: string): void;
  stale(): { readonly journals: readonly StaleDnsJournal[]; readonly errors: readonly string[] };
  discard(file: string): void;
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

export class FileDnsJournalStore implements DnsJournalStore {
  readonly #dir: string;
  readonly #netns: string;
  readonly #pid: number;

  constructor(dir = DNS_JOURNAL_DIR, netns = currentNetns(), pid = process.pid) {
    this.#dir = dir;
    this.#netns = netns;
    this.#pid = pid;
  }

  #file(dev: string): string {
    const ns = /\d+/.exec(this.#netns)?.[0] ?? 'ns';
    return join(this.#dir, `${ns}-${dev}.json`);
  }

  save(entry: DnsJournalEntry): void {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    writeFileAtomic(this.#file(entry.dev), JSON.stringify({ pid: this.#pid, netns: this.#netns, entry }), 0o600);
  }

  remove(dev: string): void {
    rmSync(this.#file(dev), { force: true });
  }

  discard(file: string): void {
    rmSync(file, { force: true });
  }

  stale(): { journals: StaleDnsJournal[]; errors: string[] } {
    const journals: StaleDnsJournal[] = [];
    const errors: string[] = [];
    let names: string[];
    try {
      names = readdirSync(this.#dir).filter((n) => n.endsWith('.json'));
      const dirProblem = untrusted(lstatSync(this.#dir), 'directory');
      if (dirProblem !== undefined) {
        if (names.length > 0) errors.push(`${this.#dir}: not trusted (${dirProblem}): its journals are not repaired; fix the directory or remove it`);
        return { journals, errors };
      }
    } catch {
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
        const body = JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown; netns?: unknown; entry?: DnsJournalEntry };
        if (typeof body.pid !== 'number' || body.netns !== this.#netns || body.entry === undefined) continue;
        if (body.pid === this.#pid || isAlive(body.pid)) continue;
        journals.push({ file, pid: body.pid, entry: body.entry });
      } catch (e) {
        errors.push(`${file}: ${(e as Error).message}`);
      }
    }
    return { journals, errors };
  }
}

/** In-memory twin (tests). */
export class MemoryDnsJournalStore implements DnsJournalStore {
  readonly saved = new Map<string, DnsJournalEntry>();
  readonly leftovers: StaleDnsJournal[] = [];
  save(entry: DnsJournalEntry): void {
    this.saved.set(entry.dev, structuredClone(entry));
  }
  remove(dev: string): void {
    this.saved.delete(dev);
  }
  discard(file: string): void {
    const i = this.leftovers.findIndex((j) => j.file === file);
    if (i >= 0) this.leftovers.splice(i, 1);
  }
  stale(): { journals: StaleDnsJournal[]; errors: string[] } {
    return { journals: [...this.leftovers], errors: [] };
  }
}
