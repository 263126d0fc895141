/**
 * One end of the UDP backpressure scenario (udp-backpressure.test.ts), run inside a lab
 * namespace: `send` floods the peer with the flood scenario (flood.ts) through the UDP adapter
 * as fast as it can; `recv` tallies what arrives through another UDP adapter.
 *
 *   send  LOCAL PORT PEER PEER_PORT COUNT   prints {"sent","queueDrops","sendErrors","reported","acked"}
 *   recv  LOCAL PORT PEER PEER_PORT COUNT   prints "listening", then "result {intact,duplicate,corrupt}"
 *
 * The end of the flood travels in band: after its last datagram the sender repeats END (every
 * END_EVERY_MS) until the receiver answers ACK. Both queues on the way (dgram's, tbf's) are
 * FIFO, so when the first END arrives every flood datagram has arrived or been dropped. Both
 * roles stop by themselves within RUN_BOUND_MS.
 */
import type { Endpoint } from '../../../src/link/link.ts';
import { openUdpLink } from '../../../src/link/udp-link.ts';
import { FLOOD_BUFFER_SIZE, FloodTally, writeFloodDatagram } from './flood.ts';

const END = Uint8Array.of(0x45, 0x4e, 0x44); // "END": shorter than any flood datagram
const ACK = Uint8Array.of(0x41, 0x43, 0x4b);
const END_EVERY_MS = 50;
const RUN_BOUND_MS = 60_000;

const [role, localAddr, localPort, peerAddr, peerPort, countArg] = process.argv.slice(2);
const count = Number(countArg);
const local = { address: localAddr, port: Number(localPort) };
const peer: Endpoint = { address: peerAddr ?? '', port: Number(peerPort), family: 4 };
const isMarker = (b: Uint8Array, m: Uint8Array): boolean => b.byteLength === m.byteLength && b.every((x, i) => x === m[i]);

const bound = setTimeout(() => {
  process.stderr.write(`${role ?? '?'}: no end of the flood within ${RUN_BOUND_MS} ms\n`);
  process.exit(1);
}, RUN_BOUND_MS);
bound.unref();

if (role === 'recv') {
  const tally = new FloodTally(count);
  let done = false;
  const link = await openUdpLink({ remote: peer, float: false, local }, {
    packet(bytes) {
      if (!isMarker(bytes, END)) {
        if (!done) tally.add(bytes);
        return;
      }
      if (!done) {
        done = true;
        process.stdout.write(`result ${JSON.stringify(tally.counts())}\n`);
      }
      link.send(ACK);
      link.close();
    },
    error: (err) => process.stderr.write(`recv: ${err.message}\n`),
  });
  process.stdout.write('listening\n');
} else if (role === 'send') {
  let acked = false;
  const reported: string[] = []; // the code of each error the link reported
  const link = await openUdpLink({ remote: peer, float: false, local }, {
    packet(bytes) {
      if (isMarker(bytes, ACK)) acked = true;
    },
    error: (err) => reported.push((err as NodeJS.ErrnoException).code ?? err.name),
  });
  const tx = new Uint8Array(FLOOD_BUFFER_SIZE);
  for (let seq = 0; seq < count; seq++) link.send(tx.subarray(0, writeFloodDatagram(seq, tx)));
  const { queueDrops, sendErrors } = link.counters;
  const floodReports = [...reported];
  const timer = setInterval(() => {
    if (acked) {
      clearInterval(timer);
      link.close();
      process.stdout.write(`${JSON.stringify({ sent: count, queueDrops, sendErrors, reported: floodReports, acked })}\n`);
    } else link.send(END);
  }, END_EVERY_MS);
  link.send(END);
} else {
  process.stderr.write('usage: udp-flood-runner send|recv LOCAL PORT PEER PEER_PORT COUNT\n');
  process.exit(2);
}
