/**
 * Runs the NetBackend contract scenario against the real rtnetlink backend. Must be started
 * inside a throwaway network namespace (`ip netns exec ovts-... node backend-runner.js`): it
 * creates a TUN device there, snapshots `ip -j` state before and after, and prints JSON.
 */
import { execFileSync } from 'node:child_process';
import { openLinuxTun } from '../../../src/tun/linux-tun.ts';
import { NetlinkBackend } from '../../../src/routing/netlink-backend.ts';
import { backendScenario } from './backend.contract.ts';

// The kernel attaches a default qdisc the first time a link goes up and keeps it: not our change.
const withoutQdisc = (links: Record<string, unknown>[]): unknown =>
  links.map(({ qdisc: _qdisc, ...rest }) => rest);

const ipState = (): unknown => ({
  addr: withoutQdisc(JSON.parse(execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8' }))),
  route4: JSON.parse(execFileSync('ip', ['-j', '-4', 'route', 'show', 'table', 'all'], { encoding: 'utf8' })),
  route6: JSON.parse(execFileSync('ip', ['-j', '-6', 'route', 'show', 'table', 'all'], { encoding: 'utf8' })),
});

const tun = openLinuxTun({ dev: 'tun', mtu: 1400 });
const net = new NetlinkBackend();
try {
  const ipBefore = ipState();
  const result = await backendScenario(net, tun.name);
  const ipAfter = ipState();
  process.stdout.write(JSON.stringify({ dev: tun.name, result, ipBefore, ipAfter }));
} finally {
  net.close();
  tun.close();
}
