/**
 * Runs the TunDevice contract scenario against the real Linux TUN adapter. Must be started inside
 * a throwaway network namespace: creates tunN, brings it up with 10.66.0.1/24 through the
 * rtnetlink backend, prints the scenario result as JSON, and exits promptly (close() must not
 * leave a poll parked on a worker thread).
 */
import { createSocket } from 'node:dgram';
import { openLinuxTun } from '../../../src/tun/linux-tun.ts';
import { NetlinkBackend } from '../../../src/routing/netlink-backend.ts';
import { TUN_LOCAL, TUN_PEER, UDP_PORT, tunScenario } from './tun.contract.ts';

// `vnet`: with IFF_VNET_HDR, which readInto and write must hide
const tun = openLinuxTun({ dev: 'tun', mtu: 1400, vnetHdr: process.argv[2] === 'vnet' });
const net = new NetlinkBackend();
const sock = createSocket('udp4');
try {
  await net.setLink(tun.name, { up: true, mtu: 1400 });
  await net.addAddress({ dev: tun.name, family: 4, local: TUN_LOCAL, prefixLen: 24 });
  const result = await tunScenario(
    {
      tun,
      emitUdp: (payload) =>
        new Promise<void>((resolve, reject) =>
          sock.send(payload, UDP_PORT, TUN_PEER, (err) => (err ? reject(err) : resolve())),
        ),
    },
    true,
  );
  process.stdout.write(JSON.stringify(result));
} finally {
  sock.close();
  net.close();
  tun.close();
}
