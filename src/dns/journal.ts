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
import { join } from 'node:path';
import { OWNER_DIR, OwnerFiles } from '../platform/owner-files.ts';

export const DNS_JOURNAL_DIR = join(OWNER_DIR, 'dns');

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

export class FileDnsJournalStore implements DnsJournalStore {
  readonly #files: OwnerFiles;

  constructor(dir = DNS_JOURNAL_DIR, netns?: string, pid?: number) {
    this.#files = new OwnerFiles(dir, 'entry', netns, pid);
  }

  save(entry: DnsJournalEntry): void {
    this.#files.save(entry.dev, entry);
  }

  remove(dev: string): void {
    this.#files.remove(dev);
  }

  discard(file: string): void {
    this.#files.discard(file);
  }

  stale(): { journals: StaleDnsJournal[]; errors: string[] } {
    const { found, errors } = this.#files.stale();
    return { journals: found.map((f) => ({ file: f.file, pid: f.pid, entry: f.payload as DnsJournalEntry })), errors };
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
