/**
 * Leak probes for the kill switch tests: a UDP + TCP listener in the server namespace on a port
 * that is not the VPN's, and one-shot UDP / TCP probes from the client namespace, each tagged so
 * the listener's log says exactly which probe arrived. Bounded: every probe has a timeout.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Netns } from '../../lab/netns.ts';
import { waitForLog, type LabProcess } from '../../lab/proc.ts';

export const PROBE_PORT = 7777;

const LISTENER = `
const dgram = require('node:dgram'); const net = require('node:net');
const port = Number(process.argv[1]);
const u = dgram.createSocket({ type: 'udp6', ipv6Only: false });
u.on('message', (m) => console.log('udp ' + m.toString()));
u.bind(port, '::');
const t = net.createServer((s) => { s.on('data', (d) => console.log('tcp ' + d.toString())); s.on('error', () => {}); });
t.listen(port, '::', () => console.log('listening'));
setTimeout(() => process.exit(0), 600000).unref();
`;

const UDP_PROBE = `
const dgram = require('node:dgram'); const net = require('node:net');
const [addr, port, tag] = process.argv.slice(1);
const s = dgram.createSocket(net.isIPv6(addr) ? 'udp6' : 'udp4');
s.send(tag, Number(port), addr, (e) => { console.log(e ? 'error ' + e.code : 'sent'); s.close(); });
`;

const TCP_PROBE = `
const net = require('node:net');
const [addr, port, tag] = process.argv.slice(1);
const s = net.connect({ host: addr, port: Number(port), timeout: 2000 });
s.on('connect', () => { console.log('connected'); s.end(tag); });
s.on('timeout', () => { console.log('timeout'); s.destroy(); });
s.on('error', (e) => console.log('error ' + e.code));
`;

export interface Listener {
  readonly proc: LabProcess;
  /** Has a probe with this tag arrived (over udp or tcp)? */
  got(kind: 'udp' | 'tcp', tag: string): boolean;
}

export async function startListener(ns: Netns, port = PROBE_PORT): Promise<Listener> {
  const proc = ns.spawn(process.execPath, ['-e', LISTENER, String(port)], { name: `probe-listener-${port}` });
  await waitForLog(proc, /listening/, { timeoutMs: 10_000 });
  return {
    proc,
    got: (kind, tag) => (existsSync(proc.logFile) ? readFileSync(proc.logFile, 'utf8') : '').split('\n').includes(`${kind} ${tag}`),
  };
}

export async function udpProbe(ns: Netns, addr: string, port: number, tag: string): Promise<string> {
  return (await ns.exec(process.execPath, ['-e', UDP_PROBE, addr, String(port), tag], { allowFail: true, timeoutMs: 10_000 })).stdout.trim();
}

/** 'connected', 'timeout' or 'error <code>'. */
export async function tcpProbe(ns: Netns, addr: string, port: number, tag: string): Promise<string> {
  return (await ns.exec(process.execPath, ['-e', TCP_PROBE, addr, String(port), tag], { allowFail: true, timeoutMs: 10_000 })).stdout.trim();
}

/** Polls `cond` every 100 ms until true or `ms` pass (then false). */
export async function eventually(cond: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}
