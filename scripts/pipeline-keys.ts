/** Keys and the packet the pipeline benchmark (bench-pipeline.ts, pipeline-peer.ts) uses on both ends. */
import { createDataCrypto } from '../src/dataplane/create-data-crypto.ts';
import { DataChannel } from '../src/dataplane/data-channel.ts';
import { splitKey2 } from '../src/dataplane/data-crypto.ts';
import type { ChannelOptions } from '../src/dataplane/worker-shared.ts';

export const PIPELINE_PACKET = 1400;
export const PIPELINE_CIPHER = process.env['PIPELINE_CIPHER'] ?? 'AES-256-GCM';
export const PIPELINE_AUTH = PIPELINE_CIPHER.endsWith('-CBC') ? 'SHA256' : undefined;
export const PIPELINE_CHANNEL: ChannelOptions = { compression: 'none', replayWindow: 64, replaySeconds: 15, fragment: undefined };
const KEY2 = new Uint8Array(256).map((_, i) => (i * 29 + 3) & 0xff);

export function pipelineKeys(role: 'client' | 'server'): ReturnType<typeof splitKey2> {
  return splitKey2(KEY2.slice(), role);
}

export function pipelineChannel(role: 'client' | 'server'): DataChannel {
  const k = pipelineKeys(role);
  const ch = new DataChannel(PIPELINE_CHANNEL);
  ch.install(0, createDataCrypto(PIPELINE_CIPHER, PIPELINE_AUTH, k.send), createDataCrypto(PIPELINE_CIPHER, PIPELINE_AUTH, k.recv), 1);
  return ch;
}

/** An IPv4/UDP packet from 10.8.0.2 to 10.8.0.1 (the content does not matter to the tunnel). */
export function pipelinePacket(): Uint8Array {
  const p = new Uint8Array(PIPELINE_PACKET).fill(0x5a);
  p.set([0x45, 0, PIPELINE_PACKET >> 8, PIPELINE_PACKET & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 8, 0, 2, 10, 8, 0, 1]);
  return p;
}
