/**
 * `--soak SECONDS`: traffic through ovpn-ts (UDP AES-256-GCM, or `--soak-profile tcp`) for that long, in back-to-back
 * iperf3 runs of up to SOAK_CHUNK_S, its RSS sampled every SAMPLE_S. Prints the RSS after a
 * warm-up (the first WARMUP_FRACTION of the run, at least one chunk) and at the end, and the
 * growth between them (the issue asks for none over 10 minutes). Bounded by SECONDS.
 */
import { iperf3, startClient, startServer, type NetnsPair } from '../../test/lab/index.ts';
import { rssMb } from './proc-stats.ts';

const SOAK_CHUNK_S = 10;
const SAMPLE_S = 5;
const WARMUP_FRACTION = 0.2;

export async function soak(lab: NetnsPair, seconds: number, profile: 'udp-gcm-tlscrypt' | 'tcp' = 'udp-gcm-tlscrypt'): Promise<string[]> {
  const server = await startServer(lab, profile);
  try {
    const client = await startClient(lab, 'ovpn-ts', server.clientConfig({ inline: true }));
    try {
      const samples: { t: number; mb: number }[] = [];
      const started = Date.now();
      const sample = (): void => {
        samples.push({ t: (Date.now() - started) / 1000, mb: rssMb(client.pid) });
      };
      sample();
      const timer = setInterval(sample, SAMPLE_S * 1000);
      let moved = 0;
      try {
        for (let left = seconds; left > 0; left -= SOAK_CHUNK_S) {
          const r = await iperf3(lab, server.tunAddr4, { seconds: Math.min(SOAK_CHUNK_S, left), reverse: left % (2 * SOAK_CHUNK_S) < SOAK_CHUNK_S });
          moved += (r.mbps * Math.min(SOAK_CHUNK_S, left)) / 8 / 1024;
        }
      } finally {
        clearInterval(timer);
      }
      sample();
      const warm = Math.max(seconds * WARMUP_FRACTION, Math.min(SOAK_CHUNK_S, seconds));
      const afterWarm = samples.find((s) => s.t >= warm) ?? samples[0];
      const last = samples[samples.length - 1];
      const growth = (last?.mb ?? NaN) - (afterWarm?.mb ?? NaN);
      return [
        `soak: ovpn-ts, ${profile === 'tcp' ? 'TCP' : 'UDP'} AES-256-GCM, ${seconds} s of iperf3 both ways (${moved.toFixed(1)} GB), RSS every ${SAMPLE_S} s`,
        `RSS MB: ${samples.map((s) => s.mb.toFixed(1)).join(' ')}`,
        `after warm-up (${afterWarm?.t.toFixed(0) ?? '?'} s): ${afterWarm?.mb.toFixed(1) ?? '?'} MB, at the end (${last?.t.toFixed(0) ?? '?'} s): ${last?.mb.toFixed(1) ?? '?'} MB, growth ${growth.toFixed(1)} MB`,
      ];
    } finally {
      await client.stop();
    }
  } finally {
    await server.stop();
  }
}
