/**
 * Signals as OpenVPN users rely on them: SIGUSR1 (and SIGHUP) restart the connection and the
 * process keeps running; SIGTERM then exits 0 with OpenVPN's exit line. Real server, dev null.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
    for (const [signal, expected] of [['SIGUSR1', 2], ['SIGHUP', 3]] as const) {
      process.kill(client.pid, signal);
      assert.ok(await until(() => inits() === expected, 15_000), `no reconnect after ${signal}:\n${client.log()}`);
      assert.equal(client.process.exitStatus(), undefined, `the process must keep running after ${signal}`);
      assert.match(client.log(), new RegExp(`${signal}\\[soft,connection-reset\\] received, process restarting`));
    }
    await client.stop();
    assert.equal(client.process.exitStatus(), 'exit 0', client.log());
    assert.match(client.log(), /SIGTERM\[hard,\] received, process exiting/);
  });
});
