/**
 * Journaled application of a route plan.
 *
 *   ops --apply in order--> backend        journal: [{done, undo}, ...]
 *   failure at op k  ==>  undo k-1 .. 1 (newest first), then throw the op's error
 *   undo()           ==>  undo everything, newest first, best effort, failures reported
 *   toJSON/fromJSON  ==>  the shell persists the journal (/run/ovpn-ts/<netns>-<dev>.json) so that
 *   repair()             a later start can undo what a hard-killed run left behind
 *
 * A route that already exists is an error naming it (the backend's EEXIST), never replaced.
 * Never: log, read the clock, touch the OS other than through the NetBackend port.
 */
import { OsError } from '../base/errors.ts';
import { describeAddr, describeRoute, errnoOf, type NetBackend } from './backend.ts';
import type { NetOp } from './plan.ts';

export interface JournalEntry {
  readonly done: NetOp;
  readonly undo: NetOp;
}

export interface UndoFailure {
  readonly op: NetOp;
  readonly error: Error;
}

export interface UndoReport {
  readonly undone: number;
  readonly failures: readonly UndoFailure[];
}

export const JOURNAL_VERSION = 1;

export interface JournalJson {
  readonly version: typeof JOURNAL_VERSION;
  readonly dev: string;
  readonly entries: readonly JournalEntry[];
}

export function describeOp(op: NetOp): string {
  switch (op.op) {
    case 'link':
      return `link ${op.dev} ${op.up ? 'up' : 'down'} mtu ${op.mtu}`;
    case 'addr-add':
      return `add ${describeAddr(op.addr)}`;
    case 'addr-del':
      return `delete ${describeAddr(op.addr)}`;
    case 'route-add':
      return `add ${describeRoute(op.route)}`;
    case 'route-del':
      return `delete ${describeRoute(op.route)}`;
  }
}

async function runOp(net: NetBackend, op: NetOp): Promise<void> {
  switch (op.op) {
    case 'link':
      return net.setLink(op.dev, { up: op.up, mtu: op.mtu });
    case 'addr-add':
      return net.addAddress(op.addr);
    case 'addr-del':
      return net.delAddress(op.addr);
    case 'route-add':
      return net.addRoute(op.route);
    case 'route-del':
      return net.delRoute(op.route);
  }
}

/** The op that reverses `op`; for `link` it needs the state before (read from the backend). */
async function inverseOf(net: NetBackend, op: NetOp): Promise<NetOp> {
  switch (op.op) {
    case 'link': {
      const before = await net.getLink(op.dev);
      return { op: 'link', dev: op.dev, up: before.up, mtu: before.mtu };
    }
    case 'addr-add':
      return { op: 'addr-del', addr: op.addr };
    case 'addr-del':
      return { op: 'addr-add', addr: op.addr };
    case 'route-add':
      return { op: 'route-del', route: op.route };
    case 'route-del':
      return { op: 'route-add', route: op.route };
  }
}

/** What was applied, and how to take it back. */
export class NetJournal {
  readonly dev: string;
  readonly #entries: JournalEntry[];

  constructor(dev: string, entries: readonly JournalEntry[] = []) {
    this.dev = dev;
    this.#entries = [...entries];
  }

  get entries(): readonly JournalEntry[] {
    return this.#entries;
  }

  record(entry: JournalEntry): void {
    this.#entries.push(entry);
  }

  /** Roaming re-pointed a change (the bypass route): it is undone in the old one's place. */
  replace(index: number, entry: JournalEntry): void {
    if (index >= 0 && index < this.#entries.length) this.#entries[index] = entry;
  }

  /**
   * Reverts everything, newest first; keeps going past failures and reports them. What failed
   * stays in the journal (in its order), so a journal saved afterwards lets the next start retry it.
   */
  async undo(net: NetBackend, ignoreMissing = false): Promise<UndoReport> {
    const failures: UndoFailure[] = [];
    const kept: JournalEntry[] = [];
    let undone = 0;
    while (this.#entries.length > 0) {
      const e = this.#entries.pop()!;
      try {
        await runOp(net, e.undo);
        undone++;
      } catch (err) {
        if (ignoreMissing && isMissing(err)) continue;
        failures.push({ op: e.undo, error: err instanceof Error ? err : new Error(String(err)) });
        kept.unshift(e);
      }
    }
    this.#entries.push(...kept);
    return { undone, failures };
  }

  toJSON(): JournalJson {
    return { version: JOURNAL_VERSION, dev: this.dev, entries: this.#entries };
  }

  static fromJSON(json: unknown): NetJournal {
    const j = json as Partial<JournalJson> | null;
    if (j === null || typeof j !== 'object' || j.version !== JOURNAL_VERSION || typeof j.dev !== 'string' || !Array.isArray(j.entries)) {
      throw new OsError('ROUTE_APPLY', 'route journal: unreadable or from another version');
    }
    for (const e of j.entries) {
      if (!isNetOp(e?.done) || !isNetOp(e?.undo)) throw new OsError('ROUTE_APPLY', 'route journal: malformed entry');
    }
    return new NetJournal(j.dev, j.entries);
  }
}

const OPS = new Set(['link', 'addr-add', 'addr-del', 'route-add', 'route-del']);
function isNetOp(x: unknown): x is NetOp {
  return typeof x === 'object' && x !== null && OPS.has((x as { op?: unknown }).op as string);
}

/** Gone already (device removed with the TUN, route flushed): nothing left to undo. */
function isMissing(err: unknown): boolean {
  const e = errnoOf(err);
  return e === 'ESRCH' || e === 'ENOENT' || e === 'EADDRNOTAVAIL' || e === 'ENODEV';
}

/**
 * Applies `ops` in order, journaling each. On the first failure, reverts what was done (newest
 * first) and throws the failing op's OsError, its message naming the change and the rollback.
 */
export async function applyOps(net: NetBackend, dev: string, ops: readonly NetOp[]): Promise<NetJournal> {
  const journal = new NetJournal(dev);
  for (const op of ops) {
    try {
      const undo = await inverseOf(net, op);
      await runOp(net, op);
      journal.record({ done: op, undo });
    } catch (err) {
      const report = await journal.undo(net);
      const rollback =
        report.failures.length === 0
          ? `${report.undone} earlier change(s) reverted`
          : `rollback incomplete: ${report.failures.map((f) => describeOp(f.op)).join('; ')} failed`;
      const code = err instanceof OsError ? err.code : 'ROUTE_APPLY';
      const msg = err instanceof OsError ? err.message : `${describeOp(op)} failed`;
      throw new OsError(code, `${msg} (${rollback})`, { cause: err });
    }
  }
  return journal;
}

/** Undoes what a previous, hard-killed run left (its persisted journal); missing items are fine. */
export async function repair(journal: NetJournal, net: NetBackend): Promise<UndoReport> {
  return journal.undo(net, true);
}
