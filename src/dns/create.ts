/**
 * Builds the tunnel's DnsApplier with the real adapters: repairs DNS journals of dead runs
 * (whatever backend they used), detects the backend (detect.ts) and wires NativeDns to it.
 */
import type { ClientOptions } from '../config/options.ts';
import { OsError } from '../base/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { DnsBackend } from './backend.ts';
import { chooseBackend, gatherFacts } from './detect.ts';
import { runTool } from './exec.ts';
import { FileDnsJournalStore, type DnsJournalStore } from './journal.ts';
import { NativeDns, type DnsApplier } from './native.ts';
import { nativeDnsDecision } from './plan.ts';
import { ResolvFileBackend, restoreFile } from './resolv-file.ts';
import { isOpenresolv, ResolvconfBackend } from './resolvconf.ts';
import { ResolvedBackend } from './resolved.ts';

/** Undoes every DNS change recorded by dead processes of this network namespace. */
export async function repairDns(journal: DnsJournalStore): Promise<string[]> {
  const out: string[] = [];
  const { journals, errors } = journal.stale();
  for (const err of errors) out.push(`journal ${err}: ignored`);
  for (const j of journals) {
    const e = j.entry;
    try {
      if (e.kind === 'file') out.push(`${restoreFile(e).line} (left by pid ${j.pid}, killed before cleaning up)`);
      else {
        await runTool(e.program, ['-d', e.record]);
        out.push(`resolvconf record ${e.record} removed (left by pid ${j.pid}, killed before cleaning up)`);
      }
    } catch (err) {
      out.push(`cannot undo the DNS change of pid ${j.pid} on ${e.dev}: ${(err as Error).message}`);
    }
    journal.discard(j.file);
  }
  return out;
}

export async function createDnsApplier(o: ClientOptions, log: Logger, journal: DnsJournalStore = new FileDnsJournalStore()): Promise<DnsApplier> {
  const decision = nativeDnsDecision(o);
  let backend: DnsBackend | undefined;
  let why = decision.why;
  if (decision.on) {
    const choice = chooseBackend(o.dnsBackend, gatherFacts());
    why = choice.why;
    switch (choice.kind) {
      case 'resolved':
        backend = new ResolvedBackend(choice.resolvectl);
        break;
      case 'resolvconf':
        backend = new ResolvconfBackend(choice.program, await isOpenresolv(choice.program), journal);
        break;
      case 'file':
        backend = new ResolvFileBackend(journal);
        break;
      case 'none':
        throw new OsError('DNS_APPLY', choice.why);
    }
  }
  return new NativeDns(o, { log, backend, why, repair: () => repairDns(journal) });
}
