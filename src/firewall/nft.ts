/**
 * The Firewall port and its nftables adapter: a JSON document (ruleset.ts) handed to `nft -j` as
 * one argument (no shell; nft reads JSON from its command line), or for a very large document a
 * private file read with `nft -j -f FILE`; either way nft applies it as one transaction. (`-f -`
 * does not work from Node: nft 1.0 opens /dev/stdin, which fails on the socket Node gives a child.)
 * The in-memory twin records what would be applied.
 *
 * Runs `nft` in the caller's network namespace (tests pass a prefix such as
 * `ip netns exec NS nft`). Never: build rule text, run through a shell, log rule contents at
 * default verbosity.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../platform/atomic-file.ts';
import { OsError } from '../base/errors.ts';
import { KILL_SWITCH_FAMILY, KILL_SWITCH_TABLE, type NftDocument } from './ruleset.ts';

export interface Firewall {
  /** Applies a document in one transaction; rejects with OsError('FIREWALL') naming nft's complaint. */
  apply(doc: NftDocument): Promise<void>;
  /** Is the kill switch table there? */
  hasTable(): Promise<boolean>;
}

/** Bound on one nft run (it takes milliseconds; a hung nft must not hang a teardown). */
const NFT_TIMEOUT_MS = 10_000;
/** Below Linux's MAX_ARG_STRLEN (128 KiB) for one argument. */
const ARGV_LIMIT = 100_000;

export class NftFirewall implements Firewall {
  readonly #argv: readonly string[];

  readonly #spoolDir: string;

  /** `argv`: the nft command (default `nft` from PATH); `spoolDir`: where a large document is written. */
  constructor(argv: readonly string[] = ['nft'], spoolDir = '/run/ovpn-ts/firewall') {
    this.#argv = argv;
    this.#spoolDir = spoolDir;
  }

  async apply(doc: NftDocument): Promise<void> {
    const text = JSON.stringify(doc);
    if (text.length < ARGV_LIMIT) {
      await this.#run(['-j', text]);
      return;
    }
    mkdirSync(this.#spoolDir, { recursive: true, mode: 0o700 });
    const file = join(this.#spoolDir, `ruleset-${process.pid}.json`);
    writeFileAtomic(file, text, 0o600);
    try {
      await this.#run(['-j', '-f', file]);
    } finally {
      rmSync(file, { force: true });
    }
  }

  async hasTable(): Promise<boolean> {
    const out = await this.#run(['-j', 'list', 'tables', KILL_SWITCH_FAMILY]);
    const parsed = JSON.parse(out === '' ? '{"nftables":[]}' : out) as { nftables?: { table?: { name?: string } }[] };
    return (parsed.nftables ?? []).some((e) => e.table?.name === KILL_SWITCH_TABLE);
  }

  #run(args: readonly string[]): Promise<string> {
    const [cmd, ...pre] = this.#argv;
    if (cmd === undefined) return Promise.reject(new OsError('FIREWALL', 'no nft command configured'));
    return new Promise((resolve, reject) => {
      execFile(cmd, [...pre, ...args], { timeout: NFT_TIMEOUT_MS, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
        if (err === null) {
          resolve(stdout);
          return;
        }
        const why = stderr.trim().split('\n').slice(0, 3).join('; ') || err.message;
        const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
        const what = args[1]?.startsWith('{') === true ? '-j <ruleset>' : args.join(' ');
        reject(new OsError('FIREWALL', missing ? `${cmd} not found: install nftables for the kill switch` : `nft ${what}: ${why}`, { cause: err }));
      });
    });
  }
}

/** In-memory twin: the documents it was given, and whether the table would exist now. */
export class MemoryFirewall implements Firewall {
  readonly applied: NftDocument[] = [];
  table = false;
  failNext: Error | undefined;

  async apply(doc: NftDocument): Promise<void> {
    if (this.failNext !== undefined) {
      const e = this.failNext;
      this.failNext = undefined;
      throw e;
    }
    this.applied.push(doc);
    // The last table command decides: add (the table with its rules) or delete.
    const last = [...doc.nftables].reverse().find((c) => 'table' in ((Object.values(c)[0] ?? {}) as object));
    this.table = last !== undefined && 'add' in last;
  }

  async hasTable(): Promise<boolean> {
    return this.table;
  }
}
