/**
 * Tier 1: which thread carries the data packets (shell/data-plane.ts). The worker is asked for
 * only when a connection is plain UDP; a worker that cannot start leaves the packets on the main
 * thread and says so once; OVPN_TS_DATA_PLANE=main keeps them there.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConnection, defaultOptions, type ClientOptions, type ConnectionEntry } from '../../../src/config/options.ts';
import { MemoryLogger } from '../../../src/log/logger.ts';
import { DataPlane } from '../../../src/shell/data-plane.ts';
import type { DataPlaneWorker } from '../../../src/dataplane/worker-host.ts';

const options = (ce: Partial<ConnectionEntry>): ClientOptions => ({ ...(defaultOptions() as ClientOptions), connections: [{ ...(defaultConnection() as ConnectionEntry), ...ce }] });

test('a worker that cannot start: the packets stay on the main thread, and the log says why, once', async () => {
  const log = new MemoryLogger();
  const starts: { slots: number; slotSize: number; gso?: boolean }[] = [];
  const plane = new DataPlane(options({ proto: 'udp', tunMtu: 1500 }), log, {}, async (o) => {
    starts.push(o);
    throw new Error('koffi did not load');
  });
  assert.equal(await plane.worker(), undefined);
  assert.equal(await plane.worker(), undefined);
  assert.deepEqual(starts, [{ slots: 64, slotSize: 2048, gso: true, batchWaitUs: 100 }]);
  const warnings = log.records.filter((r) => r.kind === 'warn').map((r) => r.msg);
  assert.deepEqual(warnings, ['data plane: the worker thread cannot run (koffi did not load); packets stay on the main thread']);
  await plane.stop();
});

test('no worker for SOCKS UDP, or with OVPN_TS_DATA_PLANE=main; a worker for UDP and TCP (through a SOCKS proxy too), named when it runs', async () => {
  let started = 0;
  const fake = { alive: true, stop: async () => undefined } as unknown as DataPlaneWorker;
  const start = async (): Promise<DataPlaneWorker> => {
    started++;
    return fake;
  };
  assert.equal(await new DataPlane(options({ proto: 'udp', socksProxy: { host: 'p', port: 1080, authFile: undefined } }), new MemoryLogger(), {}, start).worker(), undefined);
  assert.equal(await new DataPlane(options({ proto: 'udp' }), new MemoryLogger(), { OVPN_TS_DATA_PLANE: 'main' }, start).worker(), undefined);
  assert.equal(await new DataPlane(options({ proto: 'tcp' }), new MemoryLogger(), { OVPN_TS_DATA_PLANE: 'main' }, start).worker(), undefined);
  assert.equal(started, 0);
  assert.equal(await new DataPlane(options({ proto: 'tcp' }), new MemoryLogger(), {}, start).worker(), fake);
  assert.equal(await new DataPlane(options({ proto: 'tcp', socksProxy: { host: 'p', port: 1080, authFile: undefined } }), new MemoryLogger(), {}, start).worker(), fake);
  assert.equal(started, 2);
  started = 0;
  const log = new MemoryLogger();
  const plane = new DataPlane(options({ proto: 'udp', tunMtu: 9000 }), log, {}, async (o) => {
    assert.deepEqual(o, { slots: 64, slotSize: 9536, gso: true, batchWaitUs: 100 });
    return start();
  });
  assert.equal(await plane.worker(), fake);
  assert.equal(started, 1);
  assert.match(log.text(), /data plane: worker thread/);
  const waits: (number | undefined)[] = [];
  for (const v of ['0', '250', '5000', 'soon']) await new DataPlane(options({ proto: 'udp' }), new MemoryLogger(), { OVPN_TS_BATCH_WAIT_US: v }, async (o) => (waits.push(o.batchWaitUs), start())).worker();
  assert.deepEqual(waits, [0, 250, 1000, 100], 'OVPN_TS_BATCH_WAIT_US: off, as given, at most 1 ms, the default when not a number');
  const unbatched = new DataPlane(options({ proto: 'udp' }), new MemoryLogger(), { OVPN_TS_GSO: 'off' }, async (o) => {
    assert.equal(o.gso, false);
    return start();
  });
  assert.equal(await unbatched.worker(), fake);
});
