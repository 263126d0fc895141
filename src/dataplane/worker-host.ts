/**
 * The main thread's side of the data-plane worker (worker-pump.ts): starts it, hands it
 * messages (each followed by a write to its eventfd, which wakes its poll), awaits the
 * requests it acknowledges, and reads its counters from the SharedArrayBuffer.
 *
 *   start()  eventfd + SharedArrayBuffer + Worker ─▶ 'ready' (or a reason it cannot run)
 *   post(m)  postMessage ─▶ write(eventfd)           request(m) ─▶ … 'ack' seq
 *   stop()   'stop' ─▶ ack ─▶ the thread ends ─▶ close(eventfd)
 *
 * One worker per process, reused by every attempt. Never: block the main thread, or close an
 * fd the worker may still poll before it acknowledged letting go of it.
 */
import { Worker } from 'node:worker_threads';
import { lib, errno as lastErrno, O_CLOEXEC, O_NONBLOCK } from '../platform/libc.ts';
import { Shared, type FromWorker, type ToWorker, type WorkerInit } from './worker-shared.ts';

type Request = Extract<ToWorker, { readonly seq: number }>;

/**
 * The worker's heap is small: its rings live in native memory and its steady path allocates
 * nothing, so a young generation of a few MB keeps the process's RSS down without a GC cost.
 */
const WORKER_HEAP = { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 24 };
type Unsequenced<T> = T extends { readonly seq: number } ? Omit<T, 'seq'> : never;

export interface WorkerEvents {
  message(m: Exclude<FromWorker, { kind: 'ready' } | { kind: 'ack' }>): void;
  /** The thread ended without being asked (a crash): the caller falls back or restarts. */
  exit(reason: string): void;
}

export interface WorkerOptions {
  readonly slots: number;
  readonly slotSize: number;
  readonly backend?: 'evp' | 'node';
  /** UDP GSO sends (default on). */
  readonly gso?: boolean;
  /** While a stream flows, µs to wait for a batch before polling again (default 0: never). */
  readonly batchWaitUs?: number;
  /** How long start() waits for the thread (module load, koffi, EVP) before giving up. */
  readonly startTimeoutMs?: number;
}

export class DataPlaneWorker {
  readonly counters: Float64Array;
  readonly #worker: Worker;
  readonly #efd: number;
  readonly #one = new Uint8Array(8);
  readonly #acks = new Map<number, () => void>();
  #events: WorkerEvents | undefined;
  #seq = 0;
  #exited = false;

  private constructor(worker: Worker, efd: number, counters: Float64Array) {
    this.#worker = worker;
    this.#efd = efd;
    this.counters = counters;
    new DataView(this.#one.buffer).setBigUint64(0, 1n, true);
  }

  /** Starts the thread; rejects with the reason it cannot run (the caller falls back to the main thread). */
  static async start(o: WorkerOptions): Promise<DataPlaneWorker> {
    const c = lib();
    const efd = c.eventfd(0, O_NONBLOCK | O_CLOEXEC);
    if (efd < 0) throw new Error(`eventfd failed: errno ${lastErrno()}`);
    const sab = new SharedArrayBuffer(Shared.SIZE * 8);
    const init: WorkerInit = { eventFd: efd, counters: sab, timeOrigin: performance.timeOrigin, slots: o.slots, slotSize: o.slotSize, backend: o.backend ?? 'evp', gso: o.gso ?? true, batchWaitUs: o.batchWaitUs ?? 0 };
    const worker = new Worker(new URL('./worker-entry.js', import.meta.url), { workerData: init, stdout: false, stderr: false, resourceLimits: WORKER_HEAP });
    const host = new DataPlaneWorker(worker, efd, new Float64Array(sab));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`the data-plane worker did not start within ${o.startTimeoutMs ?? 5000} ms`)), o.startTimeoutMs ?? 5000);
      const fail = (e: Error): void => {
        clearTimeout(timer);
        void worker.terminate();
        c.close(efd);
        reject(e);
      };
      worker.once('error', fail);
      worker.once('message', (m: FromWorker) => {
        clearTimeout(timer);
        worker.off('error', fail);
        if (m.kind === 'ready') resolve();
        else fail(new Error(m.kind === 'fatal' ? m.message : `unexpected ${m.kind}`));
      });
    });
    host.#listen();
    return host;
  }

  /** Where the worker's messages go (the attempt that holds the worker now). */
  set events(e: WorkerEvents | undefined) {
    this.#events = e;
  }

  get alive(): boolean {
    return !this.#exited;
  }

  #listen(): void {
    this.#worker.on('message', (m: FromWorker) => {
      if (m.kind === 'ack') {
        const done = this.#acks.get(m.seq);
        this.#acks.delete(m.seq);
        done?.();
      } else if (m.kind !== 'ready') this.#events?.message(m);
    });
    const ended = (reason: string): void => {
      if (this.#exited) return;
      this.#exited = true;
      for (const done of this.#acks.values()) done();
      this.#acks.clear();
      lib().close(this.#efd);
      this.#events?.exit(reason);
    };
    this.#worker.on('error', (e) => ended(`the data-plane worker failed: ${e.message}`));
    this.#worker.on('exit', (code) => ended(`the data-plane worker exited (${code})`));
  }

  /** Hands the worker a message and wakes it; `transfer` moves buffers (key bytes) instead of copying them. */
  post(m: Exclude<ToWorker, Request>, transfer: readonly ArrayBuffer[] = []): void {
    if (this.#exited) return;
    this.#worker.postMessage(m, transfer as ArrayBuffer[]);
    lib().write(this.#efd, this.#one, 8);
  }

  /** A message the worker acknowledges once it took effect (it holds or let go of an fd). */
  request(m: Unsequenced<Request>): Promise<void> {
    if (this.#exited) return Promise.resolve();
    const seq = ++this.#seq;
    return new Promise<void>((resolve) => {
      this.#acks.set(seq, resolve);
      this.#worker.postMessage({ ...m, seq });
      lib().write(this.#efd, this.#one, 8);
    });
  }

  /** Sets the totals of primary-key data at which the worker posts `wake` (0: never). */
  notifyAt(bytes: number, packets: number): void {
    this.counters[Shared.NOTIFY_KEY_BYTES] = bytes;
    this.counters[Shared.NOTIFY_KEY_PKTS] = packets;
  }

  /** Stops the thread and waits for it to end. */
  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    await this.request({ kind: 'stop' });
    await exited;
  }
}
