/**
 * The client's side of the privileged helper (helper.ts): forks it while still root, and hands
 * out the ports whose work it does, so the tunnel, the DNS and the kill switch keep working after
 * the privilege drop without knowing about it:
 *
 *   JournalStore (route journal)   save/remove ─▶ helper; stale/discard here (only at start, as root)
 *   DnsBackend                     apply/revert ─▶ helper (the backend chosen here, before the drop)
 *   Firewall                       apply/hasTable ─▶ helper
 *   FirewallJournal                claim/release ─▶ helper; owner() here (only at start, as root)
 *
 * Requests go out in call order over one channel and the helper serves them in that order, so a
 * journal saved (synchronously, as the port says) before a route change is on its way to the
 * helper before the change is made; a save that fails is logged. The channel keeps this process
 * alive only while an answer is awaited.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log/logger.ts';
import { OsError } from '../base/errors.ts';
import type { JournalStore } from '../routing/journal-store.ts';
import type { NetJournal } from '../routing/apply.ts';
import type { DnsBackend } from '../dns/backend.ts';
import type { DnsPlan } from '../dns/plan.ts';
import type { Firewall } from '../firewall/nft.ts';
import type { FirewallJournal, Owner } from '../firewall/journal.ts';
import type { NftDocument } from '../firewall/ruleset.ts';
import type { Answer, DnsChoice, HelperConfig, Request } from './protocol.ts';

/** Bound on the helper's start (a Node process loading a few modules: ~0.1 s). */
const START_TIMEOUT_MS = 10_000;

export class PrivHelper {
  readonly #child: ChildProcess;
  readonly #log: Logger;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #next = 1;
  #gone: string | undefined;

  private constructor(child: ChildProcess, log: Logger) {
    this.#child = child;
    this.#log = log;
    child.on('message', (m: Answer) => this.#answer(m));
    child.on('exit', (code, signal) => this.#lost(`the privileged helper exited (${signal ?? `code ${code ?? '?'}`})`));
    child.on('error', (e) => this.#lost(`the privileged helper failed: ${e.message}`));
  }

  /** Forks the helper (call it as root, before the drop) and waits until it is ready. */
  static start(dns: DnsChoice | undefined, log: Logger): Promise<PrivHelper> {
    const config: HelperConfig = { clientPid: process.pid, dns };
    const path = fileURLToPath(new URL('./helper.js', import.meta.url));
    const child = fork(path, [JSON.stringify(config)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], serialization: 'json' });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('no answer')), START_TIMEOUT_MS);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new OsError('OS', `cannot start the privileged helper (user/group): ${e.message}`, { cause: e }));
      };
      child.once('error', fail);
      child.once('exit', (code) => fail(new Error(`it exited with code ${code ?? '?'}`)));
      child.once('message', (m: { ready?: boolean }) => {
        if (m.ready !== true) return fail(new Error('unexpected first message'));
        clearTimeout(timer);
        child.removeAllListeners();
        const h = new PrivHelper(child, log);
        h.#idle();
        log.verb(3, `privileged helper started (pid ${child.pid ?? '?'})`);
        resolve(h);
      });
    });
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  request(req: Request): Promise<unknown> {
    if (this.#gone !== undefined) return Promise.reject(new OsError('OS', this.#gone));
    const id = this.#next++;
    if (this.#pending.size === 0) this.#child.channel?.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#child.send({ ...req, id });
    });
  }

  /** For the synchronous ports: sent now, in order; a failure is logged. */
  #post(req: Request, what: string): void {
    this.request(req).catch((e: unknown) => this.#log.error(`${what}: ${(e as Error).message}`));
  }

  /** Closes the channel: the helper finishes what it was sent, then exits. */
  close(): void {
    if (this.#gone === undefined && this.#child.connected) this.#child.disconnect();
  }

  #answer(m: Answer): void {
    const p = this.#pending.get(m.id);
    if (p === undefined) return;
    this.#pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(new OsError('OS', m.error));
    if (this.#pending.size === 0) this.#idle();
  }

  #idle(): void {
    this.#child.channel?.unref();
  }

  #lost(why: string): void {
    if (this.#gone !== undefined) return;
    this.#gone = why;
    for (const p of this.#pending.values()) p.reject(new OsError('OS', why));
    this.#pending.clear();
  }

  /** The route journal: written by the helper; dead runs' journals read here (at start, as root). */
  journalStore(local: JournalStore): JournalStore {
    return {
      save: (j: NetJournal) => this.#post({ op: 'route-journal-save', dev: j.dev, journal: j.toJSON() }, `route journal ${j.dev}`),
      remove: (dev: string) => this.#post({ op: 'route-journal-remove', dev }, `route journal ${dev}`),
      stale: () => local.stale(),
      discard: (file: string) => local.discard(file),
    };
  }

  dnsBackend(local: DnsBackend): DnsBackend {
    return {
      caps: local.caps,
      apply: async (dev: string, plan: DnsPlan) => void (await this.request({ op: 'dns-apply', dev, plan })),
      revert: async (dev: string) => void (await this.request({ op: 'dns-revert', dev })),
    };
  }

  firewall(): Firewall {
    return {
      apply: async (doc: NftDocument) => void (await this.request({ op: 'nft-apply', doc })),
      hasTable: async () => (await this.request({ op: 'nft-has-table' })) === true,
    };
  }

  firewallJournal(local: FirewallJournal): FirewallJournal {
    return {
      owner: (): Owner | undefined => local.owner(),
      claim: () => this.#post({ op: 'firewall-claim' }, 'kill switch journal'),
      release: () => this.#post({ op: 'firewall-release' }, 'kill switch journal'),
    };
  }
}
