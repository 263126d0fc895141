/**
 * Tier 4: `socks-proxy` through real SOCKS5 servers from Debian in the server namespace, to the
 * real OpenVPN 2.6 server: TCP through microsocks (without and with username/password; the
 * remote is a name only the proxy resolves), UDP through dante's UDP ASSOCIATE (without and
 * with username/password), and wrong passwords (exit 4, the proxy named, no password logged).
 * An nftables counter proves no packet went to the server directly.
 * Needs root; never touches the root namespace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, withLab, type NetnsPair } from '../lab/index.ts';
import { connectAndPing, countDirect, SERVER_NAME, startDante, startMicrosocks } from './helpers/proxies.ts';
import { describeRun, FAIL_FAST_LINES, runUntilExit } from './helpers/run-client.ts';

const USER = 'ovtsuser';
const PASSWORD = 's0cks-S3cret-pw';
const EXIT_BOUND_MS = 30_000;

function creds(lab: NetnsPair, name: string, password: string): string {
  const f = join(lab.dir, name);
  writeFileSync(f, `${USER}\n${password}\n`, { mode: 0o600 });
  return f;
}

test('socks-proxy over TCP (microsocks): without auth, with username/password, and a wrong password', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'tcp');
    const direct = await countDirect(lab, server.port);
    const byName = (lines: readonly string[]): string =>
      server.clientConfig({ inline: true, extra: lines }).replace(`remote ${server.remoteAddr} ${server.port}`, `remote ${SERVER_NAME} ${server.port}`);

    const open = await startMicrosocks(lab, { port: 1080 });
    await connectAndPing(lab, server, byName([`socks-proxy ${lab.serverAddr4} 1080`]));
    await open.stop();

    await startMicrosocks(lab, { port: 1081, user: { name: USER, password: PASSWORD } });
    const log = await connectAndPing(lab, server, byName([`socks-proxy ${lab.serverAddr4} 1081 ${creds(lab, 'socks.txt', PASSWORD)}`]));
    assert.ok(!log.includes(PASSWORD));

    const wrong = await runUntilExit(lab, byName([...FAIL_FAST_LINES, `socks-proxy ${lab.serverAddr4} 1081 ${creds(lab, 'socks-bad.txt', `x${PASSWORD}`)}`]), EXIT_BOUND_MS);
    assert.equal(wrong.code, 4, describeRun(wrong));
    assert.match(wrong.log, new RegExp(`SOCKS proxy ${lab.serverAddr4.replaceAll('.', '\\.')}:1081 refused the username/password`), describeRun(wrong));
    assert.ok(!wrong.log.includes(PASSWORD));

    assert.equal(await direct(), 0, 'no packet went to the server directly');
  });
});

test('socks-proxy over UDP (dante UDP ASSOCIATE): without auth, with username/password, and a wrong password', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const direct = await countDirect(lab, server.port);

    const open = await startDante(lab, { port: 1080 });
    await connectAndPing(lab, server, server.clientConfig({ inline: true, extra: [`socks-proxy ${lab.serverAddr4} 1080`] }));
    await open.stop();

    await startDante(lab, { port: 1081, user: { name: USER, password: PASSWORD } });
    await connectAndPing(lab, server, server.clientConfig({ inline: true, extra: [`socks-proxy ${lab.serverAddr4} 1081 ${creds(lab, 'dante.txt', PASSWORD)}`] }));
    const wrong = await runUntilExit(lab, server.clientConfig({ inline: true, extra: [...FAIL_FAST_LINES, `socks-proxy ${lab.serverAddr4} 1081 ${creds(lab, 'dante-bad.txt', `x${PASSWORD}`)}`] }), EXIT_BOUND_MS);
    assert.equal(wrong.code, 4, describeRun(wrong));
    assert.match(wrong.log, /SOCKS proxy .*:1081 refused the username\/password/, describeRun(wrong));

    assert.equal(await direct(), 0, 'no packet went to the server directly');
  });
});
