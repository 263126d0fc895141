/**
 * Loopback harness: the whole client (an Attempt: Session, TLS engine, push, keys, DataChannel,
 * keepalive) against TestServer over a MemoryLinkPair, on one virtual clock.
 *
 *   Attempt ──openLink──▶ MemoryLinkPair end A ══ seeded loss/reorder/dup ══ end B ◀── TestServer
 *      │ timers                      deliveries                               │ retransmit timer
 *      └──────────────────────────▶ VirtualTimers(FakeClock) ◀────────────────┘
 *
 * Node's TLS engines still run on the real event loop: `settle()` yields (setImmediate) until
 * nothing new was scheduled for a few rounds, and only then does `runUntil` move virtual time
 * to the next timer. So virtual time never passes while a TLS engine still has work queued.
 *
 * The client is configured from a real config text (inline PKI from test/fixtures/pki) through
 * loadConfig and loadMaterial, as the CLI does.
 */
import { readFileSync } from 'node:fs';
import { FakeClock, SeededRandom } from '../../src/base/clock.ts';
import { loadConfig, type ClientOptions, type ConfigFs } from '../../src/config/index.ts';
import { Attempt, type AttemptOutcome, type LinkOpenOptions } from '../../src/shell/attempt.ts';
import { MemoryLogger } from '../../src/log/logger.ts';
import { loadCredentials, loadMaterial, type Credentials, type Material } from '../../src/material/load.ts';
import { TrafficStats } from '../../src/shell/status.ts';
import { MemoryLinkPair, VirtualTimers, type LinkConditions, type PacketTap } from '../../src/link/memory-link.ts';
import type { Endpoint } from '../../src/link/link.ts';
import { parseStaticKey } from '../../src/tls/static-key.ts';
import type { SendFromTunnel, Tunnel } from '../../src/tunnel/tunnel.ts';
import { TestServer } from './server.ts';
import { NodeCryptoCaps } from '../../src/dataplane/cipher-probe.ts';

/** Relative to the repository root, where the tests run (as the other tiers do). */
const PKI_DIR = 'test/fixtures/pki/';

function pki(name: string): string {
  return readFileSync(`${PKI_DIR}${name}`, 'utf8');
}

/** setImmediate rounds without new timers before virtual time may move. */
const IDLE_ROUNDS = 4;
/** Hard cap on harness steps, so a broken run ends instead of spinning. */
const MAX_STEPS = 20_000;
export const SERVER: Endpoint = { address: '127.0.0.1', port: 1194, family: 4 };

/** A Tunnel for tests: records what the client writes, lets the test inject packets "from the OS". */
export class LoopbackTunnel implements Tunnel {
  opened: ClientOptions | undefined;
  readonly written: Uint8Array[] = [];
  detached = 0;
  #send: SendFromTunnel | undefined;

  async open(pushed: ClientOptions, _remote: Endpoint, send: SendFromTunnel): Promise<void> {
    this.opened = pushed;
    this.#send = send;
  }
  write(packet: Uint8Array, len: number): void {
    this.written.push(packet.slice(0, len));
  }
  /** A packet the OS routed into the tunnel; false if the tunnel is not open. */
  inject(packet: Uint8Array): boolean {
    if (this.#send === undefined) return false;
    this.#send(packet, packet.byteLength);
    return true;
  }
  /** Set to make detach fail as a broken OS would (the attempt must still end). */
  detachError: Error | undefined;
  async detach(): Promise<void> {
    if (this.detachError !== undefined) throw this.detachError;
    this.#send = undefined;
    this.detached++;
  }
  async close(): Promise<void> {}
}

export interface LoopbackOptions {
  readonly seed: number;
  readonly conditions?: LinkConditions;
  /** Server-to-client conditions, when they differ. */
  readonly bToA?: LinkConditions;
  readonly wrap: 'none' | 'tls-crypt';
  readonly push?: string;
  /** The password the client sends; the server expects the one in creds.txt. */
  readonly password?: string;
  /** No server at all: nothing ever answers. */
  readonly silentServer?: boolean;
  /** Passed to TestServer: PUSH_REPLYs per answer, in one TLS write. */
  readonly pushReplyCopies?: number;
  /** Sees every packet sent, from the client's first reset on. */
  readonly tap?: PacketTap;
  /** Extra client config lines. */
  readonly config?: readonly string[];
  /** Changes the loaded key material (e.g. a TLS set-up OpenSSL refuses only when the engine opens). */
  readonly material?: (m: Material) => Material;
}

function memFs(files: Record<string, string>): ConfigFs {
  const enc = new TextEncoder();
  return {
    readFile(path) {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return enc.encode(text);
    },
    cwd: () => '/loopback',
  };
}

function clientConfig(o: LoopbackOptions, password: string): string {
  const block = (tag: string, body: string): string => `<${tag}>\n${body.trimEnd()}\n</${tag}>`;
  return [
    'client',
    'dev tun',
    'proto udp',
    `remote ${SERVER.address} ${SERVER.port}`,
    'nobind',
    'remote-cert-tls server',
    ...(o.config ?? []),
    block('ca', pki('ca.crt')),
    block('cert', pki('client.crt')),
    block('key', pki('client.key')),
    ...(o.wrap === 'tls-crypt' ? [block('tls-crypt', pki('ta.key'))] : []),
    block('auth-user-pass', `testuser\n${password}`),
    '',
  ].join('\n');
}

export class Loopback {
  readonly clock = new FakeClock(0);
  readonly timers = new VirtualTimers(this.clock);
  readonly log = new MemoryLogger();
  readonly tunnel = new LoopbackTunnel();
  /** What the attempt asked of its link (connect-timeout, float, local address). */
  linkOptions: LinkOpenOptions | undefined;
  readonly pair: MemoryLinkPair;
  readonly server: TestServer | undefined;
  readonly attempt: Attempt;
  outcome: AttemptOutcome | undefined;
  /** Virtual time at which the attempt ended. */
  endedAt: number | undefined;
  readonly #done: Promise<AttemptOutcome>;

  private constructor(o: LoopbackOptions, options: ClientOptions, material: Material, credentials: Credentials | undefined) {
    const random = new SeededRandom(o.seed);
    this.pair = new MemoryLinkPair({
      timers: this.timers,
      random: new SeededRandom(o.seed * 7919 + 1),
      endpointB: SERVER,
      ...(o.conditions === undefined ? {} : { conditions: o.conditions }),
      ...(o.bToA === undefined ? {} : { bToA: o.bToA }),
    });
    if (o.tap !== undefined) this.pair.tap(o.tap);
    if (o.silentServer !== true) {
      const creds = pki('creds.txt').split('\n');
      this.server = new TestServer({
        timers: this.timers,
        random: new SeededRandom(o.seed * 104729 + 3),
        tls: { ca: pki('ca.crt'), cert: pki('server.crt'), key: pki('server.key') },
        wrap: o.wrap === 'none' ? { mode: 'none' } : { mode: 'tls-crypt', key: parseStaticKey(pki('ta.key')) },
        credentials: { username: creds[0] ?? '', password: creds[1] ?? '' },
        ...(o.push === undefined ? {} : { push: o.push }),
        ...(o.pushReplyCopies === undefined ? {} : { pushReplyCopies: o.pushReplyCopies }),
      });
      this.server.attach((events) => this.pair.openB(events));
    }
    const connection = options.connections[0];
    if (connection === undefined) throw new Error('the loopback config has no remote');
    this.attempt = new Attempt({
      options,
      connection,
      connectionIndex: 0,
      remote: SERVER,
      material,
      credentials,
      stats: new TrafficStats(),
      tunnel: this.tunnel,
      clock: this.clock,
      random,
      caps: new NodeCryptoCaps(),
      log: this.log,
      openLink: async (opts, events) => {
        this.linkOptions = opts;
        return this.pair.openA(events);
      },
      timers: this.timers,
    });
    this.#done = this.attempt.run().then((outcome) => {
      this.outcome = outcome;
      this.endedAt = this.clock.now();
      return outcome;
    });
  }

  static async start(o: LoopbackOptions): Promise<Loopback> {
    const password = o.password ?? pki('creds.txt').split('\n')[1] ?? '';
    const fs = memFs({ '/loopback/client.ovpn': clientConfig(o, password) });
    const { options } = loadConfig(['--config', '/loopback/client.ovpn'], fs);
    const loaded = await loadMaterial(options, 0);
    const material = o.material === undefined ? loaded : o.material(loaded);
    return new Loopback(o, options, material, await loadCredentials(options));
  }

  /** Yields to Node until nothing new was scheduled for IDLE_ROUNDS rounds (TLS engines done). */
  async settle(): Promise<void> {
    let idle = 0;
    while (idle < IDLE_ROUNDS) {
      const before = this.timers.activity;
      await new Promise<void>((resolve) => setImmediate(resolve));
      idle = this.timers.activity === before ? idle + 1 : 0;
    }
  }

  /**
   * Runs the world until `done()` holds or `limitMs` of virtual time passed; returns done().
   * Each step: settle, check, then jump to the next timer (a delivery or a retransmission).
   */
  async runUntil(done: () => boolean, limitMs: number): Promise<boolean> {
    const deadline = this.clock.now() + limitMs;
    for (let step = 0; step < MAX_STEPS; step++) {
      await this.settle();
      if (done()) return true;
      const next = this.timers.nextAt();
      if (next === undefined || next > deadline) {
        this.timers.advanceTo(deadline);
        await this.settle();
        return done();
      }
      this.timers.runNext();
    }
    throw new Error(`loopback did not settle within ${MAX_STEPS} steps`);
  }

  /** Runs until the attempt ended (or limitMs passed); returns the outcome, if any. */
  async runToEnd(limitMs: number): Promise<AttemptOutcome | undefined> {
    await this.runUntil(() => this.outcome !== undefined, limitMs);
    return this.outcome;
  }

  /** Stops the client and the server; the attempt's promise resolves. */
  async close(): Promise<void> {
    this.server?.close();
    if (this.outcome === undefined) {
      const stopped = this.attempt.stop();
      await this.settle();
      await stopped;
    }
    await this.#done;
  }
}
