/**
 * What the attempt builds from the negotiated data channel and the server's certificate policy:
 * the DataChannel with its keys installed (key material zeroed once the crypto objects hold
 * copies), the `fragment` frame, and the certificate checks the options ask for.
 */
import type { ClientOptions, ConnectionEntry } from '../config/index.ts';
import type { DataParams } from '../core/negotiate.ts';
import { createDataCrypto } from '../dataplane/create-data-crypto.ts';
import { DataChannel } from '../dataplane/data-channel.ts';
import { splitKey2, wipeDataKeys } from '../dataplane/data-crypto.ts';
import { maxFragmentSizeFor } from '../dataplane/fragment.ts';
import type { ChannelOptions } from '../dataplane/worker-shared.ts';
import type { Logger } from '../log/logger.ts';
import { remoteCertTlsPolicy, type PeerCertPolicy } from '../tls/verify.ts';

/** remote-cert-tls, remote-cert-ku/-eku, verify-x509-name, ns-cert-type as one policy. */
export function certPolicy(o: ClientOptions): PeerCertPolicy {
  const tls = o.remoteCertTls === undefined ? {} : remoteCertTlsPolicy(o.remoteCertTls);
  return {
    ...tls,
    ...(o.remoteCertKu === undefined ? {} : { remoteCertKu: o.remoteCertKu }),
    ...(o.remoteCertEku === undefined ? {} : { remoteCertEku: o.remoteCertEku }),
    verifyX509Name: o.verifyX509Name,
    nsCertType: o.nsCertType,
  };
}

export interface DataSetup {
  readonly options: ClientOptions;
  readonly connection: ConnectionEntry;
  readonly family: 4 | 6;
  /** One random byte for fragment's first sequence id. */
  readonly randomByte: () => number;
  readonly log: Logger;
}

/** Installs key2's keys as key id `keyId` into `data` (made on first use); key2 is zeroed. */
export function installKeys(data: DataChannel | undefined, s: DataSetup, keyId: number, key2: Uint8Array, p: DataParams): DataChannel {
  const keys = splitKey2(key2, 'client');
  key2.fill(0);
  const channel = data ?? new DataChannel(channelOptions(s, p));
  try {
    channel.install(keyId, createDataCrypto(p.cipher, p.auth, keys.send), createDataCrypto(p.cipher, p.auth, keys.recv), p.peerId);
  } finally {
    wipeDataKeys(keys); // the crypto objects keep their own copies, zeroed when they are disposed
  }
  return channel;
}

/** The DataChannel's options for a connection (once per channel: it draws fragment's first sequence id). */
export function channelOptions(s: DataSetup, p: DataParams): ChannelOptions {
  const o = s.options;
  return { compression: p.compression, replayWindow: o.replayWindow.size, replaySeconds: o.replayWindow.seconds, fragment: fragmentFrame(s, p) };
}

/** `fragment N`: the largest piece for the negotiated cipher, and a random first sequence id (fragment.c). */
function fragmentFrame(s: DataSetup, p: DataParams): { maxFragmentSize: number; initialSeqId: number } | undefined {
  const ce = s.connection;
  if (ce.fragment === undefined) return undefined;
  const frame = { fragment: ce.fragment, encap: ce.fragmentEncap, family: s.family, cipher: p.cipher, auth: p.auth, peerId: p.peerId !== undefined, socksUdp: ce.socksProxy !== undefined && ce.proto === 'udp' };
  const maxFragmentSize = maxFragmentSizeFor(frame);
  s.log.verb(3, `fragment ${ce.fragment}${ce.fragmentEncap ? ' mtu' : ''}: data packets above ${maxFragmentSize} bytes of plaintext are sent in pieces`);
  return { maxFragmentSize, initialSeqId: s.randomByte() };
}
