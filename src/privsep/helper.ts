/**
 * The privileged helper: a child process forked by the client before it drops its privileges
 * (`user`/`group`, docs/security.md). It stays root, does the few things an unprivileged client
 * with only CAP_NET_ADMIN cannot (root-owned journal files, /etc/resolv.conf, resolvconf /
 * resolvectl, nft), and nothing else:
 *
 *   fork(helper.js, [config JSON]) ─▶ ready ─▶ requests one at a time, in order (protocol.ts)
 *                                             ─▶ channel closed (the client exited or died) ─▶ exit
 *
 * It answers only its parent, over the IPC channel Node's fork sets up (a socketpair nobody else
 * holds), and exits when that closes, after finishing what was already sent (so a journal written
 * just before a hard kill still lands). Signals meant for the client's process group (Ctrl-C,
 * systemd's stop) are ignored: the client's teardown still needs the helper.
 * Never: accept a request outside protocol.ts, take configuration from a request, log secrets.
 */
import { FileJournalStore } from '../routing/journal-store.ts';
import { NetJournal } from '../routing/apply.ts';
import { FileDnsJournalStore } from '../dns/journal.ts';
import { backendFor } from '../dns/create.ts';
import { NftFirewall } from '../firewall/nft.ts';
import { FileFirewallJournal } from '../firewall/journal.ts';
import type { DnsBackend } from '../dns/backend.ts';
import { checkRequest, type Answer, type HelperConfig, type Message } from './protocol.ts';

interface Served {
  readonly routes: FileJournalStore;
  readonly dns: DnsBackend | undefined;
  readonly nft: NftFirewall;
  readonly fwJournal: FileFirewallJournal;
}

async function serve(s: Served, req: Message): Promise<unknown> {
  switch (req.op) {
    case 'route-journal-save':
      s.routes.save(NetJournal.fromJSON(req.journal));
      return undefined;
    case 'route-journal-remove':
      s.routes.remove(req.dev);
      return undefined;
    case 'dns-apply':
      if (s.dns === undefined) throw new Error('no DNS backend was chosen at start');
      await s.dns.apply(req.dev, req.plan);
      return undefined;
    case 'dns-revert':
      if (s.dns === undefined) throw new Error('no DNS backend was chosen at start');
      await s.dns.revert(req.dev);
      return undefined;
    case 'nft-apply':
      await s.nft.apply(req.doc);
      return undefined;
    case 'nft-has-table':
      return s.nft.hasTable();
    case 'firewall-claim':
      s.fwJournal.claim();
      return undefined;
    case 'firewall-release':
      s.fwJournal.release();
      return undefined;
  }
}

function parseConfig(text: string | undefined): HelperConfig {
  const c = JSON.parse(text ?? '') as HelperConfig;
  if (!Number.isInteger(c.clientPid) || c.clientPid !== process.ppid) throw new Error('the helper serves only the process that started it');
  return c;
}

export function runHelper(): void {
  const send = process.send?.bind(process);
  if (send === undefined) {
    process.stderr.write('ovpn-ts privileged helper: not started by ovpn-ts (no IPC channel)\n');
    process.exitCode = 2;
    return;
  }
  const config = parseConfig(process.argv[2]);
  const dnsJournal = new FileDnsJournalStore(undefined, undefined, config.clientPid);
  const served: Served = {
    routes: new FileJournalStore(undefined, undefined, config.clientPid),
    dns: config.dns === undefined ? undefined : backendFor(config.dns, dnsJournal),
    nft: new NftFirewall(),
    fwJournal: new FileFirewallJournal(undefined, undefined, config.clientPid),
  };
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) process.on(sig, () => undefined);
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (m: unknown) => {
    queue = queue.then(async () => {
      const checked = checkRequest(m);
      let answer: Answer;
      if (!checked.ok) answer = { id: checked.id, ok: false, error: checked.error };
      else {
        try {
          const value = await serve(served, checked.req);
          answer = value === undefined ? { id: checked.req.id, ok: true } : { id: checked.req.id, ok: true, value };
        } catch (e) {
          answer = { id: checked.req.id, ok: false, error: (e as Error).message };
        }
      }
      if (process.connected) send(answer);
    });
  });
  process.on('disconnect', () => {
    void queue.then(() => process.exit(0));
  });
  send({ ready: true });
}

// Run only as the forked helper: from dist/src/privsep/helper.js, or as the bundle's dist/bin/helper.js.
const entry = process.argv[1] ?? '';
if (entry.endsWith('/privsep/helper.js') || (entry.endsWith('/bin/helper.js') && process.send !== undefined)) runHelper();
