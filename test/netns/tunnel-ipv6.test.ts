/**
 * The tunnel over IPv6 transport with `redirect-gateway ipv6`: ovpn-ts reaches the server over
 * UDP/IPv6 (profile udp6), installs OpenVPN 2.6's IPv6 redirect routes (::/3, 2000::/4,
 * 3000::/4, fc00::/7) into the tunnel plus a /128 bypass route to the server via the original
 * IPv6 gateway, pings through the tunnel on both families, and leaves the namespace's IPv6
 * routes as they were after SIGTERM. Real server, network namespaces only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientRoutes as routes, networkSettled, networkSnapshot, ping, startClient, startServer, withLab } from '../lab/index.ts';

test('UDP over IPv6 with redirect-gateway ipv6: redirect routes, /128 bypass, pings, clean exit', { timeout: 60_000 }, async () => {
  await withLab(async (lab) => {
    // an IPv6 default route as on a real host, so the bypass route has a gateway to use
    await lab.client.exec('ip', ['-6', 'route', 'add', 'default', 'via', lab.serverAddr6]);
    const server = await startServer(lab, 'udp6', {
      extraServerLines: ['push "route-ipv6 fd00:99::/64"', 'push "redirect-gateway ipv6 !ipv4"'],
    });
    await networkSettled(lab);
    const before = await networkSnapshot(lab);
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true, extra: ['verb 3'] }));
    assert.match(client.log(), /UDPv6 link remote: \[AF_INET6\]/);

    const v6 = await routes(lab, 6);
    for (const dst of ['::/3', '2000::/4', '3000::/4', 'fc00::/7', 'fd00:99::/64']) {
      assert.ok(v6.some((r) => r.dst === dst && r.dev?.startsWith('tun') === true), `${dst} into the tunnel: ${JSON.stringify(v6)}`);
    }
    const bypass = v6.find((r) => r.dst === server.remoteAddr || r.dst === `${server.remoteAddr}/128`);
    assert.ok(bypass !== undefined, `a /128 bypass route to ${server.remoteAddr}: ${JSON.stringify(v6)}`);
    assert.equal(bypass.dev?.startsWith('tun'), false, 'the bypass route does not point into the tunnel');
    assert.ok(!(await routes(lab, 4)).some((r) => r.dst === '0.0.0.0/1'), '!ipv4: no IPv4 redirect');

    assert.equal((await ping(lab.client, server.tunAddr6, 3)).received, 3, 'IPv6 ping through the tunnel');
    assert.equal((await ping(lab.client, server.tunAddr4, 3)).received, 3, 'IPv4 ping through the tunnel');

    await client.stop();
    assert.equal(client.process.exitStatus(), 'exit 0', client.log());
    assert.deepEqual(await networkSnapshot(lab), before, 'addresses, links and routes as before');
  });
});
