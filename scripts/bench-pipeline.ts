/**
 * The data plane's own ceiling, apart from the box: the worker thread (src/dataplane/worker-*)
 * between a stand-in TUN and a UDP socket, with a peer process as the cheap source and sink.
 *
 *   seal:  peer ─1400-byte packets─▶ [SOCK_SEQPACKET pair] ─▶ worker: read, seal ─▶ sendmmsg ─▶ UDP sink (never read)
 *   open:  peer: seal (EVP), sendmmsg ─▶ worker: recvmmsg, open ─▶ write ─▶ [pair] ─▶ peer drains
 *
 * Prints packets per second and Gbit/s of IP packets, the CPU this process used (the worker;
 * the main thread only waits), and both per core. No root, no namespaces: only loopback.
 *
 *   node dist/scripts/bench-pipeline.js [seconds=3]      PIPELINE_CIPHER=CHACHA20-POLY1305 for another cipher
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import { DataPlaneWorker } from '../src/dataplane/worker-host.ts';
import { Counter } from '../src/dataplane/worker-shared.ts';
import { encodeSockaddr } from '../src/base/sockaddr.ts';
import { openUdpSocket } from '../src/link/socket-options.ts';
import { lib } from '../src/platform/libc.ts';
import { batchIo } from '../src/platform/batch-io.ts';
import { PIPELINE_AUTH, PIPELINE_CHANNEL, PIPELINE_CIPHER, PIPELINE_PACKET, pipelineKeys } from './pipeline-keys.ts';

const seconds = Math.min(Math.max(Number(process.argv[2] ?? 3) || 3, 1), 30);
const c = koffi.load('libc.so.6');
const socketpair = c.func('int socketpair(int domain, int type, int protocol, _Out_ int *sv)');
const fcntl = c.func('int fcntl(int fd, int cmd, int arg)');
const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const F_SETFL = 4;

function localPort(fd: number): number {
  const addr = new Uint8Array(28);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, 28, true);
  if (batchIo().getsockname(fd, addr, len) < 0) throw new Error('getsockname failed');
  return (addr[2] as number) * 256 + (addr[3] as number);
}

interface Result {
  readonly pps: number;
  readonly cpu: number;
}

async function run(mode: 'seal' | 'open', worker: DataPlaneWorker): Promise<Result> {
  // two sockets on loopback, connected to each other: the worker's, and the peer's (fd 4 in the
  // peer: the sink it never reads when sealing, the source when opening)
  const fd = openUdpSocket(4, { rcvbuf: 4 << 20 }, { address: '127.0.0.1' });
  const pfd = openUdpSocket(4, { rcvbuf: 4 << 20 }, { address: '127.0.0.1' });
  const port = localPort(fd);
  const peerPort = localPort(pfd);
  const toPeer = encodeSockaddr('127.0.0.1', peerPort, 4);
  const toWorker = encodeSockaddr('127.0.0.1', port, 4);
  if (lib().connect(fd, toPeer, toPeer.byteLength) < 0 || lib().connect(pfd, toWorker, toWorker.byteLength) < 0) throw new Error('connect failed');
  const sv = [0, 0];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) throw new Error('socketpair failed');
  const [tun, peerEnd] = sv as [number, number];
  if (mode === 'seal') fcntl(peerEnd, F_SETFL, 0); // the peer blocks on a full pair instead of spinning
  await worker.request({ kind: 'link', proto: 'udp', early: undefined, fd, remote: { address: '127.0.0.1', port: peerPort, family: 4 }, float: false });
  const k = pipelineKeys('client');
  worker.post({ kind: 'keys', keyId: 0, cipher: PIPELINE_CIPHER, auth: PIPELINE_AUTH, peerId: 1, send: k.send, recv: k.recv, channel: PIPELINE_CHANNEL });
  await worker.request({ kind: 'tun', fd: tun, mss: 0, tunMtu: 1500, block6: undefined, vnetHdr: false });
  const counter = mode === 'seal' ? Counter.DATA_TX_PKTS : Counter.AUTH_RX_PKTS;
  const peer = spawn(process.execPath, [fileURLToPath(new URL('./pipeline-peer.js', import.meta.url)), mode, String(seconds + 1)], {
    stdio: ['ignore', 'inherit', 'inherit', peerEnd, pfd],
    env: { ...process.env, PIPELINE_CIPHER },
  });
  // measure the middle `seconds`: after the peer started, before it stops
  await new Promise((r) => setTimeout(r, 500));
  const p0 = worker.counters[counter] ?? 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000 - 500));
  const p1 = worker.counters[counter] ?? 0;
  const cpu = process.cpuUsage(cpu0);
  const elapsed = (performance.now() - t0) / 1000;
  await once(peer, 'exit');
  await worker.request({ kind: 'unlink' });
  for (const f of [fd, pfd, tun, peerEnd]) lib().close(f);
  return { pps: (p1 - p0) / elapsed, cpu: (cpu.user + cpu.system) / 1e6 / elapsed };
}

const worker = await DataPlaneWorker.start({ slots: 64, slotSize: 2048 });
console.log(`data-plane pipeline, ${PIPELINE_CIPHER}, ${PIPELINE_PACKET}-byte IP packets, ~${seconds} s each, Node ${process.version}`);
console.log(`${'direction'.padEnd(28)}${'kpps'.padStart(8)}${'Gbit/s'.padStart(8)}${'CPU (cores)'.padStart(13)}${'kpps/core'.padStart(11)}${'Gbit/s/core'.padStart(13)}`);
for (const mode of ['seal', 'open'] as const) {
  const r = await run(mode, worker);
  const gbit = (r.pps * PIPELINE_PACKET * 8) / 1e9;
  const name = mode === 'seal' ? 'TUN → seal → UDP' : 'UDP → open → TUN';
  const cores = Math.max(r.cpu, 1e-6);
  console.log(`${name.padEnd(28)}${(r.pps / 1000).toFixed(0).padStart(8)}${gbit.toFixed(2).padStart(8)}${r.cpu.toFixed(2).padStart(13)}${(r.pps / 1000 / cores).toFixed(0).padStart(11)}${(gbit / cores).toFixed(2).padStart(13)}`);
}
await worker.stop();
