/**
 * The management interface speaks the same bytes as the stock openvpn 2.6 client: one scripted
 * session (test/netns/helpers/mgmt-driver.ts, run inside the client namespace against
 * 127.0.0.1) drives the stock client and then ovpn-ts against the same lab server, and the two
 * transcripts must be equal after normalising only what differs between any two runs:
 *
 * - times: the Unix time on >STATE/state lines, `Updated,` in `status`;
 * - pids (`pid`), byte counts (>BYTECOUNT, the `status` counters), and how many >BYTECOUNT
 *   lines a 1 s timer produced before `bytecount 0` (collapsed to one);
 * - GET_CONFIG: 2.6 reports it only when its once-a-second timer falls between the end of the
 *   TLS handshake and the PUSH_REPLY (forward.c), a timing accident in either client;
 * - the "OpenVPN Version:" value of `version`: the stock client names its own build
 *   ("OpenVPN 2.6.14 x86_64-pc-linux-gnu [SSL …]"), ovpn-ts names itself ("ovpn-ts 0.1.0
 *   (OpenVPN 2.6 compatible) [Node …]") in the same line, so a GUI that shows it shows the truth.
 *   The "Management Version: 5" line after it is compared as is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startClient, startServer, withLab, type ClientKind, type LabServer, type NetnsPair } from '../lab/index.ts';
import type { DriverResult, DriverScript, DriverStep } from './helpers/mgmt-driver.ts';

const DRIVER = fileURLToPath(new URL('./helpers/mgmt-driver.js', import.meta.url));
const PORT = 7505;

async function drive(lab: NetnsPair, script: DriverScript): Promise<DriverResult> {
  const file = join(lab.dir, `mgmt-script-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(script));
  const r = await lab.client.exec(process.execPath, [DRIVER, file], { timeoutMs: 90_000 });
  return JSON.parse(r.stdout) as DriverResult;
}

/** The transcript as text: `> command` lines between what came back, CRLF kept visible. */
function transcript(r: DriverResult): string {
  return r.steps.filter((s) => s.hidden !== true).map((s) => `${s.sent === undefined ? '' : `> ${s.sent}\n`}${s.received.replaceAll('\r\n', '⏎\n')}`).join('');
}

export function normalise(text: string): string {
  return text
    .replace(/^(>STATE:|>LOG:|>ECHO:)?\d{9,11},/gm, '$1TIME,')
    .replace(/^OpenVPN Version: .*⏎$/gm, 'OpenVPN Version: (this program)⏎')
    .replace(/^SUCCESS: pid=\d+/gm, 'SUCCESS: pid=PID')
    .replace(/^Updated,.*⏎$/gm, 'Updated,TIME⏎')
    .replace(/^(TUN\/TAP read bytes|TUN\/TAP write bytes|TCP\/UDP read bytes|TCP\/UDP write bytes|Auth read bytes),\d+⏎$/gm, '$1,N⏎')
    .replace(/^>BYTECOUNT:\d+,\d+⏎$/gm, '>BYTECOUNT:N,N⏎')
    .replace(/(^>BYTECOUNT:N,N⏎\n)+/gm, '>BYTECOUNT:N,N⏎\n')
    .replace(/^(>STATE:)?TIME,GET_CONFIG,.*\n/gm, '');
}

const MGMT_LINES = [`management 127.0.0.1 ${PORT}`, 'management-hold', 'management-query-passwords', 'auth-user-pass'];

function sessionSteps(password: string): DriverStep[] {
  return [
    { expect: '^>HOLD:Waiting for hold release:0' },
    { send: 'version', expect: '^END' },
    { send: 'state', expect: '^END' },
    { send: 'state on', expect: '^SUCCESS' },
    { send: 'hold', expect: '^SUCCESS: hold=' },
    { send: 'pid', expect: '^SUCCESS: pid=' },
    { send: 'password "Auth" early', expect: '^ERROR' },
    { send: 'hold release', expect: "^>PASSWORD:Need 'Auth' username/password" },
    { send: 'username "Auth" alice', expect: '^SUCCESS' },
    { send: `password "Auth" ${password}`, expect: '^>STATE:\\d+,CONNECTED,' },
    { send: 'state', expect: '^END' },
    { send: 'status 2', expect: '^END' },
    { send: 'bytecount 1', expect: '^>BYTECOUNT:' },
    { send: 'bytecount 0', expect: '^SUCCESS' },
    { send: 'signal SIGUSR1', expect: '^>HOLD:Waiting for hold release:' },
    { send: 'signal SIGUSR1', expect: '^>HOLD:' },
    { send: 'hold release', expect: '^>STATE:\\d+,CONNECTED,' },
    { send: 'state 3', expect: '^END' },
    // SIGHUP re-reads the configuration and starts over: hold 0 again, no new password query
    { send: 'signal SIGHUP', expect: '^>HOLD:Waiting for hold release:0' },
    { send: 'hold release', expect: '^>STATE:\\d+,CONNECTED,' },
    { send: 'signal SIGBOGUS', expect: '^ERROR' },
    { send: 'nosuchcommand', expect: '^ERROR' },
    { send: 'signal SIGTERM', expect: '^>STATE:\\d+,EXITING,SIGTERM' },
    { close: true },
  ];
}

async function runSession(lab: NetnsPair, server: LabServer, kind: ClientKind): Promise<string> {
  const password = readFileSync(server.userpassFile, 'utf8').split('\n')[1] ?? '';
  const client = await startClient(lab, kind, server.clientConfig({ inline: true, credentials: 'none', extra: MGMT_LINES }), { waitFor: null });
  try {
    const r = await drive(lab, { port: PORT, steps: sessionSteps(password) });
    assert.equal(r.error, undefined, `${kind}: ${r.error ?? ''}\n${transcript(r)}\n${client.log()}`);
    const exited = await Promise.race([client.process.exited.then(() => true), new Promise<false>((res) => setTimeout(() => res(false), 10_000))]);
    assert.ok(exited, `${kind} must exit after "signal SIGTERM"`);
    assert.ok(/Initialization Sequence Completed[\s\S]*Initialization Sequence Completed/.test(client.log()), `${kind} connected twice (before and after SIGUSR1)`);
    assert.ok(!client.log().includes(password), `${kind} must not log the password given over the management interface`);
    return transcript(r);
  } finally {
    await client.stop();
  }
}

test('management: the scripted session gives the stock client\'s transcript (hold, passwords, state, status, bytecount, signals)', { timeout: 180_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'userpass');
    const stock = await runSession(lab, server, 'stock');
    const ours = await runSession(lab, server, 'ovpn-ts');
    if (process.env['OVTS_SHOW_TRANSCRIPTS'] === '1') process.stderr.write(`--- stock\n${stock}\n--- ovpn-ts\n${ours}\n`);
    assert.equal(normalise(ours), normalise(stock), `raw transcripts:\n--- stock\n${stock}\n--- ovpn-ts\n${ours}`);
    // what the normalisation touched is well-formed in ours
    assert.match(ours, /^OpenVPN Version: ovpn-ts \S+ \(OpenVPN 2\.6 compatible\)/m);
    assert.match(ours, /^>BYTECOUNT:[1-9]\d*,[1-9]\d*⏎$/m);
    assert.match(ours, /^>STATE:\d{10},CONNECTED,SUCCESS,10\.8\.0\.2,198\.18\.\d+\.1,1194,,,fd00:8::1000⏎$/m);
  });
});

test('management: a pw-file guards the port; nothing runs before the right password, the third wrong one closes', { timeout: 120_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const pwFile = join(lab.dir, 'mgmt-pw.txt');
    writeFileSync(pwFile, 'sesame\n', { mode: 0o600 });
    const results: Partial<Record<ClientKind, string>> = {};
    for (const kind of ['stock', 'ovpn-ts'] as const) {
      const client = await startClient(lab, kind, server.clientConfig({ inline: true, extra: [`management 127.0.0.1 ${PORT} ${pwFile}`, 'management-hold'] }), { waitFor: null });
      try {
        const bad = await drive(lab, {
          port: PORT,
          steps: [{ expect: 'ENTER PASSWORD:$' }, { send: 'hold release', expect: 'ENTER PASSWORD:$' }, { send: 'wrong', expect: 'ENTER PASSWORD:$' }, { send: 'sesame2', close: true }],
        });
        assert.equal(bad.error, undefined, `${kind}: ${bad.error ?? ''}\n${transcript(bad)}`);
        const good = await drive(lab, { port: PORT, steps: [{ expect: 'ENTER PASSWORD:$' }, { send: 'sesame', expect: '^>HOLD:' }, { send: 'exit', close: true }] });
        assert.equal(good.error, undefined, `${kind}: ${good.error ?? ''}\n${transcript(good)}`);
        // `hold release` before the password did nothing: the client is still holding
        assert.ok(!/Initialization Sequence Completed/.test(client.log()), `${kind} must still hold:\n${client.log()}`);
        results[kind] = `${transcript(bad)}\n----\n${transcript(good)}`;
      } finally {
        await client.stop();
      }
    }
    assert.equal(normalise(results['ovpn-ts'] ?? ''), normalise(results.stock ?? ''), `--- stock\n${results.stock ?? ''}\n--- ovpn-ts\n${results['ovpn-ts'] ?? ''}`);
  });
});

test('management: a unix socket, management-client-user and the log/echo histories', { timeout: 60_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const sock = join(lab.dir, 'mgmt.sock');
    const refusedSock = join(lab.dir, 'mgmt-nobody.sock');
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: [`management ${sock} unix`, 'management-client-user root', 'echo hello gui', 'verb 3'] }));
    const r = await drive(lab, {
      path: sock,
      steps: [
        { expect: '^>INFO:OpenVPN Management Interface Version 5' },
        { send: 'log 500', expect: '^END' },
        { send: 'echo all', expect: '^END' },
        { send: 'state', expect: '^END' },
        { send: 'exit', close: true },
      ],
    });
    assert.equal(r.error, undefined, `${r.error ?? ''}\n${transcript(r)}`);
    const text = transcript(r);
    assert.match(text, /^\d{10},I,Initialization Sequence Completed⏎$/m);
    assert.match(text, /^\d{10},hello gui⏎$/m);
    assert.match(text, /^\d{10},CONNECTED,SUCCESS,10\.8\.0\.2,198\.18\.\d+\.1,1194,,,fd00:8::1000⏎$/m);
    await client.stop();
    // a peer that is not the configured user is closed at once, before any byte
    const other = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: [`management ${refusedSock} unix`, 'management-client-user nobody', 'verb 3'] }));
    const refused = await drive(lab, { path: refusedSock, steps: [{ close: true }] });
    assert.equal(refused.error, undefined, refused.error);
    assert.equal(transcript(refused), '');
    assert.match(other.log(), /UID of socket peer \(0\) doesn't match required value \(\d+\) as given by --management-client-user/);
    await other.stop();
  });
});

test('management-signal and management-forget-disconnect: a client leaving restarts the connection and forgets the password, as the stock client', { timeout: 180_000 }, async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'userpass');
    const password = readFileSync(server.userpassFile, 'utf8').split('\n')[1] ?? '';
    const lines = [`management 127.0.0.1 ${PORT}`, 'management-query-passwords', 'management-signal', 'management-forget-disconnect', 'auth-user-pass'];
    const answer: DriverStep[] = [
      { expect: "^>PASSWORD:Need 'Auth' username/password" },
      { send: 'state on', expect: '^SUCCESS' },
      { send: 'username "Auth" alice', expect: '^SUCCESS' },
      { send: `password "Auth" ${password}`, expect: '^>STATE:\\d+,CONNECTED,' },
    ];
    const results: Partial<Record<ClientKind, string>> = {};
    for (const kind of ['stock', 'ovpn-ts'] as const) {
      const client = await startClient(lab, kind, server.clientConfig({ inline: true, credentials: 'none', extra: lines }), { waitFor: null });
      try {
        const first = await drive(lab, { port: PORT, steps: [...answer, { send: 'exit', close: true }] });
        assert.equal(first.error, undefined, `${kind}: ${first.error ?? ''}\n${transcript(first)}\n${client.log()}`);
        // Leaving sent SIGUSR1 and purged the credentials: the next client is asked again. 2.6
        // asks during the new TLS handshake (after WAIT/AUTH), ovpn-ts before the attempt
        // (docs/management.md), so this client only polls `state` until CONNECTED.
        const second = await drive(lab, {
          port: PORT,
          steps: [
            { expect: "^>PASSWORD:Need 'Auth' username/password" },
            { send: 'username "Auth" alice', expect: '^SUCCESS' },
            { send: `password "Auth" ${password}`, expect: '^SUCCESS' },
            { send: 'state', expect: '^\\d+,CONNECTED,SUCCESS,.*\\r?\\nEND', repeatMs: 250, hidden: true },
            { send: 'state', expect: '^END' },
            { send: 'signal SIGTERM', expect: '^SUCCESS' },
            { close: true },
          ],
        });
        assert.equal(second.error, undefined, `${kind}: ${second.error ?? ''}\n${transcript(second)}\n${client.log()}`);
        assert.match(client.log(), /SIGUSR1\[soft,management-disconnect\] received, process restarting/);
        results[kind] = `${transcript(first)}\n----\n${transcript(second)}`;
      } finally {
        await client.stop();
      }
    }
    assert.equal(normalise(results['ovpn-ts'] ?? ''), normalise(results.stock ?? ''), `--- stock\n${results.stock ?? ''}\n--- ovpn-ts\n${results['ovpn-ts'] ?? ''}`);
  });
});
