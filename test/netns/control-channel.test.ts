/**
 * Tier 4: the ovpn-ts control channel against the real OpenVPN 2.6 server, with `dev null`.
 *
 * One lab (two namespaces), several real servers in it (one per profile, ports 1194+i), and
 * ovpn-ts clients started concurrently against them:
 *   - every UDP profile, and every kind of client key (encrypted PEM / PKCS#8 with askpass,
 *     PKCS#12 modern and legacy), reaches "Initialization Sequence Completed", then exits 0 on
 *     SIGTERM;
 *   - each failure (revoked or expired client cert, wrong CA, wrong tls-crypt key, wrong
 *     password, verify-x509-name mismatch, remote-cert-tls against a client cert, ICMP port
 *     unreachable) ends by itself (connect-retry-max 1, hand-window 5) with the right message
 *     and exit code; and with tls-exit a TLS error ends the process without a retry;
 *   - keepalive: the server (keepalive 2 10) keeps a connection for 12 s, and with
 *     explicit-exit-notify it logs the client's exit at once after SIGTERM.
 * Needs root (network namespaces). Nothing leaves the lab namespaces.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  createNetnsPair,
  execBounded,
  getPki,
  printLogTails,
  startClient,
  startServer,
  waitForLog,
  type LabServer,
  type NetnsPair,
  type Pki,
} from '../lab/index.ts';
import { describeRun, FAIL_FAST_LINES, runUntilExit, type ExitResult } from './helpers/run-client.ts';

/** Every failure case must end well within this (hand-window 5 plus process start and teardown). */
const FAIL_BOUND_MS = 20_000;
/** ICMP port unreachable must be reported fast (log timestamps have 1 s resolution), not after a timeout. */
const ICMP_MAX_SECONDS = 1;
/** How long the keepalive case keeps its connection (server: keepalive 2 10). */
const KEEPALIVE_HOLD_MS = 12_000;
/** explicit-exit-notify: the server must notice the exit well before its 20 s ping-restart. */
const EXIT_NOTIFY_BOUND_MS = 3_000;
/** A port in the server namespace where nothing listens. */
const CLOSED_PORT = 1299;

const DEV_NULL = '\ndev null\n';
const INIT = /Initialization Sequence Completed/;
const PROCESS_EXITING = /SIGTERM\[hard,\] received, process exiting/;

let lab: NetnsPair;
let pki: Pki;
const servers = {} as Record<'gcm' | 'cbc' | 'v2' | 'userpass' | 'udp6' | 'ec' | 'clientCertServer' | 'keepalive', LabServer>;
let failed = false;

/** Adds lines to a generated client config (after the profile's). */
const withLines = (config: string, lines: readonly string[]): string => `${config}${lines.join('\n')}${DEV_NULL}`;

before(async () => {
  lab = await createNetnsPair();
  pki = await getPki();
  // duplicate-cn: several test clients share the CN "client" at the same time.
  const common = ['duplicate-cn'];
  const start = (p: Parameters<typeof startServer>[1], extra: string[] = []): Promise<LabServer> =>
    startServer(lab, p, { extraServerLines: [...common, ...extra] });
  [servers.gcm, servers.cbc, servers.v2, servers.userpass, servers.udp6, servers.ec, servers.clientCertServer, servers.keepalive] =
    await Promise.all([
      start('udp-gcm-tlscrypt', [`crl-verify ${pki.rsa.crl}`]),
      start('udp-cbc-tlsauth'),
      start('tls-crypt-v2'),
      start('userpass'),
      start('udp6'),
      start('ec'),
      // A server presenting a client certificate (EKU clientAuth): later cert/key lines win.
      start('udp-gcm-tlscrypt', [`cert ${pki.rsa.clientCert}`, `key ${pki.rsa.clientKey}`]),
      start('udp-gcm-tlscrypt'),
    ]);
});

after(async () => {
  if (failed) printLogTails(lab);
  await lab?.destroy();
});

/** Connects ovpn-ts, checks the milestone lines, then SIGTERM must end it with exit 0. */
async function connectAndStop(config: string): Promise<void> {
  const client = await startClient(lab, 'ovpn-ts', config);
  try {
    const log = client.log();
    assert.match(log, /Peer Connection Initiated with/);
    assert.match(log, /Data Channel: cipher '/);
    assert.ok(log.indexOf('Data Channel: cipher') < log.search(INIT), 'data keys are installed before Initialization Sequence Completed');
  } finally {
    await client.stop();
  }
  assert.equal(client.process.exitStatus(), 'exit 0', client.log());
  assert.match(client.log(), PROCESS_EXITING);
}

/** Runs a config expected to fail; asserts the message, the exit code and that it ended by itself. */
async function expectFailure(config: string, message: RegExp, exitCode: number, lines = FAIL_FAST_LINES): Promise<ExitResult> {
  const r = await runUntilExit(lab, withLines(config, lines), FAIL_BOUND_MS);
  try {
    assert.equal(r.timedOut, false, `the client should have exited by itself\n${describeRun(r)}`);
    assert.match(r.log, message, describeRun(r));
    assert.equal(r.code, exitCode, describeRun(r));
    assert.doesNotMatch(r.log, INIT, describeRun(r));
  } catch (e) {
    failed = true;
    throw e;
  }
  return r;
}

const guard = async (fn: () => Promise<void>): Promise<void> => {
  try {
    await fn();
  } catch (e) {
    failed = true;
    throw e;
  }
};

describe('ovpn-ts reaches Initialization Sequence Completed (dev null)', { concurrency: true }, () => {
  const cases: [string, () => string][] = [
    ['udp-gcm-tlscrypt (tls-crypt + AES-GCM, RSA)', () => servers.gcm.clientConfig({ inline: true }) + DEV_NULL],
    ['udp-cbc-tlsauth (tls-auth + AES-256-CBC/SHA256)', () => servers.cbc.clientConfig({ inline: true }) + DEV_NULL],
    ['tls-crypt-v2', () => servers.v2.clientConfig({ inline: true }) + DEV_NULL],
    ['userpass (username/password)', () => servers.userpass.clientConfig() + DEV_NULL],
    ['udp6 (IPv6 transport)', () => servers.udp6.clientConfig({ inline: true }) + DEV_NULL],
    ['ec (EC certificates)', () => servers.ec.clientConfig({ inline: true }) + DEV_NULL],
    ['encrypted PEM key with askpass', () => servers.gcm.clientConfig({ identity: 'encrypted-pem' }) + DEV_NULL],
    ['encrypted PKCS#8 key with askpass', () => servers.gcm.clientConfig({ identity: 'encrypted-pkcs8' }) + DEV_NULL],
    ['PKCS#12 (modern)', () => servers.gcm.clientConfig({ identity: 'p12' }) + DEV_NULL],
    ['PKCS#12 (legacy RC2/3DES)', () => servers.gcm.clientConfig({ identity: 'p12-legacy' }) + DEV_NULL],
    ['PKCS#12 inline', () => servers.gcm.clientConfig({ identity: 'p12', inline: true }) + DEV_NULL],
  ];
  for (const [name, config] of cases) test(name, () => guard(() => connectAndStop(config())));
});

describe('ovpn-ts fails with a clear message and exit code', { concurrency: true }, () => {
  // The server (crl-verify) logs "Sent fatal SSL alert: certificate revoked/expired" but a 2.6
  // UDP server drops the session without delivering it (the stock client times out too), so the
  // client must time out with a hint that names the likely causes.
  const REJECTED_OUR_CERT = /server never answered, so it most likely rejected our certificate \(revoked, expired/;

  test('revoked client certificate: the server rejects it (crl-verify); the client says why, exit 5', async () => {
    await expectFailure(servers.gcm.clientConfig({ identity: 'revoked' }), REJECTED_OUR_CERT, 5);
    assert.match(servers.gcm.log(), /Sent fatal SSL alert: certificate revoked/);
  });

  test('expired client certificate: the server rejects it; the client says why, exit 5', async () => {
    await expectFailure(servers.gcm.clientConfig({ identity: 'expired' }), REJECTED_OUR_CERT, 5);
    assert.match(servers.gcm.log(), /Sent fatal SSL alert: certificate expired/);
  });

  test('wrong CA: the server certificate is not signed by it, exit 5', async () => {
    const config = servers.gcm.clientConfig().replace(`ca ${pki.rsa.caCert}`, `ca ${pki.ec.caCert}`);
    assert.ok(config.includes(`ca ${pki.ec.caCert}`));
    await expectFailure(config, /not signed by the configured CA/, 5);
  });

  test('tls-exit (without connect-retry-max): a TLS error ends the process at once, exit 5', async () => {
    const config = servers.gcm.clientConfig().replace(`ca ${pki.rsa.caCert}`, `ca ${pki.ec.caCert}`);
    const r = await expectFailure(config, /not signed by the configured CA[^\n]*\n.*TLS error with --tls-exit set, exiting/, 5, ['tls-exit']);
    assert.doesNotMatch(r.log, /Restart pause/);
  });

  test('wrong tls-crypt key: the server stays silent, the client says so and hints at the key, exit 1', async () => {
    const otherKey = join(lab.dir, 'other-ta.key');
    await execBounded('openvpn', ['--genkey', 'secret', otherKey]);
    const config = servers.gcm.clientConfig().replace(`tls-crypt ${pki.taKey}`, `tls-crypt ${otherKey}`);
    assert.ok(config.includes(otherKey));
    await expectFailure(config, /did not answer within 5 seconds.*tls-crypt key/, 1);
  });

  test('wrong password: AUTH_FAILED, exit 4', async () => {
    await expectFailure(servers.userpass.clientConfig({ credentials: 'bad' }), /AUTH_FAILED/, 4);
  });

  test('verify-x509-name mismatch: the server certificate is refused, exit 5', async () => {
    await expectFailure(withLines(servers.gcm.clientConfig(), ['verify-x509-name wrongname name']), /VERIFY X509NAME ERROR.*wrongname/, 5);
  });

  test('remote-cert-tls server against a server presenting a client certificate, exit 5', async () => {
    await expectFailure(servers.clientCertServer.clientConfig(), /not made for a TLS server \(INVALID_PURPOSE/, 5);
  });

  test('ICMP port unreachable: reported at once, not after a timeout', async () => {
    const config = servers.gcm.clientConfig().replace(`remote ${servers.gcm.remoteAddr} ${servers.gcm.port}`, `remote ${servers.gcm.remoteAddr} ${CLOSED_PORT}`);
    assert.ok(config.includes(`${CLOSED_PORT}`));
    const r = await expectFailure(config, /ICMP port unreachable/, 1);
    // Process start-up varies with load; the log's own timestamps time the link itself.
    const at = (re: RegExp): number => Date.parse((new RegExp(`^(\\S+ \\S+) .*${re.source}`, 'm').exec(r.log)?.[1] ?? '').replace(' ', 'T'));
    const seconds = (at(/ICMP port unreachable/) - at(/link remote:/)) / 1000;
    assert.ok(seconds <= ICMP_MAX_SECONDS, `ICMP port unreachable reported ${seconds} s after the link opened (server-poll-timeout is 5 s)\n${describeRun(r)}`);
  });
});

test('keepalive: the server keeps the client for 12 s; SIGTERM exits 0 and explicit-exit-notify reaches the server', async () => {
  await guard(async () => {
    const srv = servers.keepalive;
    const client = await startClient(lab, 'ovpn-ts', withLines(srv.clientConfig({ inline: true }), ['explicit-exit-notify 1']));
    await new Promise((r) => setTimeout(r, KEEPALIVE_HOLD_MS));
    assert.equal(client.process.exitStatus(), undefined, `client still running\n${client.log()}`);
    assert.doesNotMatch(srv.log(), /Inactivity timeout/, srv.log());
    assert.doesNotMatch(client.log(), /Inactivity timeout|restarting/, client.log());
    const status = readFileSync(join(srv.dir, 'status.log'), 'utf8');
    // status version 1: "Common Name,Real Address,Bytes Received,..." then one line per client
    assert.match(status, /^client,198\.18\.\d+\.2:\d+,\d+,\d+,/m, `server status lists the client:\n${status}`);
    const stoppedAt = Date.now();
    await client.stop();
    assert.equal(client.process.exitStatus(), 'exit 0', client.log());
    assert.match(client.log(), PROCESS_EXITING);
    await waitForLog(srv.process, /CC-EEN exit message received by peer|client-instance exiting|remote-exit/, { timeoutMs: EXIT_NOTIFY_BOUND_MS });
    // without the notification the server would only notice after its ping-restart (20 s)
    assert.ok(Date.now() - stoppedAt < EXIT_NOTIFY_BOUND_MS + 3_500, 'the server saw the exit within seconds of SIGTERM');
  });
});
