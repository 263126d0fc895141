/**
 * The background child of `daemon` (cli/daemon.ts) tells its parent, once, that the tunnel is up
 * (the first CONNECTED), then lets the IPC channel go so that the parent can exit.
 */
import type { ProcessObserver } from './process-observer.ts';

export function daemonReady(): ProcessObserver {
  let told = false;
  return {
    onState: (state) => {
      if (state !== 'CONNECTED' || told || process.send === undefined) return;
      told = true;
      process.send({ ready: true }, () => process.disconnect?.());
    },
    onTunnel: () => undefined,
    ending: () => undefined,
  };
}
