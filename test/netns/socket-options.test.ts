/**
 * Tier 4: socket options on the link to the real OpenVPN 2.6 server.
 *   mark:      the client namespace routes to the server only for packets with fwmark 66 (an
 *              ip rule and its own table); without `mark 66` ovpn-ts cannot connect, with it the
 *              tunnel comes up (UDP, and TCP where the SYN itself must carry the mark).
 *   sndbuf/rcvbuf: `ss -m` shows the buffers the kernel granted for what was asked.
 *   bind-dev:  `bind-dev lo` cannot reach the server; `bind-dev veth-c` can, and `ss` shows the
 *              socket bound to veth-c.
 *   txqueuelen: the tun device's queue length as `ip link` shows it.
 * Needs root; never touches the root namespace.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ping, startClient, startServer, withLab, VETH_CLIENT, type NetnsPair, type ProfileName } from '../lab/index.ts';
import { describeRun, FAIL_FAST_LINES, runUntilExit } from './helpers/run-client.ts';

const MARK = 66;
const TABLE = 166;
const EXIT_BOUND_MS = 40_000;
const BUF = 524288;

/** Moves the route to the server out of the main table into one that only marked packets use. */
async function routeOnlyMarked(lab: NetnsPair): Promise<void> {
  const r = await lab.client.exec('ip', ['-j', '-4', 'route', 'show', 'dev', VETH_CLIENT]);
  const net = (JSON.parse(r.stdout) as { dst: string }[]).find((x) => x.dst.includes('/'))?.dst;
  assert.ok(net !== undefined, r.stdout);
  await lab.client.exec('ip', ['route', 'add', net, 'dev', VETH_CLIENT, 'table', String(TABLE)]);
  await lab.client.exec('ip', ['rule', 'add', 'fwmark', String(MARK), 'lookup', String(TABLE)]);
  await lab.client.exec('ip', ['route', 'del', net, 'dev', VETH_CLIENT]);
}

for (const profile of ['udp-gcm-tlscrypt', 'tcp'] as const satisfies readonly ProfileName[]) {
  test(`mark ${MARK} (${profile}): only marked packets reach the server; with mark the tunnel works`, async () => {
    await withLab(async (lab) => {
      const server = await startServer(lab, profile);
      await routeOnlyMarked(lab);
      const unmarked = await runUntilExit(lab, server.clientConfig({ inline: true, extra: FAIL_FAST_LINES }), EXIT_BOUND_MS);
      assert.ok(!unmarked.timedOut && unmarked.code !== 0, describeRun(unmarked));
      assert.doesNotMatch(unmarked.log, /Initialization Sequence Completed/);

      const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: [`mark ${MARK}`, `sndbuf ${BUF}`, `rcvbuf ${BUF}`, 'mtu-disc yes'] }));
      const p = await ping(lab.client, server.tunAddr4, 3);
      assert.equal(p.received, 3, p.output);
      const ss = await lab.client.exec('ss', ['-Hnpm', profile === 'tcp' ? '-t' : '-u', `dport = :${server.port}`]);
      const max = Number((await lab.client.exec('sysctl', ['-n', 'net.core.wmem_max'])).stdout.trim());
      const rmax = Number((await lab.client.exec('sysctl', ['-n', 'net.core.rmem_max'])).stdout.trim());
      assert.match(ss.stdout, new RegExp(`tb${2 * Math.min(BUF, max)}\\b`), `sndbuf granted: ${ss.stdout}`);
      assert.match(ss.stdout, new RegExp(`rb${2 * Math.min(BUF, rmax)}\\b`), `rcvbuf granted: ${ss.stdout}`);
      await client.stop();
    });
  });
}

test('bind-dev: bound to lo the server is unreachable; bound to veth-c it works and ss shows the device; txqueuelen on the tun', async () => {
  await withLab(async (lab) => {
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const wrong = await runUntilExit(lab, server.clientConfig({ inline: true, extra: [...FAIL_FAST_LINES, 'bind-dev lo'] }), EXIT_BOUND_MS);
    assert.ok(!wrong.timedOut && wrong.code !== 0, describeRun(wrong));
    assert.doesNotMatch(wrong.log, /Initialization Sequence Completed/);

    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: [`bind-dev ${VETH_CLIENT}`, 'txqueuelen 777'] }));
    const p = await ping(lab.client, server.tunAddr4, 3);
    assert.equal(p.received, 3, p.output);
    const tun = JSON.parse((await lab.client.exec('ip', ['-j', 'link', 'show', 'type', 'tun'])).stdout) as { txqlen: number }[];
    assert.equal(tun[0]?.txqlen, 777, 'txqueuelen on the tun device');
    const ss = await lab.client.exec('ss', ['-Hunp']);
    assert.match(ss.stdout, new RegExp(`%${VETH_CLIENT}:\\d+\\s+${lab.serverAddr4.replaceAll('.', '\\.')}:${server.port}`), ss.stdout);
    await client.stop();
  });
});

const PUSHED_BUF = 393216;

for (const profile of ['udp-gcm-tlscrypt', 'tcp'] as const satisfies readonly ProfileName[]) {
  test(`pushed sndbuf/rcvbuf (${profile}): the link socket is resized to what the server pushed`, async () => {
    await withLab(async (lab) => {
      const server = await startServer(lab, profile, { extraServerLines: [`push "sndbuf ${PUSHED_BUF}"`, `push "rcvbuf ${PUSHED_BUF}"`] });
      const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: ['verb 3'] }));
      const p = await ping(lab.client, server.tunAddr4, 3);
      assert.equal(p.received, 3, p.output);
      const ss = await lab.client.exec('ss', ['-Hnpm', profile === 'tcp' ? '-t' : '-u', `dport = :${server.port}`]);
      const wmax = Number((await lab.client.exec('sysctl', ['-n', 'net.core.wmem_max'])).stdout.trim());
      const rmax = Number((await lab.client.exec('sysctl', ['-n', 'net.core.rmem_max'])).stdout.trim());
      assert.match(ss.stdout, new RegExp(`tb${2 * Math.min(PUSHED_BUF, wmax)}\\b`), `pushed sndbuf granted: ${ss.stdout}`);
      assert.match(ss.stdout, new RegExp(`rb${2 * Math.min(PUSHED_BUF, rmax)}\\b`), `pushed rcvbuf granted: ${ss.stdout}`);
      assert.match(client.log(), new RegExp(`Socket Buffers: pushed sndbuf ${PUSHED_BUF} rcvbuf ${PUSHED_BUF}`), client.log());
      await client.stop();
    });
  });
}
