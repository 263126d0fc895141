/**
 * Data-channel crypto throughput, node:crypto vs OpenSSL EVP through koffi, side by side.
 * Seals (then opens) 1400-byte packets for a fixed time per cipher on one core and prints
 * packets per second. No pass/fail: compare with shared/ARCHITECTURE.md (node:crypto GCM seal
 * ~208k pps, koffi EVP 775k-1056k pps) and with `openssl speed -evp aes-256-gcm`.
 *
 *   node dist/scripts/bench-crypto.js [seconds-per-case=1] [packet-bytes=1400]
 */
import { createDataCrypto } from '../src/dataplane/create-data-crypto.ts';
import type { CryptoBackend } from '../src/dataplane/create-data-crypto.ts';
import type { DataCrypto } from '../src/dataplane/data-crypto.ts';

const seconds = Math.min(Math.max(Number(process.argv[2] ?? 1) || 1, 0.1), 10);
const size = Math.min(Math.max(Number(process.argv[3] ?? 1400) || 1400, 1), 9000);
const CASES: readonly [string, string | undefined][] = [
  ['AES-256-GCM', undefined],
  ['AES-128-GCM', undefined],
  ['CHACHA20-POLY1305', undefined],
  ['AES-256-CBC', 'SHA256'],
];
const BACKENDS: readonly CryptoBackend[] = ['node', 'evp'];
const header = Uint8Array.of((9 << 3) | 0, 0, 0, 1);

function key(): { cipher: Uint8Array; hmac: Uint8Array } {
  const k = new Uint8Array(64).map((_, i) => i * 7);
  return { cipher: k, hmac: k.slice().reverse() };
}

/** Runs fn in batches until the time is up; returns calls per second. */
function rate(fn: (i: number) => void): number {
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < deadline) {
    for (let j = 0; j < 256; j++) fn(++n);
  }
  return n / ((performance.now() - start) / 1000);
}

function bench(tx: DataCrypto, rx: DataCrypto): { seal: number; open: number } {
  const src = new Uint8Array(size).fill(0x45);
  const wire = new Uint8Array(size + 256);
  const out = new Uint8Array(size + 256);
  wire.set(header, 0);
  const seal = rate((i) => {
    tx.seal(header, i, src, size, wire, 4);
  });
  const len = 4 + tx.seal(header, 1, src, size, wire, 4);
  const open = rate(() => {
    if (rx.open(wire, len, 4, out) !== size) throw new Error('open failed in benchmark');
  });
  return { seal, open };
}

const k = (n: number): string => `${(n / 1000).toFixed(0)}k`.padStart(7);
console.log(`data-channel crypto, ${size}-byte packets, ${seconds}s per case, one core, Node ${process.version}`);
console.log(`${'cipher'.padEnd(22)}${'node seal'.padStart(11)}${'node open'.padStart(11)}${'evp seal'.padStart(11)}${'evp open'.padStart(11)}   evp/node seal`);
for (const [cipher, auth] of CASES) {
  const r: Record<string, { seal: number; open: number }> = {};
  for (const backend of BACKENDS) {
    const tx = createDataCrypto(cipher, auth, key(), { backend });
    const rx = createDataCrypto(cipher, auth, key(), { backend });
    r[backend] = bench(tx, rx);
    tx.dispose();
    rx.dispose();
  }
  const n = r['node'] ?? { seal: 0, open: 0 };
  const e = r['evp'] ?? { seal: 0, open: 0 };
  const name = `${cipher}${auth ? `/${auth}` : ''}`.padEnd(22);
  console.log(`${name}${k(n.seal)} pps${k(n.open)} pps${k(e.seal)} pps${k(e.open)} pps   x${(e.seal / n.seal).toFixed(1)}`);
}
