/**
 * Tier 4: pushed DNS through the real systemd-resolved (Debian's package, extracted, run inside
 * a private mount namespace of the lab's client namespace with its own system bus; see
 * test/lab/dns-sandbox.ts). ovpn-ts detects it (it owns org.freedesktop.resolve1, runs in this
 * network namespace, and /etc/resolv.conf names its stub) and sets the tun link's servers and
 * domains; `resolvectl` reads them back: `~.` with redirect-gateway, split DNS with
 * resolve-domains. Needs root; lab namespaces only.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientExited, startClient, startServer, withLab } from '../lab/index.ts';
import { startResolved, type DnsSandbox } from '../lab/dns-sandbox.ts';

const EXIT_TIMEOUT_MS = 15_000;

async function resolvectl(sb: DnsSandbox, ...args: string[]): Promise<string> {
  return (await sb.exec('resolvectl', args)).stdout.trim();
}

test('resolved: with redirect-gateway the tun link has the pushed servers, the search domain and ~. (default DNS route)', async () => {
  await withLab(async (lab) => {
    const sb = await startResolved(lab);
    const server = await startServer(lab, 'udp-gcm-tlscrypt', { extraServerLines: ['push "redirect-gateway def1"'] });
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true }), { wrapper: sb.wrapper });
    assert.match(client.log(), /DNS: pushed DNS will be applied via systemd-resolved \(systemd-resolved runs and \/etc\/resolv.conf uses it\)/);
    assert.match(await resolvectl(sb, 'dns', 'tun0'), new RegExp(`\\(tun0\\): ${server.tunAddr4.replace(/\./g, '\\.')}$`));
    assert.match(await resolvectl(sb, 'domain', 'tun0'), /\(tun0\): lab\.invalid ~\.$/);
    assert.match(await resolvectl(sb, 'default-route', 'tun0'), /\(tun0\): yes$/);
    await client.stop();
    await clientExited(client, EXIT_TIMEOUT_MS);
    assert.match(client.log(), /DNS on tun0 reverted \(systemd-resolved\)/);
    await sb.stop();
  });
});

test('resolved: resolve-domains make split DNS (routing-only domains, not the default route)', async () => {
  await withLab(async (lab) => {
    const sb = await startResolved(lab);
    const server = await startServer(lab, 'udp-gcm-tlscrypt', {
      extraServerLines: ['push "redirect-gateway def1"', 'push "dns server 1 resolve-domains corp.invalid example.invalid"', 'push "dns server 1 dnssec optional"'],
    });
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true }), { wrapper: sb.wrapper });
    assert.match(await resolvectl(sb, 'domain', 'tun0'), /\(tun0\): lab\.invalid ~corp\.invalid ~example\.invalid$/);
    assert.match(await resolvectl(sb, 'default-route', 'tun0'), /\(tun0\): no$/);
    assert.match(await resolvectl(sb, 'dnssec', 'tun0'), /\(tun0\): allow-downgrade$/);
    await client.stop();
    await clientExited(client, EXIT_TIMEOUT_MS);
    await sb.stop();
  });
});

test('resolved: without redirect-gateway the search domain is the only route to the VPN DNS', async () => {
  await withLab(async (lab) => {
    const sb = await startResolved(lab);
    const server = await startServer(lab, 'udp-gcm-tlscrypt');
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true }), { wrapper: sb.wrapper });
    assert.match(await resolvectl(sb, 'domain', 'tun0'), /\(tun0\): lab\.invalid$/);
    assert.match(await resolvectl(sb, 'default-route', 'tun0'), /\(tun0\): no$/);
    assert.match(client.log(), /no redirect-gateway: only names under lab\.invalid are sent to the VPN's DNS/);
    await client.stop();
    await clientExited(client, EXIT_TIMEOUT_MS);
    await sb.stop();
  });
});
