/**
 * Who owns the kill switch table of this network namespace: /run/ovpn-ts/firewall/<netns>-kill-switch.json,
 * written (atomically) before the rules go in and deleted after they are removed. A file whose
 * process is dead is a crash's leftover: the next start takes the rules over or removes them
 * (docs/leak-protection.md). A subdirectory keeps these files out of the route journals' way.
 *
 *   { "pid": 1234, "netns": "net:[4026531840]", "table": "inet ovpn_ts" }
 *
 * A file (or directory) not owned by us or writable by others is not trusted: it names no owner.
 * Never: log, touch another namespace's file.
 */
import { join } from 'node:path';
import { OWNER_DIR, OwnerFiles } from '../platform/owner-files.ts';
import { KILL_SWITCH_FAMILY, KILL_SWITCH_TABLE } from './ruleset.ts';

export const FIREWALL_JOURNAL_DIR = join(OWNER_DIR, 'firewall');

export interface Owner {
  readonly pid: number;
  /** Another live process holds the rules. */
  readonly alive: boolean;
  /** This very process left them (kept across a SIGHUP reload). */
  readonly self?: boolean;
}

export interface FirewallJournal {
  /** The recorded owner in this namespace, if any (an unreadable file counts as a dead owner). */
  owner(): Owner | undefined;
  claim(): void;
  release(): void;
}

/** The key of the owner file: one kill switch table per network namespace. */
const KEY = 'kill-switch';

export class FileFirewallJournal implements FirewallJournal {
  readonly #files: OwnerFiles;

  constructor(dir = FIREWALL_JOURNAL_DIR, netns?: string, pid?: number) {
    this.#files = new OwnerFiles(dir, 'table', netns, pid);
  }

  get file(): string {
    return this.#files.path(KEY);
  }

  /** Only a file nobody else could have written counts (platform/owner-files.ts). */
  owner(): Owner | undefined {
    const o = this.#files.owner(KEY);
    return o === undefined ? undefined : o.self ? { pid: o.pid, alive: false, self: true } : { pid: o.pid, alive: o.alive };
  }

  claim(): void {
    this.#files.save(KEY, `${KILL_SWITCH_FAMILY} ${KILL_SWITCH_TABLE}`);
  }

  release(): void {
    this.#files.remove(KEY);
  }
}

/** In-memory twin (unit tests). */
export class MemoryFirewallJournal implements FirewallJournal {
  recorded: Owner | undefined;
  constructor(recorded?: Owner) {
    this.recorded = recorded;
  }
  owner(): Owner | undefined {
    return this.recorded;
  }
  claim(): void {
    this.recorded = { pid: -1, alive: true };
  }
  release(): void {
    this.recorded = undefined;
  }
}
