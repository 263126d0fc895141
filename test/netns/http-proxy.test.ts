/**
 * Tier 4: `http-proxy` through a real tinyproxy (Debian) in the server namespace, to the real
 * OpenVPN 2.6 server over TCP. The remote is a name only the proxy's namespace resolves, so a
 * tunnel that comes up proves the name went to the proxy unresolved; an nftables counter in
 * the client namespace proves no packet went to the server directly. Cases: no auth; Basic from
 * an authfile; Basic from <http-proxy-user-pass> learnt with `auto` after a 407; a wrong
 * password (exit 4, the proxy named, the password nowhere in the log or --check); 403; a proxy
 * that cannot reach the server; a proxy that is down. Needs root; never touches the root namespace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, withLab, ovpnTsCliPath, type LabServer } from '../lab/index.ts';
import { connectAndPing, countDirect, SERVER_NAME, startTinyproxy } from './helpers/proxies.ts';
import { describeRun, FAIL_FAST_LINES, runUntilExit } from './helpers/run-client.ts';

const PROXY_PORT = 8888;
const USER = 'alice';
const PASSWORD = 'pr0xy-S3cret-pw';
const EXIT_BOUND_MS = 30_000;

/** The lab client config with the server named by SERVER_NAME (only the proxy resolves it) and `lines` added. */
function viaProxy(server: LabServer, lines: readonly string[]): string {
  return server.clientConfig({ inline: true, extra: lines }).replace(`remote ${server.remoteAddr} ${server.port}`, `remote ${SERVER_NAME} ${server.port}`);
}

test('http-proxy: tinyproxy without auth, then with Basic auth (authfile, and <http-proxy-user-pass> with auto)', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'tcp');
    const direct = await countDirect(lab, server.port);

    const open = await startTinyproxy(lab, { port: PROXY_PORT, connectPorts: [server.port] });
    const log1 = await connectAndPing(lab, server, viaProxy(server, [`http-proxy ${lab.serverAddr4} ${PROXY_PORT}`]));
    assert.match(log1, new RegExp(`TCPv4 link remote: \\[AF_INET\\]${lab.serverAddr4}:${PROXY_PORT}`));
    assert.match(open.log(), new RegExp(`${SERVER_NAME}`), 'tinyproxy connected to the name it was given');
    await open.stop();

    const authed = await startTinyproxy(lab, { port: PROXY_PORT + 1, connectPorts: [server.port], basicAuth: { user: USER, password: PASSWORD } });
    const credsFile = join(lab.dir, 'proxy-creds.txt');
    writeFileSync(credsFile, `${USER}\n${PASSWORD}\n`, { mode: 0o600 });
    const log2 = await connectAndPing(lab, server, viaProxy(server, [`http-proxy ${lab.serverAddr4} ${PROXY_PORT + 1} ${credsFile} basic`, 'http-proxy-option AGENT ovpn-ts-lab']));
    const inline = viaProxy(server, [`http-proxy ${lab.serverAddr4} ${PROXY_PORT + 1} auto`, 'http-proxy-option VERSION 1.1', '<http-proxy-user-pass>', USER, PASSWORD, '</http-proxy-user-pass>']);
    const log3 = await connectAndPing(lab, server, inline);
    for (const l of [log1, log2, log3]) assert.ok(!l.includes(PASSWORD), 'the proxy password is not logged');

    const cfg = join(lab.dir, 'check.ovpn');
    writeFileSync(cfg, inline, { mode: 0o600 });
    const check = execFileSync(process.execPath, [ovpnTsCliPath(), '--check', '--config', cfg], { encoding: 'utf8' });
    assert.match(check, new RegExp(`http-proxy ${lab.serverAddr4.replaceAll('.', '\\.')} ${PROXY_PORT + 1} auto`));
    assert.match(check, /http-proxy-user-pass \[redacted\]/);
    assert.ok(!check.includes(PASSWORD), '--check does not show the proxy password');

    assert.equal(await direct(), 0, 'no packet went to the server directly');
    await authed.stop();
  });
});

test('http-proxy: a wrong password exits with code 4 naming the proxy; 403, an unreachable server and a proxy that is down fail clearly', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'tcp');
    const direct = await countDirect(lab, server.port);
    const proxy = await startTinyproxy(lab, { port: PROXY_PORT, connectPorts: [server.port, 1999], basicAuth: { user: USER, password: PASSWORD } });
    const bad = join(lab.dir, 'proxy-bad.txt');
    writeFileSync(bad, `${USER}\nnot-${PASSWORD}\n`, { mode: 0o600 });
    const good = join(lab.dir, 'proxy-good.txt');
    writeFileSync(good, `${USER}\n${PASSWORD}\n`, { mode: 0o600 });
    const label = `${lab.serverAddr4}:${PROXY_PORT}`.replaceAll('.', '\\.');

    const wrong = await runUntilExit(lab, viaProxy(server, [...FAIL_FAST_LINES, `http-proxy ${lab.serverAddr4} ${PROXY_PORT} ${bad}`]), EXIT_BOUND_MS);
    assert.equal(wrong.code, 4, describeRun(wrong));
    assert.match(wrong.log, new RegExp(`HTTP proxy ${label} refused the username/password`), describeRun(wrong));
    assert.ok(!wrong.log.includes(PASSWORD), 'no password in the log');

    const forbidden = await runUntilExit(lab, viaProxy(server, [...FAIL_FAST_LINES, `http-proxy ${lab.serverAddr4} ${PROXY_PORT} ${good}`]).replace(`remote ${SERVER_NAME} ${server.port}`, `remote ${SERVER_NAME} 2000`), EXIT_BOUND_MS);
    assert.equal(forbidden.code, 1, describeRun(forbidden));
    assert.match(forbidden.log, new RegExp(`HTTP proxy ${label} forbids CONNECT to ${SERVER_NAME}:2000 \\("HTTP/1\\.[01] 403`), describeRun(forbidden));

    const unreachable = await runUntilExit(lab, viaProxy(server, [...FAIL_FAST_LINES, `http-proxy ${lab.serverAddr4} ${PROXY_PORT} ${good}`]).replace(`remote ${SERVER_NAME} ${server.port}`, `remote ${SERVER_NAME} 1999`), EXIT_BOUND_MS);
    assert.equal(unreachable.code, 1, describeRun(unreachable));
    assert.match(unreachable.log, new RegExp(`HTTP proxy ${label} could not reach ${SERVER_NAME}:1999`), describeRun(unreachable));

    const down = await runUntilExit(lab, viaProxy(server, [...FAIL_FAST_LINES, `http-proxy ${lab.serverAddr4} ${PROXY_PORT + 7}`]), EXIT_BOUND_MS);
    assert.equal(down.code, 1, describeRun(down));
    assert.match(down.log, new RegExp(`cannot connect to HTTP proxy ${lab.serverAddr4.replaceAll('.', '\\.')}:${PROXY_PORT + 7}: .*is the proxy running`), describeRun(down));

    assert.equal(await direct(), 0, 'no packet went to the server directly');
    assert.doesNotMatch(server.log(), /TCP connection established/, 'the server never saw a connection');
    await proxy.stop();
  });
});
