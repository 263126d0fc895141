/**
 * Who owns the kill switch table of this network namespace: /run/ovpn-ts/firewall/<netns>.json,
 * written (atomically) before the rules go in and deleted after they are removed. A file whose
 * process is dead is a crash's leftover: the next start takes the rules over or removes them
 * (docs/leak-protection.md). A subdirectory keeps these files out of the route journals' way.
 *
 *   { "pid": 1234, "netns": "net:[4026531840]", "table": "inet ovpn_ts" }
 *
 * A file (or directory) not owned by us or writable by others is not trusted: it names no owner.
 * Never: log, touch another namespace's file.
 */
import { lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { JOURNAL_DIR, untrusted } from '../routing/journal-store.ts';
import { KILL_SWITCH_FAMILY, KILL_SWITCH_TABLE } from './ruleset.ts';

export const FIREWALL_JOURNAL_DIR = join(JOURNAL_DIR, 'firewall');

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

export class FileFirewallJournal implements FirewallJournal {
  readonly #file: string;
  readonly #dir: string;
  readonly #netns: string;
  readonly #pid: number;

  constructor(dir = FIREWALL_JOURNAL_DIR, netns = currentNetns(), pid = process.pid) {
    this.#dir = dir;
    this.#netns = netns;
    this.#pid = pid;
    this.#file = join(dir, `${/\d+/.exec(netns)?.[0] ?? 'ns'}.json`);
  }

  get file(): string {
    return this.#file;
  }

  /** Only a file nobody else could have written counts (as the route journals: ours, not group/other-writable). */
  owner(): Owner | undefined {
    let text: string;
    try {
      if (untrusted(lstatSync(this.#dir), 'directory') !== undefined || untrusted(lstatSync(this.#file), 'regular file') !== undefined) return undefined;
      text = readFileSync(this.#file, 'utf8');
    } catch {
      return undefined;
    }
    try {
      const body = JSON.parse(text) as { pid?: unknown; netns?: unknown };
      if (body.netns !== this.#netns || typeof body.pid !== 'number') return { pid: 0, alive: false };
      if (body.pid === this.#pid) return { pid: body.pid, alive: false, self: true };
      return { pid: body.pid, alive: isAlive(body.pid) };
    } catch {
      return { pid: 0, alive: false };
    }
  }

  claim(): void {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    const body = { pid: this.#pid, netns: this.#netns, table: `${KILL_SWITCH_FAMILY} ${KILL_SWITCH_TABLE}` };
    writeFileAtomic(this.#file, JSON.stringify(body), 0o600);
  }

  release(): void {
    rmSync(this.#file, { force: true });
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
