/**
 * Tier 4: a <connection> list that mixes UDP, TCP and an HTTP proxy, as provider files do, walked
 * as OpenVPN 2.6 walks it: a UDP entry nothing answers (ICMP port unreachable), a TCP entry
 * whose own proxy is down, then a TCP entry through a working tinyproxy to the real OpenVPN 2.6
 * server. ovpn-ts must fall through to the third and bring the tunnel up, each entry using only
 * its own proxy settings. Needs root; never touches the root namespace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ping, startClient, startServer, withLab } from '../lab/index.ts';
import { SERVER_NAME, startTinyproxy } from './helpers/proxies.ts';

const PROXY_PORT = 8888;

test('<connection> list: a dead UDP entry and a TCP entry with a dead proxy fall through to a working proxied entry', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'tcp');
    const proxy = await startTinyproxy(lab, { port: PROXY_PORT, connectPorts: [server.port] });
    const base = server
      .clientConfig({ inline: true })
      .split('\n')
      .filter((l) => !/^(remote|proto) /.test(l))
      .join('\n');
    const config = [
      base,
      '<connection>',
      `remote ${lab.serverAddr4} 1999 udp`,
      '</connection>',
      '<connection>',
      `remote ${lab.serverAddr4} ${server.port} tcp`,
      `http-proxy ${lab.serverAddr4} ${PROXY_PORT + 5}`,
      '</connection>',
      '<connection>',
      `remote ${SERVER_NAME} ${server.port} tcp`,
      `http-proxy ${lab.serverAddr4} ${PROXY_PORT}`,
      '</connection>',
      '',
    ].join('\n');
    const client = await startClient(lab, 'ovpn-ts', config, { timeoutMs: 30_000 });
    const p = await ping(lab.client, server.tunAddr4, 3);
    assert.equal(p.received, 3, p.output);
    const log = client.log();
    assert.match(log, /nothing answers on udp port 1999/, 'the UDP entry was tried first');
    assert.match(log, new RegExp(`cannot connect to HTTP proxy ${lab.serverAddr4.replaceAll('.', '\\.')}:${PROXY_PORT + 5}`), 'then the TCP entry with its own (dead) proxy');
    assert.match(log, new RegExp(`TCPv4 link remote: \\[AF_INET\\]${lab.serverAddr4.replaceAll('.', '\\.')}:${PROXY_PORT}`), 'then the third through its proxy');
    assert.ok(log.indexOf('udp port 1999') < log.indexOf(`:${PROXY_PORT + 5}`), 'in list order');
    await client.stop();
    await proxy.stop();
  });
});
