/**
 * Tier 4: persist-remote-ip and resolv-retry with a server name that stops resolving while the
 * session runs. The name resolves through a per-namespace hosts file (/etc/netns/<ns>/hosts,
 * which `ip netns exec` mounts over /etc/hosts for the client only), which the test then empties.
 *   persist-remote-ip: SIGUSR1 reconnects to the address it had, without resolving;
 *   without it:        SIGUSR1 resolves again, fails, and resolv-retry 2 ends the process.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ping, startClient, startServer, withLab } from '../lab/index.ts';

const NAME = 'vpn.persist.test';
/** Where `ip netns exec` looks for per-namespace /etc files (only this test's namespace's dir is made). */
const NETNS_ETC = '/etc/netns';
const INIT = /Initialization Sequence Completed/g;
const WAIT_MS = 20_000;

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

for (const persist of [true, false]) {
  test(`a server name that stops resolving mid-session: ${persist ? 'persist-remote-ip reconnects to the known address' : 'without persist-remote-ip, resolv-retry gives up'}`, { timeout: 60_000 }, async () => {
    await withLab(async (lab) => {
      const dir = join(NETNS_ETC, lab.client.name);
      const hadEtc = existsSync(NETNS_ETC);
      mkdirSync(dir, { recursive: true });
      try {
        const hosts = join(dir, 'hosts');
        writeFileSync(hosts, `127.0.0.1 localhost\n${lab.serverAddr4} ${NAME}\n`);
        const server = await startServer(lab, 'udp-gcm-tlscrypt');
        const config = server
          .clientConfig({ inline: true, extra: ['verb 3', 'resolv-retry 2', ...(persist ? ['persist-remote-ip'] : [])] })
          .replace(`remote ${server.remoteAddr} ${server.port}`, `remote ${NAME} ${server.port}`);
        assert.match(config, new RegExp(`remote ${NAME.replaceAll('.', '\\.')} `));
        const client = await startClient(lab, 'ovpn-ts', config);
        const inits = (): number => client.log().match(INIT)?.length ?? 0;
        writeFileSync(hosts, '127.0.0.1 localhost\n'); // in place: the mount keeps pointing at this file
        process.kill(client.pid, 'SIGUSR1');
        if (persist) {
          assert.ok(await until(() => inits() === 2, WAIT_MS), `reconnected without resolving:\n${client.log()}`);
          assert.match(client.log(), new RegExp(`persist-remote-ip: using ${lab.serverAddr4.replaceAll('.', '\\.')}:${server.port} again`));
          assert.doesNotMatch(client.log(), /RESOLVE: Cannot resolve/);
          assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3);
          await client.stop();
          assert.equal(client.process.exitStatus(), 'exit 0');
        } else {
          await client.process.exited;
          assert.match(client.log(), /RESOLVE: Cannot resolve host address: vpn\.persist\.test/);
          assert.match(client.log(), /resolv-retry 2/);
          assert.notEqual(client.process.exitStatus(), 'exit 0', client.log());
          assert.equal(inits(), 1);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
        if (!hadEtc && readdirSync(NETNS_ETC).length === 0) rmdirSync(NETNS_ETC);
      }
    });
  });
}
