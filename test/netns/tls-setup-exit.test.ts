/**
 * Tier 4: what the real binary does with a tls-cipher it cannot use (bug 12: it used to log the
 * error and hang, its UDP socket and timer still alive).
 *
 * A list OpenSSL cannot use (no name it knows, after translating OpenVPN's names) now ends the
 * process with exit 3 (configuration error) at start-up, naming tls-cipher, before one packet
 * reaches the server. 3 and not 5: the mistake is in the file and is found before connecting,
 * as OpenVPN stops at start-up ("Failed to set restricted TLS cipher list"); 5 stays for what
 * goes wrong in a handshake with a server. The run is bounded; a hang fails the test.
 * Needs root; never touches the root namespace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer, withLab } from '../lab/index.ts';
import { describeRun, FAIL_FAST_LINES, runUntilExit } from './helpers/run-client.ts';

/** Start-up, TLS set-up check, teardown: well under this. */
const CONFIG_EXIT_BOUND_MS = 10_000;

test('a tls-cipher OpenSSL cannot use: exit 3 at start-up, naming tls-cipher and the name, nothing sent to the server', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');

    const typo = 'TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA385';
    const bad = await runUntilExit(lab, server.clientConfig({ inline: true, extra: [...FAIL_FAST_LINES, `tls-cipher ${typo}`] }), CONFIG_EXIT_BOUND_MS);
    assert.equal(bad.timedOut, false, describeRun(bad));
    assert.equal(bad.code, 3, describeRun(bad));
    assert.match(bad.log, new RegExp(`tls-cipher: OpenSSL refuses '${typo}': no cipher match`), describeRun(bad));
    assert.match(bad.log, new RegExp(`no OpenSSL name is known for '${typo}'`), describeRun(bad));
    assert.doesNotMatch(bad.log, /link remote/, 'no connection was attempted');
    assert.doesNotMatch(server.log(), new RegExp(lab.clientAddr4.replaceAll('.', '\\.')), 'the server never heard from the client');
  });
});
