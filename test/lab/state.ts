/**
 * The client namespace's network state, for "the host is left as it was" assertions:
 * `ip -j addr/link/route` (v4 and v6, all tables) snapshots, waiting until the lab's veth has
 * settled (carrier up, IPv6 DAD done) so two snapshots compare like with like, and a bounded
 * wait for a client process to exit.
 */
import type { NetnsPair } from './netns.ts';
import type { LabClient } from './stock-client.ts';

/** Bound on the lab's veth settling (carrier up, IPv6 duplicate address detection done). */
const SETTLE_TIMEOUT_MS = 8_000;

export async function networkSnapshot(lab: NetnsPair): Promise<Record<string, unknown>> {
  const run = async (...args: string[]): Promise<unknown> => JSON.parse((await lab.client.exec('ip', ['-j', ...args])).stdout) as unknown;
  return {
    addr: await run('addr', 'show'),
    link: await run('link', 'show'),
    route4: await run('-4', 'route', 'show', 'table', 'all'),
    route6: await run('-6', 'route', 'show', 'table', 'all'),
  };
}

export interface JsonRoute {
  readonly dst: string;
  readonly dev?: string;
  readonly gateway?: string;
}

/** `ip -j -4|-6 route show` of the client namespace (main table). */
export async function clientRoutes(lab: NetnsPair, family: 4 | 6): Promise<JsonRoute[]> {
  const r = await lab.client.exec('ip', ['-j', `-${family}`, 'route', 'show']);
  return JSON.parse(r.stdout) as JsonRoute[];
}

/** Waits until no address is tentative and no link lacks carrier. */
export async function networkSettled(lab: NetnsPair): Promise<void> {
  const until = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const text = (await lab.client.exec('ip', ['-j', 'addr', 'show'])).stdout;
    if (!/"tentative"|NO-CARRIER/.test(text)) return;
    if (Date.now() > until) throw new Error(`client namespace did not settle: ${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Resolves when the client process has exited; rejects with its log after `ms`. */
export async function clientExited(client: LabClient, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`client did not exit within ${ms} ms:\n${client.log()}`)), ms);
  });
  try {
    await Promise.race([client.process.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
