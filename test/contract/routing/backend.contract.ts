/**
 * NetBackend contract: one scenario run against every adapter (memory in-process; netlink inside a
 * fresh network namespace through backend-runner.ts). It returns what it saw; backend.test.ts
 * asserts the same expectations on both results.
 */
import { OsError } from '../../../src/base/errors.ts';
import { errnoOf, type AddrSpec, type BestRoute, type NetBackend, type RouteSpec } from '../../../src/routing/backend.ts';
import { applyOps, type UndoReport } from '../../../src/routing/apply.ts';
import type { NetOp } from '../../../src/routing/plan.ts';

export interface BackendScenarioResult {
  readonly before: { readonly routes: RouteSpec[]; readonly addrs: AddrSpec[] };
  readonly during: {
    readonly link: { readonly up: boolean; readonly mtu: number };
    readonly routes: RouteSpec[];
    readonly addrs: AddrSpec[];
    readonly best4: BestRoute;
    readonly best6: BestRoute;
  };
  readonly duplicate: { readonly code: string; readonly errno: string | undefined; readonly message: string };
  readonly missingDelete: { readonly errno: string | undefined; readonly message: string };
  /** Look-ups and the undo at the same time (roaming reads routes while a teardown undoes): every error. */
  readonly concurrentErrors: string[];
  readonly undo: UndoReport;
  readonly after: { readonly routes: RouteSpec[]; readonly addrs: AddrSpec[]; readonly link: { readonly up: boolean; readonly mtu: number } };
  readonly linkBefore: { readonly up: boolean; readonly mtu: number };
}

export function scenarioOps(dev: string): NetOp[] {
  return [
    { op: 'link', dev, up: true, mtu: 1400 },
    { op: 'addr-add', addr: { dev, family: 4, local: '10.77.0.2', prefixLen: 24 } },
    { op: 'addr-add', addr: { dev, family: 6, local: 'fd77::2', prefixLen: 64 } },
    { op: 'route-add', route: { family: 4, dst: '10.99.0.0', prefixLen: 16, gateway: '10.77.0.1', dev } },
    { op: 'route-add', route: { family: 4, dst: '0.0.0.0', prefixLen: 1, dev, metric: 7 } },
    { op: 'route-add', route: { family: 6, dst: '2001:db8:77::', prefixLen: 48, dev } },
  ];
}

async function caught(p: Promise<unknown>): Promise<OsError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof OsError) return err;
    throw err;
  }
  throw new Error('expected the backend to refuse');
}

const state = async (net: NetBackend, dev: string) => ({
  routes: await net.listRoutes({ dev }),
  addrs: await net.listAddresses(dev),
});

export async function backendScenario(net: NetBackend, dev: string): Promise<BackendScenarioResult> {
  const l0 = await net.getLink(dev);
  const before = await state(net, dev);
  const journal = await applyOps(net, dev, scenarioOps(dev));
  const l1 = await net.getLink(dev);
  const during = {
    link: { up: l1.up, mtu: l1.mtu },
    ...(await state(net, dev)),
    best4: await net.bestRoute('10.99.3.4'),
    best6: await net.bestRoute('2001:db8:77::9'),
  };
  const dup = await caught(net.addRoute({ family: 4, dst: '10.99.0.0', prefixLen: 16, gateway: '10.77.0.1', dev }));
  const missing = await caught(net.delRoute({ family: 4, dst: '10.123.0.0', prefixLen: 16, dev }));
  // the undo lists links for each delete while look-ups list routes and addresses: one socket
  const errors: string[] = [];
  const lookups = Array.from({ length: 6 }, (_, i) => (i % 3 === 0 ? net.listRoutes({ dev }) : i % 3 === 1 ? net.listAddresses(dev) : net.bestRoute('10.99.3.4')));
  const [undo] = await Promise.all([journal.undo(net), ...lookups.map((p) => p.catch((e: unknown) => void errors.push((e as Error).message)))]);
  const l2 = await net.getLink(dev);
  return {
    linkBefore: { up: l0.up, mtu: l0.mtu },
    before,
    during,
    duplicate: { code: dup.code, errno: errnoOf(dup), message: dup.message },
    missingDelete: { errno: errnoOf(missing), message: missing.message },
    concurrentErrors: errors,
    undo,
    after: { ...(await state(net, dev)), link: { up: l2.up, mtu: l2.mtu } },
  };
}
