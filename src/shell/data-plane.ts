/**
 * Which thread moves the data packets, for the whole process: the data-plane worker
 * (src/dataplane/worker-*.ts) when it can run, the main thread otherwise, named in the log.
 *
 *   Client start ─▶ start the worker (in parallel with loading keys and resolving the remote)
 *   each TCP attempt, and each UDP one without a SOCKS proxy ─▶ await it ─▶ worker, or main
 *                                                               thread if it failed
 *   SOCKS UDP attempts ─▶ main thread (the relay's framing: docs/architecture.md)
 *   exit ─▶ stop the worker
 *
 * OVPN_TS_DATA_PLANE=main in the environment keeps everything on the main thread; OVPN_TS_GSO=off
 * sends the worker's datagrams one by one instead of as UDP GSO runs, OVPN_TS_BATCH_WAIT_US=0
 * makes it poll again at once while a stream flows (both for comparison).
 */
import type { ClientOptions } from '../config/index.ts';
import type { Logger } from '../log/logger.ts';
import { DataPlaneWorker } from '../dataplane/worker-host.ts';

/** Datagrams per recvmmsg/sendmmsg batch. */
const SLOTS = 64;
/**
 * While a stream flows, how long the worker waits for a batch before it polls again (µs): a
 * download's CPU per bit halves with 100 µs (docs/benchmarks.md, Batch wait).
 */
const BATCH_WAIT_US = 100;

/** OVPN_TS_BATCH_WAIT_US=N (0 turns the wait off), else the default; at most 1 ms. */
function batchWait(env: NodeJS.ProcessEnv): number {
  const n = Number(env['OVPN_TS_BATCH_WAIT_US'] ?? BATCH_WAIT_US);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, 1000) : BATCH_WAIT_US;
}

/** Whether the worker is used at all: some TCP connection or UDP one without a SOCKS relay, and not turned off. */
export function workerWanted(o: ClientOptions, env: NodeJS.ProcessEnv): boolean {
  return env['OVPN_TS_DATA_PLANE'] !== 'main' && o.connections.some((c) => c.proto === 'tcp' || c.socksProxy === undefined);
}

export class DataPlane {
  readonly #log: Logger;
  readonly #starting: Promise<DataPlaneWorker | undefined> | undefined;
  #announced = false;

  /** `start` is the worker's own unless a test passes a twin. */
  constructor(o: ClientOptions, log: Logger, env: NodeJS.ProcessEnv = process.env, start: typeof DataPlaneWorker.start = (w) => DataPlaneWorker.start(w)) {
    this.#log = log;
    if (!workerWanted(o, env)) return;
    const mtu = Math.max(...o.connections.map((c) => c.tunMtu));
    const slotSize = Math.min(65536 + 512, Math.max(2048, Math.ceil((mtu + 512) / 64) * 64));
    this.#starting = start({ slots: SLOTS, slotSize, gso: env['OVPN_TS_GSO'] !== 'off', batchWaitUs: batchWait(env) }).catch((e: unknown) => {
      this.#log.warn(`data plane: the worker thread cannot run (${(e as Error).message}); packets stay on the main thread`);
      this.#announced = true;
      return undefined;
    });
  }

  /** The worker for an attempt it can take, or undefined: use the main thread. */
  async worker(): Promise<DataPlaneWorker | undefined> {
    const w = await this.#starting;
    if (w !== undefined && !w.alive) return undefined;
    if (!this.#announced) {
      this.#announced = true;
      this.#log.verb(3, w === undefined ? 'data plane: main thread' : 'data plane: worker thread (recvmmsg/sendmmsg batches, EVP crypto)');
    }
    return w;
  }

  async stop(): Promise<void> {
    await (await this.#starting)?.stop();
  }
}
