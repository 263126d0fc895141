/**
 * DnsBackend that rewrites /etc/resolv.conf (the fallback when neither systemd-resolved nor
 * resolvconf is there). The original bytes (or symlink) go to the journal before the write, and
 * come back byte for byte on revert, or on the next start after a hard kill.
 *
 *   apply:   lstat + read original -> journal {original, written} -> replace the file
 *   revert:  current == written ? put the original back : leave it and say so
 *
 * The file is replaced atomically (rename), which also replaces a symlink rather than writing
 * through it. A bind-mounted /etc/resolv.conf cannot be renamed over (EBUSY): it is written in
 * place. Never: clobber a file something else changed meanwhile, follow a symlink to write.
 */
import { chmodSync, closeSync, constants, lstatSync, openSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OsError } from '../base/errors.ts';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { resolvConfCaps, type DnsBackend } from './backend.ts';
import type { DnsJournalEntry, DnsJournalStore } from './journal.ts';
import { resolvConfText, type DnsPlan } from './plan.ts';

export const RESOLV_CONF = '/etc/resolv.conf';
/** 2.7's resolv.conf script writes 6 search domains (the historic glibc limit). */
const MAX_SEARCH = 6;

export type FileEntry = Extract<DnsJournalEntry, { kind: 'file' }>;

interface Snapshot {
  readonly bytes: Buffer | undefined;
  readonly symlink: string | undefined;
  readonly mode: number;
}

function snapshot(path: string): Snapshot {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { bytes: undefined, symlink: undefined, mode: 0o644 };
    throw e;
  }
  if (st.isSymbolicLink()) {
    let bytes: Buffer | undefined;
    try {
      bytes = readFileSync(path);
    } catch {
      bytes = undefined;
    }
    return { bytes, symlink: readlinkSync(path), mode: 0o644 };
  }
  return { bytes: readFileSync(path), symlink: undefined, mode: st.mode & 0o7777 };
}

/** Replaces the file's content: rename over it, or in place when it is a mount point. */
function replace(path: string, bytes: Uint8Array, mode: number): void {
  try {
    writeFileAtomic(path, bytes, mode);
    chmodSync(path, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EBUSY' && code !== 'EXDEV') throw e;
    const fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW);
    try {
      writeSync(fd, bytes);
    } finally {
      closeSync(fd);
    }
  }
}

function currentBytes(path: string): Buffer | undefined {
  try {
    if (lstatSync(path).isSymbolicLink()) return undefined;
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Puts the original back if the file still holds what we wrote; `ok` false: left alone (the line says why). */
export function restoreFile(e: FileEntry): { readonly ok: boolean; readonly line: string } {
  const now = currentBytes(e.path);
  const written = Buffer.from(e.written, 'base64');
  const original = e.original === undefined ? undefined : Buffer.from(e.original, 'base64');
  if (now === undefined || !now.equals(written)) {
    // Killed between the journal and the write: nothing to undo.
    if (e.symlink === undefined && original !== undefined && now?.equals(original) === true) return { ok: true, line: `${e.path} is unchanged` };
    return { ok: false, line: `${e.path} was changed by something else since ovpn-ts wrote it; left as it is` };
  }
  if (e.symlink !== undefined) {
    // The link comes back atomically: made beside the file, then renamed over it.
    const tmp = join(dirname(e.path), `.${basename(e.path)}.${process.pid}.link.tmp`);
    rmSync(tmp, { force: true });
    symlinkSync(e.symlink, tmp);
    renameSync(tmp, e.path);
  } else if (original === undefined) rmSync(e.path, { force: true });
  else replace(e.path, original, e.mode);
  return { ok: true, line: `${e.path} restored` };
}

export class ResolvFileBackend implements DnsBackend {
  readonly caps = resolvConfCaps('resolv.conf', MAX_SEARCH);
  readonly #path: string;
  readonly #journal: DnsJournalStore;
  readonly #applied = new Map<string, FileEntry>();

  constructor(journal: DnsJournalStore, path = RESOLV_CONF) {
    this.#journal = journal;
    this.#path = path;
  }

  async apply(dev: string, plan: DnsPlan): Promise<void> {
    const prev = this.#applied.get(dev);
    const text = Buffer.from(resolvConfText(plan, dev));
    let entry: FileEntry;
    if (prev !== undefined) entry = { ...prev, written: text.toString('base64') };
    else {
      const s = snapshot(this.#path);
      entry = {
        kind: 'file', dev, path: this.#path, symlink: s.symlink, mode: s.mode,
        original: s.bytes?.toString('base64'), written: text.toString('base64'),
      };
    }
    this.#journal.save(entry);
    try {
      if (prev !== undefined && currentBytes(this.#path)?.equals(Buffer.from(prev.written, 'base64')) !== true) {
        throw new Error('it was changed by something else meanwhile');
      }
      replace(this.#path, text, entry.mode); // a rename replaces a symlink, never writes through it
    } catch (e) {
      if (prev === undefined) this.#journal.remove(dev);
      else this.#journal.save(prev);
      throw new OsError('DNS_APPLY', `cannot write ${this.#path}: ${(e as Error).message}`, { cause: e });
    }
    this.#applied.set(dev, entry);
  }

  async revert(dev: string): Promise<void> {
    const e = this.#applied.get(dev);
    if (e === undefined) return;
    this.#applied.delete(dev);
    const r = restoreFile(e);
    this.#journal.remove(dev);
    if (!r.ok) throw new OsError('DNS_APPLY', r.line);
  }
}
