/**
 * Runs the NetWatcher contract scenario against the rtnetlink watcher. Must be started inside a
 * throwaway network namespace: it creates a TUN device there and prints JSON.
 */
import { openLinuxTun } from '../../../src/tun/linux-tun.ts';
import { NetlinkBackend } from '../../../src/routing/netlink-backend.ts';
import { NetlinkWatcher } from '../../../src/routing/netlink-watch.ts';
import { watchScenario } from './watch.contract.ts';

const tun = openLinuxTun({ dev: 'tun', mtu: 1400 });
const net = new NetlinkBackend();
try {
  const result = await watchScenario(net, tun.name, (l) => new NetlinkWatcher(l));
  process.stdout.write(JSON.stringify(result));
} finally {
  net.close();
  tun.close();
}
