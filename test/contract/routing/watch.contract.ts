/**
 * NetWatcher contract: one scenario against every adapter (the memory twin in-process, the
 * rtnetlink watcher inside a fresh namespace through watch-runner.ts). Each change made through
 * the NetBackend must be followed by a notification of its kind; after close(), none.
 */
import type { NetBackend } from '../../../src/routing/backend.ts';
import type { NetChangeKind, NetChangeListener, NetWatcher } from '../../../src/routing/watch.ts';

/** Bound on one notification's arrival (they come at once; this only stops a hung test). */
const WAIT_MS = 2000;

export interface WatchScenarioResult {
  /** Per step, whether a notification of the expected kind followed. */
  readonly steps: Record<string, boolean>;
  readonly afterClose: number;
}

export async function watchScenario(net: NetBackend, dev: string, open: (l: NetChangeListener) => NetWatcher): Promise<WatchScenarioResult> {
  const seen: NetChangeKind[] = [];
  let wake: (() => void) | undefined;
  const watcher = open((k) => {
    seen.push(k);
    wake?.();
  });
  const step = async (kind: NetChangeKind, change: () => Promise<void>): Promise<boolean> => {
    seen.length = 0;
    await change();
    const until = Date.now() + WAIT_MS;
    while (!seen.includes(kind) && Date.now() < until) {
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 50);
      });
    }
    return seen.includes(kind);
  };
  const steps: Record<string, boolean> = {};
  steps['link up'] = await step('link', () => net.setLink(dev, { up: true, mtu: 1400 }));
  steps['address added'] = await step('address', () => net.addAddress({ dev, family: 4, local: '10.66.0.2', prefixLen: 24 }));
  steps['route added'] = await step('route', () => net.addRoute({ family: 4, dst: '10.67.0.0', prefixLen: 16, gateway: '10.66.0.1', dev }));
  steps['IPv6 route added'] = await step('route', () => net.addRoute({ family: 6, dst: '2001:db8:66::', prefixLen: 48, dev }));
  steps['route deleted'] = await step('route', () => net.delRoute({ family: 4, dst: '10.67.0.0', prefixLen: 16, gateway: '10.66.0.1', dev }));
  steps['IPv6 route deleted'] = await step('route', () => net.delRoute({ family: 6, dst: '2001:db8:66::', prefixLen: 48, dev }));
  steps['address deleted'] = await step('address', () => net.delAddress({ dev, family: 4, local: '10.66.0.2', prefixLen: 24 }));
  watcher.close();
  watcher.close();
  seen.length = 0;
  await net.setLink(dev, { up: false, mtu: 1400 });
  await new Promise((r) => setTimeout(r, 100));
  return { steps, afterClose: seen.length };
}
