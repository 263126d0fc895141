/**
 * Tier 4: SIGHUP re-reads the configuration, against the real OpenVPN 2.6 server.
 *   edited config:  SIGHUP leaves (routes and device removed), starts again with the new file
 *                   (a route it adds is on the tun device afterwards);
 *   broken config:  SIGHUP logs each error at FILE:LINE and the session carries on untouched
 *                   (no new "Initialization Sequence Completed", pings still pass);
 *   SIGTERM then exits 0 and removes what the reloaded configuration added.
 */
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ping, startClient, startServer, withLab, type NetnsPair } from '../lab/index.ts';

const INIT = /Initialization Sequence Completed/g;
const ROUTE = '10.77.0.0/16';
const WAIT_MS = 20_000;

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

async function routeDsts(lab: NetnsPair): Promise<string[]> {
  const r = await lab.client.exec('ip', ['-j', '-4', 'route', 'show']);
  return (JSON.parse(r.stdout) as { dst: string }[]).map((x) => x.dst);
}

test('SIGHUP applies an edited configuration; a broken one is reported at FILE:LINE and the session carries on', { timeout: 90_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: ['verb 3'] }));
    const inits = (): number => client.log().match(INIT)?.length ?? 0;
    assert.equal(inits(), 1);
    assert.ok(!(await routeDsts(lab)).includes(ROUTE));

    appendFileSync(client.configFile, `route ${ROUTE.replace('/16', '')} 255.255.0.0\n`);
    process.kill(client.pid, 'SIGHUP');
    assert.ok(await until(() => inits() === 2, WAIT_MS), `no restart with the edited file:\n${client.log()}`);
    assert.match(client.log(), /SIGHUP\[hard,\] received, process restarting/);
    assert.ok((await routeDsts(lab)).includes(ROUTE), `the reloaded route is installed: ${(await routeDsts(lab)).join(' ')}`);
    assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3);

    const badLine = readFileSync(client.configFile, 'utf8').split('\n').length;
    appendFileSync(client.configFile, 'this-is-not-a-directive 1\n');
    process.kill(client.pid, 'SIGHUP');
    assert.ok(await until(() => /SIGHUP: the configuration no longer loads/.test(client.log()), WAIT_MS), client.log());
    assert.ok(client.log().includes(`SIGHUP: ${client.configFile}:${badLine}: `), `the error names FILE:LINE (${badLine}):\n${client.log()}`);
    assert.equal(client.process.exitStatus(), undefined, 'still running');
    assert.equal(inits(), 2, 'the session was not restarted');
    assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3, 'the tunnel still works');

    await client.stop();
    assert.equal(client.process.exitStatus(), 'exit 0', client.log());
    assert.ok(!(await routeDsts(lab)).includes(ROUTE), 'the reloaded route is removed on exit');
  });
});
