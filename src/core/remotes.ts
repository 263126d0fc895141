/**
 * The list of connection profiles an attempt walks through, as OpenVPN builds it (init.c,
 * options.c): `proto-force` keeps only one protocol, `remote-random` shuffles the list once at
 * start, `remote-random-hostname` prefixes a random label to host names (for DNS-based load
 * balancing). Pure: randomness comes in as a port.
 */
import { familyOf } from '../base/ip.ts';
import type { ClientOptions, ConnectionEntry } from '../config/index.ts';
import type { Random } from '../base/clock.ts';
import { hex } from '../base/bytes.ts';

export function connectionOrder(o: ClientOptions, random: Random): ConnectionEntry[] {
  const list = o.protoForce === undefined ? [...o.connections] : o.connections.filter((c) => c.proto === o.protoForce);
  if (o.remoteRandom) {
    // Fisher-Yates with 32-bit draws from the Random port
    for (let i = list.length - 1; i > 0; i--) {
      const b = random.bytes(4);
      const j = (((b[0] ?? 0) << 24) | ((b[1] ?? 0) << 16) | ((b[2] ?? 0) << 8) | (b[3] ?? 0)) >>> 0;
      const k = j % (i + 1);
      const t = list[i];
      list[i] = list[k] as ConnectionEntry;
      list[k] = t as ConnectionEntry;
    }
  }
  return list;
}

/** The name to resolve: with remote-random-hostname, `<12 hex digits>.host` (socket.c). */
export function hostToResolve(host: string, randomHostname: boolean, random: Random): string {
  if (!randomHostname || familyOf(host) !== undefined) return host;
  return `${hex(random.bytes(6))}.${host}`;
}
