/**
 * Contract: the Firewall port, real (`nft` run inside a throwaway network namespace through
 * `ip netns exec`, never in the root namespace) and in-memory, go through the same scenario and
 * must observe the same: install, replace (the table stays), remove, remove again (no error).
 * The real half also shows that a bad document is refused as OsError('FIREWALL') and changes nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { OsError } from '../../../src/base/errors.ts';
import { MemoryFirewall, NftFirewall, type Firewall } from '../../../src/firewall/nft.ts';
import { buildKillSwitch, removeKillSwitch, type KillSwitchState } from '../../../src/firewall/ruleset.ts';

const STATE: KillSwitchState = {
  tunDevs: ['tun0'],
  endpoints: [{ address: '198.51.100.7', family: 4, proto: 'udp', port: 1194 }, { address: '2001:db8::7', family: 6, proto: 'tcp', port: 443 }],
  lan: [{ address: '192.168.1.0', family: 4, prefixLen: 24 }],
};

async function scenario(fw: Firewall): Promise<boolean[]> {
  const seen: boolean[] = [await fw.hasTable()];
  await fw.apply(buildKillSwitch(STATE));
  seen.push(await fw.hasTable());
  await fw.apply(buildKillSwitch({ ...STATE, tunDevs: ['tun1'] }));
  seen.push(await fw.hasTable());
  await fw.apply(removeKillSwitch());
  seen.push(await fw.hasTable());
  await fw.apply(removeKillSwitch());
  seen.push(await fw.hasTable());
  return seen;
}

test('firewall contract: nft (in a namespace) and the in-memory twin behave alike', async () => {
  const ns = `ovts-t-${process.pid}-nft`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const nft = new NftFirewall(['ip', 'netns', 'exec', ns, 'nft']);
    const real = await scenario(nft);
    assert.deepEqual(real, await scenario(new MemoryFirewall()));
    assert.deepEqual(real, [false, true, true, false, false]);

    // The replacement really replaced: only tun1 is in the rules now.
    await nft.apply(buildKillSwitch({ ...STATE, tunDevs: ['tun1'] }));
    const listed = execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', 'ovpn_ts'], { encoding: 'utf8' });
    assert.match(listed, /oifname "tun1" accept/);
    assert.doesNotMatch(listed, /tun0/);
    assert.match(listed, /ip daddr 198\.51\.100\.7 udp dport 1194 accept/);

    // A refused document is one failed transaction: the table is left as it was.
    const bad = { nftables: [...buildKillSwitch(STATE).nftables, { add: { rule: { family: 'inet', table: 'ovpn_ts', chain: 'nope', expr: [{ accept: null }] } } }] };
    await assert.rejects(nft.apply(bad), (e: unknown) => e instanceof OsError && e.code === 'FIREWALL');
    assert.match(execFileSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', 'ovpn_ts'], { encoding: 'utf8' }), /oifname "tun1" accept/);
    await nft.apply(removeKillSwitch());
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});
