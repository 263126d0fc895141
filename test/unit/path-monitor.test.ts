/**
 * The roaming decisions on a fake clock: a scripted "world" says which path the shell would
 * find and when the server last answered; the driver performs the monitor's actions the way
 * src/shell/roaming.ts does (look-ups take LOOKUP_MS, a probe makes the server answer after
 * `answerMs` when it floats the session).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryLogger } from '../../src/log/logger.ts';
import { DEFAULT_PATH_MONITOR, PathMonitor, type PathAction, type ServerPath } from '../../src/core/path-monitor.ts';

const WIFI: ServerPath = { dev: 'wlan0', gateway: '192.168.1.1', source: '192.168.1.20' };
const LTE: ServerPath = { dev: 'wwan0', gateway: '10.64.0.1', source: '10.64.0.7' };
const LOOKUP_MS = 3;

class World {
  readonly log = new MemoryLogger();
  readonly monitor: PathMonitor;
  readonly actions: PathAction[] = [];
  now = 0;
  path: ServerPath | undefined;
  lastRx = 0;
  /** After a probe, the server answers this much later (undefined: never). */
  answerMs: number | undefined = 40;
  #lookupAt = Infinity;
  #answerAt = Infinity;
  lookups = 0;

  constructor(proto: 'udp' | 'tcp', initial: ServerPath | undefined) {
    this.path = initial;
    this.monitor = new PathMonitor({ proto, ...DEFAULT_PATH_MONITOR }, initial, this.log);
  }

  kinds(): string[] {
    return this.actions.map((a) => a.kind);
  }

  /** A burst of rtnetlink notifications now (a link went down, its routes went with it...). */
  event(n = 1): void {
    for (let i = 0; i < n; i++) this.monitor.event(this.now);
  }

  /** Runs every deadline up to `t`. */
  until(t: number): void {
    for (;;) {
      const next = Math.min(this.monitor.nextDeadline() ?? Infinity, this.#lookupAt, this.#answerAt);
      if (next > t) break;
      this.now = Math.max(this.now, next);
      if (this.now >= this.#answerAt) {
        this.#answerAt = Infinity;
        this.lastRx = this.now;
      }
      if (this.now >= this.#lookupAt) {
        this.#lookupAt = Infinity;
        this.#perform(this.monitor.resolved(this.path, this.now));
      }
      if ((this.monitor.nextDeadline() ?? Infinity) <= this.now) this.#perform(this.monitor.timer(this.now, this.lastRx));
    }
    this.now = t;
  }

  #perform(actions: PathAction[]): void {
    for (const a of actions) {
      this.actions.push(a);
      if (a.kind === 'resolve') {
        this.lookups++;
        this.#lookupAt = this.now + LOOKUP_MS;
      }
      if (a.kind === 'probe' && this.answerMs !== undefined) this.#answerAt = this.now + this.answerMs;
    }
  }
}

test('path monitor: a burst of events is looked at once, after the debounce', () => {
  const w = new World('udp', WIFI);
  w.event(5);
  w.until(100);
  w.event(3);
  w.until(200);
  assert.equal(w.lookups, 0, 'still within the debounce');
  w.until(349);
  assert.equal(w.lookups, 0);
  w.until(400);
  assert.equal(w.lookups, 1);
  assert.deepEqual(w.kinds(), ['resolve', 'ensure']);
});

test('path monitor: a steady stream of events still gets a look-up after maxDelay', () => {
  const w = new World('udp', WIFI);
  for (let t = 0; t < 3000; t += 100) {
    w.until(t);
    w.event();
  }
  w.until(3000);
  assert.ok(w.lookups >= 2, `looked ${w.lookups} times`);
  assert.ok(w.lookups <= 3);
});

test('path monitor: changes that leave the path alone only make sure the bypass route is there (no probe, no reconnect)', () => {
  const w = new World('udp', WIFI);
  w.event(4); // e.g. our own routes on tun0, an address on another interface
  w.until(1000);
  w.event(); // or the uplink went down and up between two look-ups: its routes are gone
  w.until(2000);
  assert.deepEqual(w.kinds(), ['resolve', 'ensure', 'resolve', 'ensure']);
  assert.deepEqual(w.actions[1], { kind: 'ensure', path: WIFI });
  assert.equal(w.monitor.done, false);
});

test('path monitor: a new path re-points the bypass route and probes; the server answers: the session is kept', () => {
  const w = new World('udp', WIFI);
  w.path = LTE;
  w.event(3);
  w.until(300);
  assert.deepEqual(w.kinds(), ['resolve', 'repoint', 'probe']);
  assert.deepEqual(w.actions[1], { kind: 'repoint', path: LTE, previous: WIFI });
  w.until(10_000);
  assert.deepEqual(w.kinds(), ['resolve', 'repoint', 'probe']);
  assert.match(w.log.text(), /session kept, the server answered 40 ms after the probe/);
  assert.equal(w.monitor.current, LTE);
});

test('path monitor: no answer after the probe reconnects once, at recoverMs', () => {
  const w = new World('udp', WIFI);
  w.answerMs = undefined;
  w.path = LTE;
  w.event();
  w.until(253);
  const probedAt = w.now;
  assert.deepEqual(w.kinds(), ['resolve', 'repoint', 'probe']);
  w.until(probedAt + DEFAULT_PATH_MONITOR.recoverMs - 1);
  assert.equal(w.kinds().includes('reconnect'), false);
  w.until(probedAt + DEFAULT_PATH_MONITOR.recoverMs);
  assert.deepEqual(w.kinds(), ['resolve', 'repoint', 'probe', 'reconnect']);
  w.event(10);
  w.until(60_000);
  assert.equal(w.kinds().filter((k) => k === 'reconnect').length, 1);
  assert.equal(w.monitor.nextDeadline(), undefined);
});

test('path monitor: uplink gone, then another one: wait without acting, then re-point', () => {
  const w = new World('udp', WIFI);
  w.path = undefined;
  w.event(6);
  w.until(1000);
  assert.deepEqual(w.kinds(), ['resolve'], 'nothing but waiting while no path exists');
  assert.match(w.log.text(), /no route to the server .*waiting/);
  w.path = LTE;
  w.event(4);
  w.until(1300);
  assert.deepEqual(w.kinds(), ['resolve', 'resolve', 'repoint', 'probe']);
  w.until(10_000);
  assert.equal(w.monitor.done, false);
});

test('path monitor: the same uplink back after a loss is re-pointed (the kernel flushed its routes)', () => {
  const w = new World('udp', WIFI);
  w.path = undefined;
  w.event();
  w.until(500);
  w.path = WIFI;
  w.event();
  w.until(1000);
  assert.deepEqual(w.kinds(), ['resolve', 'resolve', 'repoint', 'probe']);
  assert.deepEqual(w.actions[2], { kind: 'repoint', path: WIFI, previous: WIFI });
});

test('path monitor: TCP from a new address reconnects at once; TCP from the same address probes', () => {
  const w = new World('tcp', WIFI);
  w.path = LTE;
  w.event();
  w.until(300);
  assert.deepEqual(w.kinds(), ['resolve', 'repoint', 'reconnect']);
  assert.match((w.actions[2] as { message: string }).message, /TCP connection cannot follow/);

  const same = new World('tcp', WIFI);
  same.path = { ...WIFI, gateway: '192.168.1.254' };
  same.event();
  same.until(10_000);
  assert.deepEqual(same.kinds(), ['resolve', 'repoint', 'probe']);
});

test('path monitor: a flapping uplink (10 down/up cycles in 5 s) causes at most one reconnect', () => {
  for (const answerMs of [40, undefined]) {
    const w = new World('udp', WIFI);
    w.answerMs = answerMs;
    for (let i = 0; i < 10; i++) {
      w.until(i * 500);
      w.path = undefined;
      w.event(3);
      w.until(i * 500 + 250);
      w.path = WIFI;
      w.event(3);
    }
    w.until(60_000);
    const reconnects = w.kinds().filter((k) => k === 'reconnect').length;
    assert.ok(reconnects <= 1, `${reconnects} reconnects`);
    // the server answers: the session survives the storm; it never does: one reconnect, after the storm
    assert.equal(reconnects, answerMs === undefined ? 1 : 0);
    assert.ok(w.lookups <= 21, `${w.lookups} look-ups for 20 bursts of events`);
  }
});

test('path monitor: a look-up answered after further events is followed by another', () => {
  const w = new World('udp', WIFI);
  w.event();
  w.until(250); // look-up running until 253
  w.path = LTE;
  w.event();
  w.until(251);
  // the first look-up still sees the old path (it was answered before the change reached it)
  w.path = WIFI;
  w.until(253);
  w.path = LTE;
  w.until(2000);
  assert.deepEqual(w.kinds(), ['resolve', 'ensure', 'resolve', 'repoint', 'probe']);
});
