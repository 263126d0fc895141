/**
 * The other end of the pipeline benchmark (bench-pipeline.ts), in its own process so that its
 * CPU is not the data plane's:
 *
 *   seal: writes 1400-byte IP packets into the stand-in TUN (fd 3, a SOCK_SEQPACKET pair) as
 *         fast as the worker takes them
 *   open: seals packets with the server's keys (EVP) and sends them to the worker's UDP socket in
 *         batches (sendmmsg), draining what the worker writes to the stand-in TUN
 *
 *   node dist/scripts/pipeline-peer.js seal|open SECONDS     (fd 3: the stand-in TUN, fd 4: a UDP socket connected to the worker's)
 * Stops by itself after SECONDS. Only loopback and its inherited fd.
 */
import { batchIo, EAGAIN, MmsgRing } from '../src/platform/batch-io.ts';
import { pipelineChannel, pipelinePacket, PIPELINE_PACKET } from './pipeline-keys.ts';

const TUN_FD = 3;
/** A UDP socket connected to the worker's. */
const UDP_FD = 4;
const [mode, secondsText] = process.argv.slice(2);
const deadline = performance.now() + Math.min(Number(secondsText) || 3, 60) * 1000;
const io = batchIo();
const packet = pipelinePacket();

if (mode === 'seal') {
  // blocking writes: the socketpair's buffer is the queue in front of the worker
  while (performance.now() < deadline) {
    for (let i = 0; i < 256; i++) io.write(TUN_FD, packet, packet.byteLength);
  }
} else if (mode === 'open') {
  const fd = UDP_FD;
  const server = pipelineChannel('server');
  const ring = new MmsgRing(64, 2048);
  const drain = new Uint8Array(65536);
  while (performance.now() < deadline) {
    for (let i = 0; i < ring.slots; i++) ring.setSend(i, server.sealPacket(packet, PIPELINE_PACKET, ring.views[i] as Uint8Array), 0);
    let sent = 0;
    while (sent < ring.slots) {
      const r = io.sendmmsg(fd, ring.hdrsFrom[sent] as Uint8Array, ring.slots - sent, 0);
      if (r <= 0 && io.errno() !== EAGAIN) break;
      if (r > 0) sent += r;
    }
    while (io.read(TUN_FD, drain, drain.byteLength) > 0); // non-blocking: until EAGAIN
  }
  ring.free();
}
