/**
 * The data-plane worker thread's entry point (worker-host.ts starts it): runs the pump until
 * the main thread says stop; a failure is reported as `fatal`, never thrown into the void.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FromWorker, WorkerInit } from './worker-shared.ts';
import { WorkerPump } from './worker-pump.ts';

const port = parentPort;
if (port === null) throw new Error('worker-entry runs only as a worker thread');
try {
  new WorkerPump(workerData as WorkerInit, port).run();
} catch (e) {
  port.postMessage({ kind: 'fatal', message: (e as Error).message } satisfies FromWorker);
}
