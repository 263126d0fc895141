/**
 * Builds the tunnel's DnsApplier with the real adapters: repairs DNS journals of dead runs
 * (whatever backend they used), detects the backend (detect.ts) and wires NativeDns to it.
 */
import type { ClientOptions } from '../config/options.ts';
import { OsError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { DnsBackend } from './backend.ts';
import { chooseBackend, gatherFacts } from './detect.ts';
import { findProgram, runTool } from './exec.ts';
import { FileDnsJournalStore, type DnsJournalStore } from './journal.ts';
import { NativeDns, type DnsApplier } from './native.ts';
import { nativeDnsDecision } from './plan.ts';
import { RESOLV_CONF, ResolvFileBackend, restoreFile } from './resolv-file.ts';
import { isOpenresolv, ResolvconfBackend } from './resolvconf.ts';
import { ResolvedBackend } from './resolved.ts';
import type { DnsChoice } from './choose.ts';

/** A resolvconf record ovpn-ts names (recordName): never an option or a path. */
const RECORD = /^[A-Za-z0-9_.-]+\.openvpn$/;

/**
 * Undoes every DNS change recorded by dead processes of this network namespace. A journal names
 * only `resolvConf` (the file backend's path) and a record of the resolvconf installed now: the
 * program named in the journal is never run.
 */
export async function repairDns(journal: DnsJournalStore, resolvConf = RESOLV_CONF): Promise<string[]> {
  const out: string[] = [];
  const { journals, errors } = journal.stale();
  for (const err of errors) out.push(`journal ${err}: ignored`);
  for (const j of journals) {
    const e = j.entry;
    try {
      if (e.kind === 'file') {
        if (e.path !== resolvConf) throw new Error(`the journal names ${e.path}, not ${resolvConf}: not repaired`);
        out.push(`${restoreFile(e).line} (left by pid ${j.pid}, killed before cleaning up)`);
      } else {
        const program = findProgram('resolvconf');
        if (program === undefined) throw new Error('resolvconf is no longer installed');
        if (!RECORD.test(e.record)) throw new Error(`the journal names the record "${e.record}": not repaired`);
        await runTool(program, ['-d', e.record]);
        out.push(`resolvconf record ${e.record} removed (left by pid ${j.pid}, killed before cleaning up)`);
      }
    } catch (err) {
      out.push(`cannot undo the DNS change of pid ${j.pid} on ${e.dev}: ${(err as Error).message}`);
    }
    journal.discard(j.file);
  }
  return out;
}

/** The backend for a choice made before (also in the privileged helper, src/privsep/helper.ts). */
export function backendFor(choice: DnsChoice, journal: DnsJournalStore): DnsBackend {
  switch (choice.kind) {
    case 'resolved':
      return new ResolvedBackend(choice.resolvectl);
    case 'resolvconf':
      return new ResolvconfBackend(choice.program, choice.openresolv, journal);
    case 'file':
      return new ResolvFileBackend(journal);
  }
}

/**
 * `remote`: with `user`/`group`, the backend that applies DNS in the privileged helper instead
 * of this process (it is handed the choice and the local backend, for its capabilities).
 */
export async function createDnsApplier(
  o: ClientOptions,
  log: Logger,
  journal: DnsJournalStore = new FileDnsJournalStore(),
  remote?: (choice: DnsChoice, local: DnsBackend) => Promise<DnsBackend>,
): Promise<DnsApplier> {
  const decision = nativeDnsDecision(o);
  let backend: DnsBackend | undefined;
  let why = decision.why;
  if (decision.on) {
    const choice = chooseBackend(o.dnsBackend, gatherFacts());
    why = choice.why;
    if (choice.kind === 'none') throw new OsError('DNS_APPLY', choice.why);
    const made: DnsChoice =
      choice.kind === 'resolvconf' ? { kind: 'resolvconf', program: choice.program, openresolv: await isOpenresolv(choice.program) } : choice.kind === 'resolved' ? { kind: 'resolved', resolvectl: choice.resolvectl } : { kind: 'file' };
    backend = backendFor(made, journal);
    if (remote !== undefined) backend = await remote(made, backend);
  }
  return new NativeDns(o, { log, backend, why, repair: () => repairDns(journal) });
}
