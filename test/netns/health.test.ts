/**
 * The container recipe (docs/systemd.md "Containers"), as far as namespaces allow: ovpn-ts runs
 * with Docker's default capability set plus NET_ADMIN (`--cap-add NET_ADMIN`; setpriv limits the
 * bounding set the same way) in the lab's client namespace, and `ovpn-ts --health` (the
 * HEALTHCHECK command) exits 0 only while it is connected: 1 while it holds before connecting,
 * 0 once the tunnel is up (and carries pings), 1 after it stopped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ovpnTsCliPath, ping, startServer, waitForLog, withLab } from '../lab/index.ts';

const DRIVER = fileURLToPath(new URL('./helpers/mgmt-driver.js', import.meta.url));
/** Docker's default capabilities, plus NET_ADMIN. */
export const DOCKER_CAPS = ['chown', 'dac_override', 'fowner', 'fsetid', 'kill', 'setgid', 'setuid', 'setpcap', 'net_bind_service', 'net_raw', 'sys_chroot', 'mknod', 'audit_write', 'setfcap'];

test('container recipe: Docker default caps + NET_ADMIN connect; --health is 1 before, 0 while connected, 1 after', { timeout: 90_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const sock = join(lab.dir, 'health.sock');
    const config = join(lab.dir, 'container.ovpn');
    writeFileSync(config, server.clientConfig({ inline: true, extra: [`management ${sock} unix`, 'management-hold', 'verb 3'] }), { mode: 0o600 });
    const health = async (): Promise<{ code: number; out: string }> => {
      const r = await lab.client.exec(process.execPath, [ovpnTsCliPath(), '--health', '--config', config], { allowFail: true, timeoutMs: 15_000 });
      return { code: r.code, out: r.stdout + r.stderr };
    };
    const caps = ['-all', ...[...DOCKER_CAPS, 'net_admin'].map((c) => `+${c}`)].join(',');
    const proc = lab.client.spawn('setpriv', [`--bounding-set=${caps}`, '--inh-caps=-all', '--', process.execPath, ovpnTsCliPath(), '--config', config], {
      name: 'ovpn-ts-container',
      logFile: join(lab.dir, 'container.log'),
    });
    try {
      await waitForLog(proc, /MANAGEMENT: unix domain socket listening/, { timeoutMs: 15_000, failOn: [/process exiting|Exiting/] });
      const held = await health();
      assert.equal(held.code, 1, held.out);
      assert.match(held.out, /^unhealthy: \d+,CONNECTING,/m);
      const script = join(lab.dir, 'release.json');
      writeFileSync(script, JSON.stringify({ path: sock, steps: [{ expect: '^>HOLD:' }, { send: 'hold release', expect: '^SUCCESS' }, { send: 'exit', close: true }] }));
      const released = JSON.parse((await lab.client.exec(process.execPath, [DRIVER, script], { timeoutMs: 30_000 })).stdout) as { error?: string };
      assert.equal(released.error, undefined);
      await waitForLog(proc, /Initialization Sequence Completed/, { timeoutMs: 20_000, failOn: [/process exiting|Exiting/] });
      const up = await health();
      assert.equal(up.code, 0, up.out);
      assert.match(up.out, /^healthy: \d+,CONNECTED,SUCCESS,10\.8\.0\.2,/m);
      assert.equal((await ping(lab.client, server.tunAddr4)).received, 3, 'the tunnel carries traffic with the reduced capability set');
      await proc.stop();
      assert.equal(proc.exitStatus(), 'exit 0');
      const gone = await health();
      assert.equal(gone.code, 1, gone.out);
      assert.match(gone.out, /^unhealthy: management interface unreachable/m);
    } finally {
      await proc.stop();
    }
  });
});
