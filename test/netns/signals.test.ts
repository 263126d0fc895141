/**
 * Signals as OpenVPN users rely on them: SIGUSR1 (and SIGHUP) restart the connection and the
 * process keeps running; SIGTERM then exits 0 with OpenVPN's exit line. Real server, dev null.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startClient, startServer, withLab } from '../lab/index.ts';

const INIT = /Initialization Sequence Completed/g;

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

test('SIGUSR1 and SIGHUP reconnect without exiting; SIGTERM exits 0', { timeout: 60_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: ['dev null', 'verb 3'] }));
    const inits = (): number => client.log().match(INIT)?.length ?? 0;
    assert.equal(inits(), 1);
    for (const [signal, expected, line] of [
      ['SIGUSR1', 2, 'SIGUSR1\\[soft,connection-reset\\] received, process restarting'],
      ['SIGHUP', 3, 'SIGHUP\\[hard,\\] received, process restarting'],
    ] as const) {
      process.kill(client.pid, signal);
      assert.ok(await until(() => inits() === expected, 15_000), `no reconnect after ${signal}:\n${client.log()}`);
      assert.equal(client.process.exitStatus(), undefined, `the process must keep running after ${signal}`);
      assert.match(client.log(), new RegExp(line));
    }
    await client.stop();
    assert.equal(client.process.exitStatus(), 'exit 0', client.log());
    assert.match(client.log(), /SIGTERM\[hard,\] received, process exiting/);
  });
});

test('status FILE 1 is rewritten with growing counters; SIGUSR2 logs the same statistics', { timeout: 60_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const file = join(lab.dir, 'status.txt');
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: ['dev null', 'verb 3', `status ${file} 1`] }));
    const read = (): Record<string, string> => {
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.equal(lines[0], 'OpenVPN STATISTICS');
      assert.equal(lines.at(-1), 'END');
      return Object.fromEntries(lines.slice(1, -1).map((l) => [l.slice(0, l.indexOf(',')), l.slice(l.indexOf(',') + 1)]));
    };
    assert.ok(await until(() => existsSync(file) && Number(read()['TCP/UDP read bytes']) > 0, 5_000), 'status file with link traffic');
    const first = read();
    assert.match(first['Updated'] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    assert.deepEqual(Object.keys(first), ['Updated', 'TUN/TAP read bytes', 'TUN/TAP write bytes', 'TCP/UDP read bytes', 'TCP/UDP write bytes', 'Auth read bytes']);
    // keepalive pings (ping 2 pushed by the lab) make the counters grow
    assert.ok(await until(() => Number(read()['Auth read bytes']) > Number(first['Auth read bytes']), 8_000), 'counters grow as pings arrive');
    process.kill(client.pid, 'SIGUSR2');
    assert.ok(await until(() => /OpenVPN STATISTICS[\s\S]*TCP\/UDP write bytes,[1-9]\d*[\s\S]*END/.test(client.log()), 5_000), client.log());
    await client.stop();
  });
});

test('remap-usr1 SIGTERM: SIGUSR1 leaves as SIGTERM does (exit 0); remap-usr1 SIGHUP: it re-reads the configuration', { timeout: 60_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const term = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: ['dev null', 'verb 3', 'remap-usr1 SIGTERM'] }));
    process.kill(term.pid, 'SIGUSR1');
    await term.process.exited;
    assert.equal(term.process.exitStatus(), 'exit 0', term.log());
    assert.match(term.log(), /SIGTERM\[hard,\] received, process exiting/);

    const hup = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: ['dev null', 'verb 3', 'remap-usr1 SIGHUP'] }));
    process.kill(hup.pid, 'SIGUSR1');
    assert.ok(await until(() => (hup.log().match(INIT)?.length ?? 0) === 2, 15_000), hup.log());
    assert.match(hup.log(), /SIGHUP\[hard,\] received, process restarting/);
    await hup.stop();
  });
});
