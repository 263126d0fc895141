/**
 * sd_notify as systemd sees it: the test plays systemd's side with its own unix datagram socket
 * (NOTIFY_SOCKET, a path in the lab dir; koffi, as Node has no unix datagrams) and starts
 * ovpn-ts in the client namespace with NOTIFY_SOCKET and WATCHDOG_USEC set. Expected: READY=1
 * with STATUS=CONNECTED and the tunnel addresses after "Initialization Sequence Completed",
 * WATCHDOG=1 at half the watchdog interval, RELOADING=1 on SIGHUP then READY=1 again, STOPPING=1
 * on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { listenUnixDatagrams } from '../helpers/unix-dgram-listener.ts';
import { ovpnTsCliPath, startServer, waitForLog, withLab } from '../lab/index.ts';
import { until } from './helpers/until.ts';


test('sd_notify: READY=1 with the tunnel address, WATCHDOG=1, RELOADING=1 on SIGHUP, STOPPING=1', { timeout: 60_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const sockPath = join(lab.dir, 'notify.sock');
    const sd = listenUnixDatagrams(sockPath);
    try {
      const config = join(lab.dir, 'sd-client.ovpn');
      const { writeFileSync } = await import('node:fs');
      writeFileSync(config, server.clientConfig({ inline: true, extra: ['verb 3'] }), { mode: 0o600 });
      const proc = lab.client.spawn('env', [`NOTIFY_SOCKET=${sockPath}`, 'WATCHDOG_USEC=400000', process.execPath, ovpnTsCliPath(), '--config', config], {
        name: 'ovpn-ts-sd',
        logFile: join(lab.dir, 'sd-client.log'),
      });
      try {
        await waitForLog(proc, /Initialization Sequence Completed/, { timeoutMs: 20_000, failOn: [/process exiting/] });
        const ready = (): string[] => sd.messages.filter((m) => m.includes('READY=1'));
        assert.ok(await until(() => ready().length === 1, 5_000), `READY=1:\n${sd.messages.join('\n---\n')}`);
        assert.match(ready()[0] ?? '', /^READY=1\nSTATUS=CONNECTED 10\.8\.0\.2 fd00:8::1000 via 198\.18\.\d+\.1:1194$/);
        assert.ok(sd.messages.includes('STATUS=CONNECTING'), 'a status before readiness');
        // WATCHDOG_USEC 400 ms: a keep-alive every 200 ms
        const dogs = (): number => sd.messages.filter((m) => m === 'WATCHDOG=1').length;
        const before = dogs();
        assert.ok(await until(() => dogs() >= before + 3, 5_000), `WATCHDOG=1 keeps coming: ${dogs()}`);
        process.kill(proc.pid, 'SIGHUP');
        assert.ok(await until(() => ready().length === 2, 15_000), `READY=1 again after SIGHUP:\n${sd.messages.join('\n---\n')}`);
        const reload = sd.messages.findIndex((m) => m.startsWith('RELOADING=1'));
        assert.ok(reload >= 0, 'RELOADING=1 on SIGHUP');
        assert.match(sd.messages[reload] ?? '', /^RELOADING=1\nMONOTONIC_USEC=\d+$/);
        const readyAt = sd.messages.flatMap((m, i) => (m.includes('READY=1') ? [i] : []));
        assert.ok((readyAt[0] ?? Infinity) < reload && reload < (readyAt[1] ?? -1), 'READY=1, RELOADING=1, READY=1 in that order');
        await proc.stop();
        assert.equal(proc.exitStatus(), 'exit 0');
        assert.ok(await until(() => sd.messages.includes('STOPPING=1'), 2_000), 'STOPPING=1 on SIGTERM');
        assert.ok(sd.messages.some((m) => m.startsWith('STATUS=EXITING')), 'the last status says it is exiting');
      } finally {
        await proc.stop();
      }
    } finally {
      sd.close();
    }
  });
});
