/**
 * The bench's side-by-side table: per case and direction, throughput, client CPU seconds,
 * Mbit per CPU-second and the ratios ovpn-ts / stock, with the targets of issue 8 beside them
 * (met / missed; the bench never fails on them). Pure text.
 */
import type { BenchCase, CaseResult, ClientResult, Direction } from './throughput.ts';
import { DIRECTIONS } from './throughput.ts';

/** ovpn-ts CPU per bit ≤ 0.5x the stock client's. */
export const CPU_PER_BIT_TARGET = 0.5;
/** Peak RSS of ovpn-ts under load ≤ 80 MB. */
export const RSS_TARGET_MB = 80;

const mark = (ok: boolean): string => (ok ? 'met' : 'MISSED');
const f = (v: number, digits = 0, width = 8): string => (Number.isFinite(v) ? v.toFixed(digits) : '-').padStart(width);

/** Mbit moved per client CPU-second. */
const mbitPerCpuS = (r: ClientResult, d: Direction): number => (r.streams[d].mbps * r.streams[d].seconds) / r.streams[d].cpuS;

export function formatThroughput(rows: readonly { c: BenchCase; r: CaseResult }[], seconds: number): string[] {
  const out = [
    `iperf3 TCP ${seconds} s per direction through the tunnel (up = client -> server), client CPU = utime+stime of all its threads`,
    `${'case'.padEnd(24)}${'dir'.padEnd(5)}${'stock Mb/s'.padStart(11)}${'ours Mb/s'.padStart(10)}${'stock CPU s'.padStart(12)}${'ours CPU s'.padStart(11)}` +
      `${'stock Mb/CPUs'.padStart(14)}${'ours Mb/CPUs'.padStart(13)}${'thru ratio'.padStart(11)}  target   ${'CPU/bit ratio'.padStart(13)}  target`,
  ];
  for (const { c, r } of rows) {
    for (const d of DIRECTIONS) {
      const s = r.stock.streams[d];
      const o = r['ovpn-ts'].streams[d];
      const thru = o.mbps / s.mbps;
      const cpuPerBit = mbitPerCpuS(r.stock, d) / mbitPerCpuS(r['ovpn-ts'], d);
      out.push(
        `${c.name.padEnd(24)}${d.padEnd(5)}${f(s.mbps, 0, 11)}${f(o.mbps, 0, 10)}${f(s.cpuS, 2, 12)}${f(o.cpuS, 2, 11)}${f(mbitPerCpuS(r.stock, d), 0, 14)}${f(mbitPerCpuS(r['ovpn-ts'], d), 0, 13)}` +
          `${f(thru, 2, 10)}x  >=${c.throughputTarget.toFixed(1)} ${mark(thru >= c.throughputTarget).padEnd(6)}${f(cpuPerBit, 2, 12)}x  <=${CPU_PER_BIT_TARGET} ${mark(cpuPerBit <= CPU_PER_BIT_TARGET)}`,
      );
    }
  }
  const ciphers = rows.map(({ c, r }) => `${c.name}: stock ${r.stock.cipher}, ovpn-ts ${r['ovpn-ts'].cipher}`);
  return [...out, `(negotiated: ${ciphers.join('; ')})`];
}

export function formatRss(rows: readonly { c: BenchCase; r: CaseResult }[]): string[] {
  const out = [`peak RSS (VmHWM) of each client after both streams, MB; target ovpn-ts <= ${RSS_TARGET_MB} MB`, `${'case'.padEnd(24)}${'stock'.padStart(8)}${'ovpn-ts'.padStart(9)}`];
  for (const { c, r } of rows) {
    const ours = r['ovpn-ts'].peakRssMb;
    out.push(`${c.name.padEnd(24)}${f(r.stock.peakRssMb, 1)}${f(ours, 1, 9)}   ${mark(ours <= RSS_TARGET_MB)}`);
  }
  return out;
}

export function formatRtt(c: BenchCase, r: CaseResult, count: number, interval: number): string[] {
  const out = [
    `RTT, ${c.name}: ${count} pings ${interval} s apart, average ms; added = through the tunnel minus the bare veth path; target: ovpn-ts added <= stock added`,
    `${'client'.padEnd(10)}${'veth'.padStart(8)}${'tun idle'.padStart(10)}${'added'.padStart(8)}${'tun load'.padStart(10)}${'added'.padStart(8)}`,
  ];
  const added = (x: ClientResult): [number, number] => [(x.rtt?.tunIdle ?? NaN) - (x.rtt?.vethIdle ?? NaN), (x.rtt?.tunLoaded ?? NaN) - (x.rtt?.vethIdle ?? NaN)];
  for (const kind of ['stock', 'ovpn-ts'] as const) {
    const x = r[kind];
    const [idle, load] = added(x);
    out.push(`${kind.padEnd(10)}${f(x.rtt?.vethIdle ?? NaN, 3)}${f(x.rtt?.tunIdle ?? NaN, 3, 10)}${f(idle, 3)}${f(x.rtt?.tunLoaded ?? NaN, 3, 10)}${f(load, 3)}`);
  }
  const [si, sl] = added(r.stock);
  const [oi, ol] = added(r['ovpn-ts']);
  out.push(`added RTT ovpn-ts vs stock: idle ${mark(oi <= si)}, under load ${mark(ol <= sl)}`);
  return out;
}
