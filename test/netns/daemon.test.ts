/**
 * `daemon` for SysV-style init scripts: the command returns 0 once the tunnel is up, a
 * background process (the pid in `writepid`, not the command's) keeps the tunnel, logs to
 * `log FILE`, and leaves on SIGTERM with its pid file removed. A daemon that cannot connect
 * makes the command fail with the background process's exit code.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, ovpnTsCliPath, ping, startServer, withLab } from '../lab/index.ts';
import { until } from './helpers/until.ts';



test('daemon: returns 0 once the tunnel is up; the background pid keeps it and exits cleanly on SIGTERM', { timeout: 90_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const config = join(lab.dir, 'daemon.ovpn');
    const pidFile = join(lab.dir, 'daemon.pid');
    const logFile = join(lab.dir, 'daemon.log');
    writeFileSync(config, server.clientConfig({ inline: true, extra: ['daemon vpn-lab', `writepid ${pidFile}`, `log ${logFile}`, 'verb 3'] }), { mode: 0o600 });
    let pid: number | undefined;
    try {
      const r = await lab.client.exec(process.execPath, [ovpnTsCliPath(), '--config', config], { allowFail: true, timeoutMs: 40_000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(existsSync(pidFile), 'writepid written by the background process');
      pid = Number(readFileSync(pidFile, 'utf8').trim());
      assert.ok(isAlive(pid), `background pid ${pid} runs after the command returned`);
      assert.match(readFileSync(logFile, 'utf8'), /Initialization Sequence Completed/);
      assert.equal((await ping(lab.client, server.tunAddr4)).received, 3);
      process.kill(pid, 'SIGTERM');
      const p = pid;
      assert.ok(await until(() => !isAlive(p), 10_000), 'the daemon exits on SIGTERM');
      pid = undefined;
      assert.ok(!existsSync(pidFile), 'pid file removed');
      assert.match(readFileSync(logFile, 'utf8'), /SIGTERM\[hard,\] received, process exiting/);
    } finally {
      if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  });
});

test('daemon: a background process that cannot connect fails the command with its exit code', { timeout: 60_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const config = join(lab.dir, 'daemon-bad.ovpn');
    const logFile = join(lab.dir, 'daemon-bad.log');
    const text = server.clientConfig({ inline: true, extra: ['daemon', `log ${logFile}`, 'connect-retry-max 1', 'server-poll-timeout 2', 'hand-window 2'] }).replace(`remote ${server.remoteAddr} ${server.port}`, `remote ${server.remoteAddr} 9`);
    writeFileSync(config, text, { mode: 0o600 });
    const r = await lab.client.exec(process.execPath, [ovpnTsCliPath(), '--config', config], { allowFail: true, timeoutMs: 40_000 });
    assert.notEqual(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stderr, /the background process ended with code \d+ before the tunnel was up/);
  });
});
